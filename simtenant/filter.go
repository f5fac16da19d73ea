package simtenant

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// maxInValues bounds the values of one `in` list. Directory queries reject
// more than 15 OR-ed child clauses; that the limit also holds for
// roleManagement is *unconfirmed*, but modelling it keeps a client from
// relying on longer lists that real Graph may refuse.
const maxInValues = 15

// clause is one `prop eq 'v'`, `prop ne 'v'`, `prop in ('v1', ...)` or
// `endswith(prop, 'v')` term. eq and in hold when the property equals any
// of values; ne holds when it equals none of them; endswith when it ends
// with the value (without case).
type clause struct {
	prop   string
	op     string // "eq", "ne", "in" or "endswith"
	values []string
}

// filter is a parsed $filter: every clause must hold.
type filter []clause

// filterSyntax is what one collection's $filter accepts: Graph's
// collections differ (roleAssignments take eq and in, PIM schedules eq and
// ne), so each endpoint says which operators and properties it allows
// rather than sharing one permissive grammar.
type filterSyntax struct {
	ops   []string // of "eq", "ne", "in", "endswith" (the function)
	props []string // properties compared with string literals
	bools []string // properties compared with true or false
}

// filterError is a $filter Graph would refuse.
type filterError struct {
	pos int
	msg string
}

func (e *filterError) Error() string { return fmt.Sprintf("%s at position %d", e.msg, e.pos) }

type tokenKind int

const (
	tokEnd tokenKind = iota
	tokWord
	tokString
	tokOpen
	tokClose
	tokComma
)

type token struct {
	kind tokenKind
	text string // a word, or a string literal's value with '' undone
	pos  int
}

// lex splits a $filter into words, string literals and punctuation. String
// literals are single-quoted, a doubled quote standing for one, so a quote
// inside a value can never end the literal early and smuggle in operators.
func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t':
			i++
		case ch == '(':
			toks = append(toks, token{tokOpen, "(", i})
			i++
		case ch == ')':
			toks = append(toks, token{tokClose, ")", i})
			i++
		case ch == ',':
			toks = append(toks, token{tokComma, ",", i})
			i++
		case ch == '\'':
			start := i
			var b strings.Builder
			for i++; ; i++ {
				if i >= len(s) {
					return nil, &filterError{start, "unterminated string literal"}
				}
				if s[i] != '\'' {
					b.WriteByte(s[i])
					continue
				}
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				i++
				break
			}
			toks = append(toks, token{tokString, b.String(), start})
		case isWordByte(ch):
			start := i
			for i < len(s) && isWordByte(s[i]) {
				i++
			}
			toks = append(toks, token{tokWord, s[start:i], start})
		default:
			return nil, &filterError{i, fmt.Sprintf("unexpected character %q", ch)}
		}
	}
	return append(toks, token{tokEnd, "", len(s)}), nil
}

func isWordByte(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_'
}

// parseFilter parses clause { "and" clause } where clause is
// prop op literal | prop "in" "(" literal { "," literal } ")", op is "eq"
// or "ne", and a literal is a quoted string or, for boolean properties,
// true or false. Property names, operators and boolean literals are
// case-sensitive, as in OData; syn says which operators and properties the
// collection allows.
func parseFilter(s string, syn filterSyntax) (filter, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := parser{toks: toks}
	var f filter
	for {
		c, err := p.clause(syn)
		if err != nil {
			return nil, err
		}
		f = append(f, c)
		next := p.next()
		if next.kind == tokEnd {
			return f, nil
		}
		if next.kind != tokWord || next.text != "and" {
			return nil, &filterError{next.pos, fmt.Sprintf("expected 'and' or end of filter, found %q", next.text)}
		}
	}
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEnd {
		p.i++
	}
	return t
}

func (p *parser) expect(kind tokenKind, what string) (token, error) {
	t := p.next()
	if t.kind != kind {
		return t, &filterError{t.pos, fmt.Sprintf("expected %s, found %q", what, t.text)}
	}
	return t, nil
}

func (p *parser) clause(syn filterSyntax) (clause, error) {
	prop, err := p.expect(tokWord, "a property name")
	if err != nil {
		return clause{}, err
	}
	if strings.EqualFold(prop.text, "endswith") && p.toks[p.i].kind == tokOpen {
		return p.endsWith(syn, prop)
	}
	isBool := slices.Contains(syn.bools, prop.text)
	if !isBool && !slices.Contains(syn.props, prop.text) {
		return clause{}, &filterError{prop.pos, fmt.Sprintf("property %q cannot be filtered on", prop.text)}
	}
	op, err := p.expect(tokWord, "an operator")
	if err != nil {
		return clause{}, err
	}
	if !slices.Contains(syn.ops, op.text) || op.text == "in" && isBool {
		return clause{}, &filterError{op.pos, fmt.Sprintf("unsupported operator %q", op.text)}
	}
	c := clause{prop: prop.text, op: op.text}
	if op.text != "in" {
		v, err := p.literal(isBool)
		if err != nil {
			return clause{}, err
		}
		c.values = []string{v}
		return c, nil
	}
	if _, err := p.expect(tokOpen, "'('"); err != nil {
		return clause{}, err
	}
	for {
		v, err := p.literal(false)
		if err != nil {
			return clause{}, err
		}
		c.values = append(c.values, v)
		sep := p.next()
		if sep.kind == tokClose {
			break
		}
		if sep.kind != tokComma {
			return clause{}, &filterError{sep.pos, fmt.Sprintf("expected ',' or ')', found %q", sep.text)}
		}
	}
	if len(c.values) > maxInValues {
		return clause{}, &tooManyValuesError{len(c.values)}
	}
	return c, nil
}

// endsWith reads the rest of `endswith(prop, 'literal')` (OData's
// function; Graph's documents write it endsWith too), whose name fn was
// read.
func (p *parser) endsWith(syn filterSyntax, fn token) (clause, error) {
	if !slices.Contains(syn.ops, "endswith") {
		return clause{}, &filterError{fn.pos, "unsupported function " + strconv.Quote(fn.text)}
	}
	_, _ = p.expect(tokOpen, "'('")
	prop, err := p.expect(tokWord, "a property name")
	if err != nil {
		return clause{}, err
	}
	if !slices.Contains(syn.props, prop.text) {
		return clause{}, &filterError{prop.pos, fmt.Sprintf("property %q cannot be filtered on", prop.text)}
	}
	if _, err := p.expect(tokComma, "','"); err != nil {
		return clause{}, err
	}
	v, err := p.literal(false)
	if err != nil {
		return clause{}, err
	}
	if _, err := p.expect(tokClose, "')'"); err != nil {
		return clause{}, err
	}
	return clause{prop: prop.text, op: "endswith", values: []string{v}}, nil
}

// literal reads a string literal, or for a boolean property true or false.
func (p *parser) literal(isBool bool) (string, error) {
	if !isBool {
		v, err := p.expect(tokString, "a string literal")
		return v.text, err
	}
	v := p.next()
	if v.kind != tokWord || v.text != "true" && v.text != "false" {
		return "", &filterError{v.pos, fmt.Sprintf("expected true or false, found %q", v.text)}
	}
	return v.text, nil
}

// tooManyValuesError is an `in` list longer than Graph accepts.
type tooManyValuesError struct{ n int }

func (e *tooManyValuesError) Error() string {
	return fmt.Sprintf("Too many child clauses specified in search filter expression containing 'OR' operators: %d. Max allowed: %d.", e.n, maxInValues)
}

// matches reports whether every clause holds for the object whose property
// values get returns. Values compare case-insensitively: they are GUIDs and
// scope paths, which Graph does not compare by case (*unconfirmed* for
// scopes). An empty value is JSON null: it equals no literal, so `ne` holds
// for it, as OData's null ne 'x' does.
func (f filter) matches(get func(prop string) string) bool {
	for _, c := range f {
		v := get(c.prop)
		if c.op == "endswith" {
			if v == "" || !strings.HasSuffix(strings.ToLower(v), strings.ToLower(c.values[0])) {
				return false
			}
			continue
		}
		equal := false
		for _, want := range c.values {
			if v != "" && strings.EqualFold(v, want) {
				equal = true
				break
			}
		}
		if equal == (c.op == "ne") {
			return false
		}
	}
	return true
}

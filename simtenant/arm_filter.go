package simtenant

import (
	"errors"
	"fmt"
	"strings"
)

// armFilter is a parsed ARM $filter for role assignments and eligibility
// schedules. ARM's grammar is a short list of fixed forms rather than
// OData: terms joined by "and", each one of
//
//	atScope()                at and above the scope only
//	principalId eq '{guid}'  held by that principal directly
//	assignedTo('{guid}')     held by the principal or a group it is in
//	asTarget()               (eligibility only) accepted and ignored: the
//	                         caller is an app, not the target
//
// Keywords are case-insensitive; a term may appear once; principalId and
// assignedTo exclude each other. Values are lexed like Graph's (a doubled
// quote stands for one) so a crafted value cannot end its literal early.
type armFilter struct {
	principalID string
	assignedTo  string
	named       bool // principalId or assignedTo was given, maybe with ''
	atScope     bool
	asTarget    bool
}

// errARMFilter is a $filter ARM refuses (400 InvalidFilterParameter).
var errARMFilter = errors.New("unsupported filter")

// parseARMFilter reads a $filter; eligibility allows asTarget().
func parseARMFilter(raw string, eligibility bool) (armFilter, error) {
	var f armFilter
	if strings.TrimSpace(raw) == "" {
		return f, nil
	}
	toks, err := lex(raw)
	if err != nil {
		return f, fmt.Errorf("%w: %v", errARMFilter, err)
	}
	p := parser{toks: toks}
	seen := map[string]bool{}
	for {
		word, err := p.expect(tokWord, "a filter term")
		if err != nil {
			return f, fmt.Errorf("%w: %v", errARMFilter, err)
		}
		term := strings.ToLower(word.text)
		if seen[term] {
			return f, fmt.Errorf("%w: %s given twice", errARMFilter, word.text)
		}
		seen[term] = true
		switch {
		case term == "atscope" || term == "astarget" && eligibility:
			err = p.expectAll(tokOpen, tokClose)
			f.atScope = f.atScope || term == "atscope"
			f.asTarget = f.asTarget || term == "astarget"
		case term == "assignedto":
			f.assignedTo, err = p.armCall()
			f.named = true
		case term == "principalid":
			f.principalID, err = p.armEq()
			f.named = true
		default:
			err = &filterError{word.pos, fmt.Sprintf("unknown term %q", word.text)}
		}
		if err != nil {
			return f, fmt.Errorf("%w: %v", errARMFilter, err)
		}
		next := p.next()
		if next.kind == tokEnd {
			break
		}
		if next.kind != tokWord || !strings.EqualFold(next.text, "and") {
			return f, fmt.Errorf("%w: expected 'and' or the end at position %d", errARMFilter, next.pos)
		}
	}
	if seen["principalid"] && seen["assignedto"] {
		return f, fmt.Errorf("%w: principalId and assignedTo exclude each other", errARMFilter)
	}
	return f, nil
}

// expectAll reads tokens of the given kinds in order.
func (p *parser) expectAll(kinds ...tokenKind) error {
	for _, k := range kinds {
		if _, err := p.expect(k, map[tokenKind]string{tokOpen: "'('", tokClose: "')'"}[k]); err != nil {
			return err
		}
	}
	return nil
}

// armCall reads ('value').
func (p *parser) armCall() (string, error) {
	if _, err := p.expect(tokOpen, "'('"); err != nil {
		return "", err
	}
	v, err := p.expect(tokString, "a string literal")
	if err != nil {
		return "", err
	}
	if _, err := p.expect(tokClose, "')'"); err != nil {
		return "", err
	}
	return v.text, nil
}

// armEq reads eq 'value'.
func (p *parser) armEq() (string, error) {
	op, err := p.expect(tokWord, "'eq'")
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(op.text, "eq") {
		return "", &filterError{op.pos, fmt.Sprintf("unsupported operator %q", op.text)}
	}
	v, err := p.expect(tokString, "a string literal")
	return v.text, err
}

// principal is the id the filter names, if it names one.
func (f armFilter) principal() (string, bool) { return f.principalID + f.assignedTo, f.named }

package simtenant

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// selection is the set of properties a $select asks for, by canonical name;
// nil means the type's default set.
type selection map[string]bool

// parseSelect reads $select against the properties a type has. Graph
// matches the names case-insensitively and refuses unknown ones.
func parseSelect(raw string, known []string, typeName string) (selection, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	sel := selection{}
	for _, name := range strings.Split(raw, ",") {
		name = strings.TrimSpace(name)
		canonical, ok := lookupFold(known, name)
		if !ok {
			return nil, queryError("Parsing OData Select and Expand failed: Could not find a property named '" +
				name + "' on type '" + typeName + "'.")
		}
		sel[canonical] = true
	}
	return sel, nil
}

// has reports whether a property is part of the answer. id always is.
func (s selection) has(prop string) bool { return s == nil || prop == "id" || s[prop] }

// parseExpand reads $expand: a comma-separated list of navigation
// properties, each with optional nested options in parentheses.
func parseExpand(raw string, known []string, typeName string) (map[string]bool, error) {
	out := map[string]bool{}
	if strings.TrimSpace(raw) == "" {
		return out, nil
	}
	depth, start := 0, 0
	var items []string
	for i := 0; i <= len(raw); i++ {
		switch {
		case i == len(raw) || raw[i] == ',' && depth == 0:
			items = append(items, raw[start:i])
			start = i + 1
		case raw[i] == '(':
			depth++
		case raw[i] == ')':
			depth--
		}
	}
	for _, item := range items {
		name, _, _ := strings.Cut(strings.TrimSpace(item), "(")
		canonical, ok := lookupFold(known, strings.TrimSpace(name))
		if !ok {
			return nil, queryError("Parsing OData Select and Expand failed: Could not find a property named '" +
				strings.TrimSpace(name) + "' on type '" + typeName + "'.")
		}
		out[canonical] = true
	}
	return out, nil
}

func lookupFold(list []string, name string) (string, bool) {
	for _, v := range list {
		if strings.EqualFold(v, name) {
			return v, true
		}
	}
	return "", false
}

// queryError is a query option Graph refuses with 400 BadRequest.
type queryError string

func (e queryError) Error() string { return string(e) }

// pageSize reads $top (1..999, Graph's bounds), defaulting to the tenant's
// page size.
func (t *Tenant) pageSize(q url.Values) (int, error) {
	if !q.Has("$top") {
		return t.cfg.PageSize, nil
	}
	raw := q.Get("$top")
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > maxPageSize {
		return 0, queryError("Invalid page size specified: '" + raw + "'. Must be between 1 and 999 inclusive.")
	}
	return n, nil
}

// skipToken makes the opaque $skiptoken for the page after the object with
// id last. It carries last (paging by position would skip objects when
// earlier ones are deleted between pages) and a tag binding it to the
// tenant and to filter (the collection and the query's $filter, see
// listQuery.tokenKey), so a forged or transplanted token is refused rather
// than silently misread.
func (t *Tenant) skipToken(last, filter string) string {
	tag := hash64(t.cfg.Seed, "skiptoken", t.tenantID, filter, last)
	buf := binary.BigEndian.AppendUint64([]byte(last), tag)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// readSkipToken returns the id a $skiptoken continues after.
func (t *Tenant) readSkipToken(token, filter string) (string, bool) {
	buf, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(buf) <= 8 {
		return "", false
	}
	last := string(buf[:len(buf)-8])
	tag := binary.BigEndian.Uint64(buf[len(buf)-8:])
	if tag != hash64(t.cfg.Seed, "skiptoken", t.tenantID, filter, last) {
		return "", false
	}
	return last, true
}

// nextLink is the absolute URL of the next page: the request's own URL,
// query kept as sent, with its $skiptoken replaced. Clients must follow it
// exactly as given.
func nextLink(r *http.Request, token string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	var parts []string
	for _, part := range strings.Split(r.URL.RawQuery, "&") {
		if part == "" {
			continue
		}
		key, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); err == nil && k == "$skiptoken" {
			continue
		}
		parts = append(parts, part)
	}
	parts = append(parts, "$skiptoken="+url.QueryEscape(token))
	return scheme + "://" + r.Host + r.URL.EscapedPath() + "?" + strings.Join(parts, "&")
}

// graphContext is the @odata.context of an answer about what.
func graphContext(what string) string {
	return "https://graph.microsoft.com/v1.0/$metadata#" + what
}

// collectionSpec is what one collection's query options accept.
type collectionSpec struct {
	name     string // tells apart the $skiptoken of different collections
	typeName string // in $select and $expand errors
	props    []string
	expands  []string
	filter   filterSyntax
}

// listQuery is the parsed query of a request for a collection or one of
// its members.
type listQuery struct {
	filter     filter
	filterText string
	tokenKey   string // what a $skiptoken is bound to: the collection and the $filter
	size       int
	sel        selection
	expand     map[string]bool
	after      string // continue after this id ($skiptoken)
}

// parseListQuery reads the query options of a request for a collection
// (list) or one of its members; an error is a queryError (400 BadRequest)
// or a *tooManyValuesError (400 Request_UnsupportedQuery).
func (t *Tenant) parseListQuery(c *call, spec collectionSpec, list bool) (listQuery, error) {
	var lq listQuery
	q, err := url.ParseQuery(c.r.URL.RawQuery)
	if err != nil {
		return lq, queryError("Invalid query string.")
	}
	if lq.sel, err = parseSelect(q.Get("$select"), spec.props, spec.typeName); err != nil {
		return lq, err
	}
	if lq.expand, err = parseExpand(q.Get("$expand"), spec.expands, spec.typeName); err != nil {
		return lq, err
	}
	if !list {
		return lq, nil
	}
	if q.Has("$filter") {
		lq.filterText = q.Get("$filter")
		lq.filter, err = parseFilter(lq.filterText, spec.filter)
		var tooMany *tooManyValuesError
		if errors.As(err, &tooMany) {
			return lq, err
		}
		if err != nil {
			return lq, queryError("Invalid filter clause: " + err.Error() + ".")
		}
		t.checkFilterIDs(lq.filter)
	}
	lq.tokenKey = spec.name + "\x00" + lq.filterText
	if lq.size, err = t.pageSize(q); err != nil {
		return lq, err
	}
	if q.Has("$skiptoken") {
		var ok bool
		if lq.after, ok = t.readSkipToken(q.Get("$skiptoken"), lq.tokenKey); !ok {
			return lq, queryError("Invalid $skiptoken.")
		}
	}
	return lq, nil
}

// queryFailed answers a parseListQuery error as Graph does.
func (c *call) queryFailed(err error) {
	var tooMany *tooManyValuesError
	if errors.As(err, &tooMany) {
		c.error(http.StatusBadRequest, "Request_UnsupportedQuery", err.Error())
		return
	}
	c.badRequest(err.Error())
}

// checkFilterIDs records a violation for an id that is not a GUID: the
// contract says ids are checked before they go into a $filter.
func (t *Tenant) checkFilterIDs(f filter) {
	for _, c := range f {
		if c.prop != "principalId" && c.prop != "roleDefinitionId" {
			continue
		}
		for _, v := range c.values {
			if !isGUID(v) {
				t.violation("$filter on %s carries %q, which is not a GUID", c.prop, v)
			}
		}
	}
}

package simtenant

// Soft-deleted users (Graph's directory/deletedItems): a deleted user
// leaves /users, keeps its object id for 30 days, and its
// userPrincipalName is prefixed with that id without hyphens.

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// deletedUser is a user in deletedItems.
type deletedUser struct {
	User
	DeletedAt time.Time
}

// deletedUserFilter is what deletedItems/microsoft.graph.user's $filter
// accepts here: eq and in on the three HR keys, as /users does, and
// endswith, an advanced query (ConsistencyLevel: eventual and
// $count=true, else 400 Request_UnsupportedQuery), the way to find a
// deleted user by its UPN once the id prefixes it.
func deletedUserFilter() filterSyntax {
	return filterSyntax{ops: []string{"eq", "in", "endswith"}, props: []string{"userPrincipalName", "mail", "employeeId"}}
}

func (t *Tenant) addDeletedItemRoutes() {
	t.handle(http.MethodGet, "/v1.0/directory/deletedItems/{cast}", t.listDeletedUsers)
	t.handle(http.MethodGet, "/v1.0/directory/deletedItems", func(c *call) {
		// Graph: "calling GET /directory/deleteditems without a type is
		// not supported" (the answer's code is *unconfirmed*).
		c.badRequest("The OData cast type is required: /directory/deletedItems/microsoft.graph.user.")
	})
}

// DeleteUser soft-deletes a user, as deleting it in Entra does: it leaves
// /users (and lookups by UPN, mail and employee id) for
// directory/deletedItems, under its object id, its UPN prefixed with that
// id without hyphens; false when there is no such user. What it held is
// left as it was: Azure role assignments stay in ARM after a deletion;
// whether Graph still lists a deleted user's directory roles and
// memberships is *unconfirmed*, and not modelled.
func (t *Tenant) DeleteUser(id string) (User, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := strings.ToLower(id)
	u, ok := t.users[key]
	if !ok {
		return User{}, false
	}
	delete(t.users, key)
	delete(t.upns, strings.ToLower(u.UserPrincipalName))
	u.UserPrincipalName = strings.ReplaceAll(key, "-", "") + u.UserPrincipalName
	if t.deleted == nil {
		t.deleted = map[string]deletedUser{}
	}
	t.deleted[key] = deletedUser{User: u, DeletedAt: time.Now().UTC().Truncate(time.Second)}
	return u, true
}

// DeletedUsers returns the soft-deleted users, sorted by id.
func (t *Tenant) DeletedUsers() []User {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]User, 0, len(t.deleted))
	for _, d := range t.deleted {
		out = append(out, d.User)
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// listDeletedUsers serves GET /directory/deletedItems/microsoft.graph.user
// (the SDK's cast is graph.user; Graph takes both): filtered, sorted by
// id, paged with an absolute @odata.nextLink; @odata.count with the
// advanced query parameters.
func (t *Tenant) listDeletedUsers(c *call) {
	if cast := strings.ToLower(c.param("cast")); cast != "microsoft.graph.user" && cast != "graph.user" {
		c.badRequest("Only microsoft.graph.user is served from deletedItems here.")
		return
	}
	spec := collectionSpec{name: "deletedItems/user", typeName: userType, props: append(userProps(), "deletedDateTime"), filter: deletedUserFilter()}
	lq, err := t.parseListQuery(c, spec, true)
	if err != nil {
		c.queryFailed(err)
		return
	}
	q, _ := url.ParseQuery(c.r.URL.RawQuery)
	advanced := strings.EqualFold(strings.TrimSpace(c.r.Header.Get("ConsistencyLevel")), "eventual") && strings.EqualFold(q.Get("$count"), "true")
	if !advanced && slices.ContainsFunc(lq.filter, func(cl clause) bool { return cl.op == "endswith" }) {
		c.error(http.StatusBadRequest, "Request_UnsupportedQuery",
			"Operator 'endsWith' is not supported because the 'ConsistencyLevel:eventual' header is missing. "+
				"Refer to https://aka.ms/graph-docs/advanced-queries for more information")
		return
	}
	t.mu.Lock()
	var ids []string
	for id, d := range t.deleted {
		if lq.filter.matches(d.prop) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	matched := len(ids)
	ids, more := pageAfter(ids, lq.after, lq.size)
	body := objectListBody{Context: graphContext("directory/deletedItems/microsoft.graph.user"), Value: []map[string]any{}}
	for _, id := range ids {
		d := t.deleted[id]
		v := userJSON(d.User, lq.sel)
		if lq.sel == nil || lq.sel.has("deletedDateTime") {
			v["deletedDateTime"] = d.DeletedAt.Format(time.RFC3339)
		}
		body.Value = append(body.Value, v)
	}
	t.mu.Unlock()
	if advanced {
		body.Count = &matched
	}
	if more {
		body.NextLink = nextLink(c.r, t.skipToken(ids[len(ids)-1], lq.tokenKey))
	}
	c.ok(body)
}

package simtenant

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

const directoryRoleType = "microsoft.graph.directoryRole"

// Answers of the membership endpoints.
const (
	// messageUnsupportedFilter is Graph's answer to $filter on memberOf or
	// members without the advanced-query header and $count=true.
	messageUnsupportedFilter = "The specified filter to the reference property query is currently not supported."
	messageAlreadyMember     = "One or more added object references already exist for the following modified properties: 'members'."
	messageNesting           = "Nesting is currently not supported for groups that can be assigned to a role."
)

// addGraphGroupRoutes registers groups, their members and every kind of
// object's memberOf.
func (t *Tenant) addGraphGroupRoutes() {
	t.handle(http.MethodGet, "/v1.0/groups/{id}", t.getGroup)
	t.handle(http.MethodGet, "/v1.0/groups/{id}/members",
		t.listGroupObjects("members", &t.members, slices.Concat(userProps(), servicePrincipalProps(), groupProps())))
	t.handle(http.MethodPost, "/v1.0/groups/{id}/members/$ref", t.addMemberRef)
	t.handle(http.MethodDelete, "/v1.0/groups/{id}/members/{member}/$ref", t.removeMemberRef)
	t.handle(http.MethodDelete, "/v1.0/groups/{id}/members/{member}", t.deleteMemberObject)
	// Graph has no memberOf on the base type: /directoryObjects/{id}/memberOf
	// is answered 400 (memberOfSegment).
	t.handle(http.MethodGet, "/v1.0/directoryObjects/{id}/memberOf", t.memberOfSegment)
	t.handle(http.MethodGet, "/v1.0/directoryObjects/{id}/memberOf/{cast}", t.memberOfSegment)
	for _, kind := range []string{"users", "servicePrincipals", "groups"} {
		base := "/v1.0/" + kind + "/{id}/memberOf"
		t.handle(http.MethodGet, base, t.listMemberOf(kind, false))
		// Graph takes the cast in full or, as the kiota SDKs send it, short.
		t.handle(http.MethodGet, base+"/microsoft.graph.group", t.listMemberOf(kind, true))
		t.handle(http.MethodGet, base+"/graph.group", t.listMemberOf(kind, true))
	}
}

func directoryRoleProps() []string {
	return []string{"id", "displayName", "description", "roleTemplateId"}
}

// directoryObjectFilter is what an advanced query on memberOf or members
// may test.
func directoryObjectFilter() filterSyntax {
	return filterSyntax{
		ops:   []string{"eq", "ne"},
		props: []string{"id", "displayName", "userPrincipalName", "userType", "appId", "roleTemplateId"},
		bools: []string{"isAssignableToRole", "securityEnabled", "mailEnabled", "accountEnabled"},
	}
}

// getGroup serves GET /groups/{id}.
func (t *Tenant) getGroup(c *call) {
	id := c.param("id")
	sel, err := parseSelect(c.r.URL.Query().Get("$select"), groupProps(), groupType)
	if err != nil {
		c.badRequest(err.Error())
		return
	}
	g, ok := t.Group(id)
	if !ok {
		c.notFound(id)
		return
	}
	body := groupJSON(g, sel)
	body["@odata.context"] = graphContext("groups/$entity")
	c.ok(body)
}

// dirEntry is one object of a directory-object collection: all its
// properties, and which of them Graph sends without $select.
type dirEntry struct {
	id       string
	kind     string
	all      map[string]any
	defaults []string // nil: all
}

func (e dirEntry) prop(name string) string {
	switch v := e.all[name].(type) {
	case string:
		return v
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return ""
}

func (e dirEntry) render(sel selection) map[string]any {
	if sel == nil && e.defaults != nil {
		sel = selection{}
		for _, p := range e.defaults {
			sel[p] = true
		}
	}
	out := pick(e.all, sel)
	out["@odata.type"] = "#" + e.kind
	return out
}

// dirEntryLocked describes the user, service principal or group with a
// lower-case key.
func (t *Tenant) dirEntryLocked(key string) (dirEntry, bool) {
	if u, ok := t.users[key]; ok {
		return dirEntry{id: u.ID, kind: userType, all: userJSON(u, selectionOf(userProps())), defaults: userDefaultProps()}, true
	}
	if sp, ok := t.sps[key]; ok {
		return dirEntry{id: sp.ID, kind: servicePrincipalType, all: servicePrincipalJSON(sp, nil)}, true
	}
	if g, ok := t.groups[key]; ok {
		return dirEntry{id: g.ID, kind: groupType, all: groupJSON(g, nil)}, true
	}
	return dirEntry{}, false
}

// entriesLocked describes the objects of the lower-case keys, leaving out
// a key that names none.
func (t *Tenant) entriesLocked(keys []string) []dirEntry {
	var entries []dirEntry
	for _, k := range keys {
		if e, ok := t.dirEntryLocked(k); ok {
			entries = append(entries, e)
		}
	}
	return entries
}

func selectionOf(props []string) selection {
	sel := selection{}
	for _, p := range props {
		sel[p] = true
	}
	return sel
}

// directoryRoleID is the object id of the activated directoryRole of a
// role template in this tenant: not the template id, as in Graph, and
// stable for a seed.
func (t *Tenant) directoryRoleID(templateID string) string {
	return guidFromHash(hash64(t.cfg.Seed, "directoryRole", t.tenantID, strings.ToLower(templateID)))
}

// directoryRolesLocked lists the directoryRole objects an object is a
// member of: one per built-in role it holds through an active assignment
// at the tenant scope ("/"). Ghosts do not count.
func (t *Tenant) directoryRolesLocked(key string) []dirEntry {
	builtin := map[string]bool{}
	for _, d := range builtinRoles() {
		builtin[strings.ToLower(d.TemplateID)] = true
	}
	seen := map[string]bool{}
	var out []dirEntry
	for _, id := range t.assignmentIDs {
		a := t.assignments[id]
		role := strings.ToLower(a.RoleDefinitionID)
		if t.ghosts[id] || a.DirectoryScopeID != "/" || !strings.EqualFold(a.PrincipalID, key) || !builtin[role] || seen[role] {
			continue
		}
		seen[role] = true
		d := t.roleDefs[role]
		out = append(out, dirEntry{id: t.directoryRoleID(d.TemplateID), kind: directoryRoleType, all: map[string]any{
			"id":             t.directoryRoleID(d.TemplateID),
			"displayName":    d.DisplayName,
			"description":    nil,
			"roleTemplateId": d.TemplateID,
		}})
	}
	return out
}

// resolveLocked finds the object a /users, /servicePrincipals, /groups or
// /directoryObjects path names and returns its lower-case key. Users are
// found by id or UPN, the others by id.
func (t *Tenant) resolveLocked(kind, id string) (string, bool) {
	key := strings.ToLower(id)
	switch kind {
	case "users":
		u, ok := t.userLocked(id)
		return strings.ToLower(u.ID), ok
	case "servicePrincipals":
		_, ok := t.sps[key]
		return key, ok
	case "groups":
		_, ok := t.groups[key]
		return key, ok
	}
	_, ok := t.objectIDLocked(key)
	return key, ok
}

// resolveParam finds the object the {id} of a /{kind}/{id}/… request
// names (resolveLocked), answering 404 when there is none.
func (t *Tenant) resolveParam(c *call, kind string) (string, bool) {
	id := c.param("id")
	t.mu.Lock()
	key, ok := t.resolveLocked(kind, id)
	t.mu.Unlock()
	if !ok {
		c.notFound(id)
	}
	return key, ok
}

// objectListBody is a page of directory objects, with @odata.count when an
// advanced query asked for it.
type objectListBody struct {
	Context  string           `json:"@odata.context"`
	Count    *int             `json:"@odata.count,omitempty"`
	NextLink string           `json:"@odata.nextLink,omitempty"`
	Value    []map[string]any `json:"value"`
}

// objectQuery is the parsed query of a memberOf or members request.
type objectQuery struct {
	sel      selection
	filter   filter
	count    bool // answer @odata.count
	size     int
	after    string
	tokenKey string
}

// parseObjectQuery reads the query of a directory-object collection. A
// $filter is an advanced query there: without `ConsistencyLevel:
// eventual` and `$count=true` Graph answers 400 Request_UnsupportedQuery.
// $count=true without the header is ignored (*unconfirmed*: Graph answers
// some collections 400 instead). The returned failure is already answered.
func (t *Tenant) parseObjectQuery(c *call, props []string, typeName, scope string) (objectQuery, bool) {
	var oq objectQuery
	q, err := url.ParseQuery(c.r.URL.RawQuery)
	if err != nil {
		c.badRequest("Invalid query string.")
		return oq, false
	}
	if oq.sel, err = parseSelect(q.Get("$select"), props, typeName); err != nil {
		c.badRequest(err.Error())
		return oq, false
	}
	eventual := strings.EqualFold(strings.TrimSpace(c.r.Header.Get("ConsistencyLevel")), "eventual")
	oq.count = eventual && strings.EqualFold(q.Get("$count"), "true")
	filterText := ""
	if q.Has("$filter") {
		if !oq.count {
			c.error(http.StatusBadRequest, "Request_UnsupportedQuery", messageUnsupportedFilter)
			return oq, false
		}
		filterText = q.Get("$filter")
		if oq.filter, err = parseFilter(filterText, directoryObjectFilter()); err != nil {
			c.error(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause: "+err.Error()+".")
			return oq, false
		}
	}
	if oq.size, err = t.pageSize(q); err != nil {
		c.badRequest(err.Error())
		return oq, false
	}
	oq.tokenKey = scope + "\x00" + filterText
	if q.Has("$skiptoken") {
		var ok bool
		if oq.after, ok = t.readSkipToken(q.Get("$skiptoken"), oq.tokenKey); !ok {
			c.badRequest("Invalid $skiptoken.")
			return oq, false
		}
	}
	return oq, true
}

// serveObjects answers one page of directory objects, sorted by id.
func (t *Tenant) serveObjects(c *call, context string, oq objectQuery, entries []dirEntry) {
	slices.SortFunc(entries, func(a, b dirEntry) int { return strings.Compare(a.id, b.id) })
	body := objectListBody{Context: graphContext(context), Value: []map[string]any{}}
	matched := 0
	last, more := "", false
	for _, e := range entries {
		if !oq.filter.matches(e.prop) {
			continue
		}
		matched++
		if oq.after != "" && e.id <= oq.after {
			continue
		}
		if len(body.Value) == oq.size {
			more = true
			continue // keep counting
		}
		body.Value = append(body.Value, e.render(oq.sel))
		last = e.id
	}
	if oq.count {
		body.Count = &matched
	}
	if more {
		body.NextLink = nextLink(c.r, t.skipToken(last, oq.tokenKey))
	}
	c.ok(body)
}

// listMemberOf serves GET /{kind}/{id}/memberOf: the groups the object is
// a direct member of and, without the group cast, the directoryRole
// objects of the built-in roles it holds at the tenant scope.
func (t *Tenant) listMemberOf(kind string, cast bool) func(*call) {
	props, typeName, context := groupProps(), groupType, "groups"
	if !cast {
		props = slices.Concat(groupProps(), directoryRoleProps())
		typeName, context = "microsoft.graph.directoryObject", "directoryObjects"
	}
	return func(c *call) {
		key, ok := t.resolveParam(c, kind)
		if !ok {
			return
		}
		scope := "memberOf\x00" + key
		if cast {
			scope += "\x00group"
		}
		oq, ok := t.parseObjectQuery(c, props, typeName, scope)
		if !ok {
			return
		}
		t.mu.Lock()
		entries := t.entriesLocked(t.members.groupsOf(key))
		if !cast {
			entries = append(entries, t.directoryRolesLocked(key)...)
		}
		t.mu.Unlock()
		t.serveObjects(c, context, oq, entries)
	}
}

// listGroupObjects serves GET /groups/{id}/members (name "members", the
// group's members: users, service principals and groups) and
// /groups/{id}/owners (name "owners": users and service principals), told
// apart by @odata.type; props are the properties they may $select.
func (t *Tenant) listGroupObjects(name string, of *membership, props []string) func(*call) {
	return func(c *call) {
		id := c.param("id")
		gk := strings.ToLower(id)
		if _, ok := t.Group(id); !ok {
			c.notFound(id)
			return
		}
		oq, ok := t.parseObjectQuery(c, props, "microsoft.graph.directoryObject", name+"\x00"+gk)
		if !ok {
			return
		}
		t.mu.Lock()
		entries := t.entriesLocked(of.membersOf(gk))
		t.mu.Unlock()
		t.serveObjects(c, "directoryObjects", oq, entries)
	}
}

// refObjectID reads the object id from an @odata.id reference such as
// https://graph.microsoft.com/v1.0/directoryObjects/{id}. Any host is
// taken (a client may send its own service root); the last two segments
// must be a collection of directory objects and an id.
func refObjectID(ref string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(ref))
	if err != nil {
		return "", false
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) < 2 || segs[len(segs)-1] == "" {
		return "", false
	}
	if _, ok := lookupFold([]string{"directoryObjects", "users", "servicePrincipals", "groups"}, segs[len(segs)-2]); !ok {
		return "", false
	}
	return segs[len(segs)-1], true
}

// readRef reads the body of a POST …/$ref: the id of the object its
// @odata.id names. The returned failure is already answered.
func readRef(c *call) (string, bool) {
	var body struct {
		ODataID string `json:"@odata.id"`
	}
	if !c.decodeJSON(&body) {
		return "", false
	}
	id, ok := refObjectID(body.ODataID)
	if !ok {
		c.badRequest("Invalid object identifier '" + body.ODataID + "'.")
		return "", false
	}
	return id, true
}

// addMemberRef serves POST /groups/{id}/members/$ref: 204; 400 when the
// membership exists already or would nest a group in a role-assignable
// group; 404 when the group or the object does not exist.
func (t *Tenant) addMemberRef(c *call) {
	gid := c.param("id")
	mid, ok := readRef(c)
	if !ok {
		return
	}
	t.mu.Lock()
	group, groupExists := t.groups[strings.ToLower(gid)]
	var err error
	if groupExists && fixedMembers(group) == "" {
		err = t.addMemberLocked(gid, mid)
	}
	t.mu.Unlock()
	switch {
	case groupExists && fixedMembers(group) != "":
		c.error(http.StatusBadRequest, "Request_BadRequest", fixedMembers(group))
	case !groupExists:
		c.notFound(gid)
	case err == nil:
		c.noContent()
	case errors.Is(err, ErrNotFound):
		c.notFound(mid)
	case errors.Is(err, ErrAlreadyMember):
		c.error(http.StatusBadRequest, "Request_BadRequest", messageAlreadyMember)
	case errors.Is(err, ErrNesting) && strings.EqualFold(gid, mid):
		c.error(http.StatusBadRequest, "Request_BadRequest", "A group cannot be a member of itself.")
	default:
		c.error(http.StatusBadRequest, "Request_BadRequest", messageNesting)
	}
}

// removeMemberRef serves DELETE /groups/{id}/members/{member}/$ref: 204,
// and the member's Group-type eligibilities through the group go; 404
// when the group does not exist or the object is not a direct member.
func (t *Tenant) removeMemberRef(c *call) {
	gid, mid := c.param("id"), c.param("member")
	gk, mk := strings.ToLower(gid), strings.ToLower(mid)
	t.mu.Lock()
	group, groupExists := t.groups[gk]
	fixed := fixedMembers(group)
	removed := groupExists && fixed == "" && t.removeMemberLocked(gk, mk)
	t.mu.Unlock()
	switch {
	case groupExists && fixed != "":
		c.error(http.StatusBadRequest, "Request_BadRequest", fixed)
	case !groupExists:
		c.notFound(gid)
	case !removed:
		c.notFound(mid)
	default:
		c.noContent()
	}
}

// deleteMemberObject serves DELETE /groups/{id}/members/{member} without
// /$ref. Graph takes it as a DELETE of the member object itself: the user
// or service principal is deleted (204). The contract forbids sending it:
// its arrival is a violation whatever the answer (memberDeleteViolation),
// and a deletion it makes is one more.
func (t *Tenant) deleteMemberObject(c *call) {
	gid, mid := c.param("id"), c.param("member")
	gk, mk := strings.ToLower(gid), strings.ToLower(mid)
	t.mu.Lock()
	_, groupExists := t.groups[gk]
	member := groupExists && t.members.members[gk][mk]
	if member {
		t.deleteObjectLocked(mk)
		t.violationLocked("DELETE without /$ref deleted the member object %s itself", mid)
	}
	t.mu.Unlock()
	switch {
	case !groupExists:
		c.notFound(gid)
	case !member:
		c.notFound(mid)
	default:
		c.noContent()
	}
}

// memberDeleteViolation describes a DELETE of /v1.0/groups/{id}/members/{id}
// without /$ref, or returns "". It is checked when a request arrives, so
// that sending one is caught whatever answers it: a rule, the throttle, an
// injected fault or the handler.
func memberDeleteViolation(method, escapedPath string) string {
	if method != http.MethodDelete {
		return ""
	}
	segs := splitPath(strings.TrimRight(escapedPath, "/"))
	if len(segs) != 5 {
		return ""
	}
	for i, want := range []string{"v1.0", "groups", "", "members", ""} {
		seg, err := url.PathUnescape(segs[i])
		if err != nil {
			return ""
		}
		segs[i] = seg
		if want != "" && !strings.EqualFold(seg, want) {
			return ""
		}
	}
	return fmt.Sprintf("DELETE /groups/%s/members/%s without /$ref: Graph deletes the member object itself", segs[2], segs[4])
}

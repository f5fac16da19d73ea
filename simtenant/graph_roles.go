package simtenant

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

const (
	assignmentsPath = "/v1.0/roleManagement/directory/roleAssignments"
	assignmentType  = "microsoft.graph.unifiedRoleAssignment"
)

// The properties of a unifiedRoleAssignment that $select may name, $filter
// may test and $expand may follow. Functions, not variables, so no state is
// shared between tenants.
func assignmentProps() []string {
	return []string{"id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId"}
}

func assignmentFilterProps() []string {
	return []string{"principalId", "roleDefinitionId", "directoryScopeId", "appScopeId"}
}

func assignmentExpands() []string {
	return []string{"principal", "roleDefinition", "directoryScope", "appScope"}
}

// addGraphRoleRoutes registers the directory role assignment API.
func (t *Tenant) addGraphRoleRoutes() {
	t.handle(http.MethodGet, assignmentsPath, t.listRoleAssignments)
	t.handle(http.MethodGet, assignmentsPath+"/{id}", t.getRoleAssignment)
	t.handle(http.MethodDelete, assignmentsPath+"/{id}", t.deleteRoleAssignment)
}

// prop returns one property of an assignment by its Graph name.
func (a RoleAssignment) prop(name string) string {
	switch name {
	case "id":
		return a.ID
	case "principalId":
		return a.PrincipalID
	case "roleDefinitionId":
		return a.RoleDefinitionID
	case "directoryScopeId":
		return a.DirectoryScopeID
	case "appScopeId":
		return a.AppScopeID
	}
	return ""
}

// listBody is a page of a collection. Graph puts the next link before the
// values.
type listBody struct {
	Context  string           `json:"@odata.context"`
	NextLink string           `json:"@odata.nextLink,omitempty"`
	Value    []map[string]any `json:"value"`
}

// assignmentQuery is the parsed query of a role assignment request.
type assignmentQuery struct {
	filter     filter
	filterText string
	size       int
	sel        selection
	expand     map[string]bool
	after      string // continue after this id ($skiptoken)
}

// parseAssignmentQuery reads the query options; an error is the 400
// message Graph would give.
func (t *Tenant) parseAssignmentQuery(c *call, list bool) (assignmentQuery, error) {
	var aq assignmentQuery
	q, err := url.ParseQuery(c.r.URL.RawQuery)
	if err != nil {
		return aq, queryError("Invalid query string.")
	}
	if aq.sel, err = parseSelect(q.Get("$select"), assignmentProps(), assignmentType); err != nil {
		return aq, err
	}
	if aq.expand, err = parseExpand(q.Get("$expand"), assignmentExpands(), assignmentType); err != nil {
		return aq, err
	}
	if !list {
		return aq, nil
	}
	if q.Has("$filter") {
		aq.filterText = q.Get("$filter")
		aq.filter, err = parseFilter(aq.filterText, assignmentFilterProps())
		var tooMany *tooManyValuesError
		if errors.As(err, &tooMany) {
			return aq, err
		}
		if err != nil {
			return aq, queryError("Invalid filter clause: " + err.Error() + ".")
		}
		t.checkFilterIDs(aq.filter)
	}
	if aq.size, err = t.pageSize(q); err != nil {
		return aq, err
	}
	if q.Has("$skiptoken") {
		var ok bool
		if aq.after, ok = t.readSkipToken(q.Get("$skiptoken"), aq.filterText); !ok {
			return aq, queryError("Invalid $skiptoken.")
		}
	}
	return aq, nil
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

// listRoleAssignments serves GET roleAssignments: filtered, sorted by id,
// paged with an absolute @odata.nextLink. Ghosts are listed.
func (t *Tenant) listRoleAssignments(c *call) {
	aq, err := t.parseAssignmentQuery(c, true)
	if err != nil {
		var tooMany *tooManyValuesError
		if errors.As(err, &tooMany) {
			c.error(http.StatusBadRequest, "Request_UnsupportedQuery", err.Error())
			return
		}
		c.badRequest(err.Error())
		return
	}
	t.mu.Lock()
	start, _ := slices.BinarySearch(t.assignmentIDs, aq.after)
	if aq.after != "" && start < len(t.assignmentIDs) && t.assignmentIDs[start] == aq.after {
		start++
	}
	var page []RoleAssignment
	more := false
	for _, id := range t.assignmentIDs[start:] {
		a := t.assignments[id]
		if !aq.filter.matches(a.prop) {
			continue
		}
		if len(page) == aq.size {
			more = true
			break
		}
		page = append(page, a)
	}
	body := listBody{Context: graphContext("roleManagement/directory/roleAssignments"), Value: []map[string]any{}}
	for _, a := range page {
		body.Value = append(body.Value, t.assignmentJSONLocked(a, aq.sel, aq.expand))
	}
	t.mu.Unlock()
	if more {
		body.NextLink = nextLink(c.r, t.skipToken(page[len(page)-1].ID, aq.filterText))
	}
	c.ok(body)
}

// getRoleAssignment serves GET roleAssignments/{id}; a ghost is not found.
func (t *Tenant) getRoleAssignment(c *call) {
	id := c.param("id")
	aq, err := t.parseAssignmentQuery(c, false)
	if err != nil {
		c.badRequest(err.Error())
		return
	}
	t.mu.Lock()
	a, ok := t.assignments[id]
	if !ok || t.ghosts[id] {
		t.mu.Unlock()
		c.notFound(id)
		return
	}
	body := t.assignmentJSONLocked(a, aq.sel, aq.expand)
	t.mu.Unlock()
	body["@odata.context"] = graphContext("roleManagement/directory/roleAssignments/$entity")
	c.ok(body)
}

// deleteRoleAssignment serves DELETE roleAssignments/{id}: 204, 404 when
// missing or a ghost (which then leaves the listing too), and Graph's
// refusal to let the caller drop its own Global Administrator role.
func (t *Tenant) deleteRoleAssignment(c *call) {
	id := c.param("id")
	t.mu.Lock()
	a, ok := t.assignments[id]
	if !ok || t.ghosts[id] {
		if ok {
			t.removeAssignmentLocked(id)
		}
		t.mu.Unlock()
		c.notFound(id)
		return
	}
	if strings.EqualFold(a.PrincipalID, t.callerID) && strings.EqualFold(a.RoleDefinitionID, GlobalAdministrator) {
		t.mu.Unlock()
		c.error(http.StatusBadRequest, "Request_BadRequest", "Removing self from Global Administrator built-in role is not allowed")
		return
	}
	t.removeAssignmentLocked(id)
	t.mu.Unlock()
	c.noContent()
}

// assignmentJSONLocked renders an assignment as Graph does, with the
// selected properties and expanded navigation properties.
func (t *Tenant) assignmentJSONLocked(a RoleAssignment, sel selection, expand map[string]bool) map[string]any {
	out := map[string]any{}
	for _, p := range assignmentProps() {
		if !sel.has(p) {
			continue
		}
		if v := a.prop(p); v != "" {
			out[p] = v
		} else {
			out[p] = nil
		}
	}
	if expand["principal"] {
		if obj, ok := t.directoryObjectLocked(a.PrincipalID, nil); ok {
			out["principal"] = obj
		} else {
			out["principal"] = nil
		}
	}
	if expand["roleDefinition"] {
		if d, ok := t.roleDefs[strings.ToLower(a.RoleDefinitionID)]; ok {
			out["roleDefinition"] = map[string]any{
				"id":          d.ID,
				"displayName": d.DisplayName,
				"templateId":  d.TemplateID,
				"isBuiltIn":   d.ID == d.TemplateID,
				"isEnabled":   true,
			}
		} else {
			out["roleDefinition"] = nil
		}
	}
	// directoryScope and appScope are accepted; the tenant does not model
	// administrative units or app scopes as objects.
	if expand["directoryScope"] {
		out["directoryScope"] = nil
	}
	if expand["appScope"] {
		out["appScope"] = nil
	}
	return out
}

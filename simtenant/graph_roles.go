package simtenant

import (
	"net/http"
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

func assignmentFilter() filterSyntax {
	return filterSyntax{
		ops:   []string{"eq", "in"},
		props: []string{"principalId", "roleDefinitionId", "directoryScopeId", "appScopeId"},
	}
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

// assignmentSpec is what the role assignment collection's query options
// accept.
func assignmentSpec() collectionSpec {
	return collectionSpec{
		name:     "roleAssignments",
		typeName: assignmentType,
		props:    assignmentProps(),
		expands:  assignmentExpands(),
		filter:   assignmentFilter(),
	}
}

// listRoleAssignments serves GET roleAssignments: filtered, sorted by id,
// paged with an absolute @odata.nextLink. Ghosts are listed.
func (t *Tenant) listRoleAssignments(c *call) {
	aq, err := t.parseListQuery(c, assignmentSpec(), true)
	if err != nil {
		c.queryFailed(err)
		return
	}
	t.mu.Lock()
	ids, narrowed := t.principalCandidatesLocked(aq.filter)
	if !narrowed {
		ids = t.assignmentIDs
	}
	start, _ := slices.BinarySearch(ids, aq.after)
	if aq.after != "" && start < len(ids) && ids[start] == aq.after {
		start++
	}
	var page []RoleAssignment
	more := false
	for _, id := range ids[start:] {
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
		body.NextLink = nextLink(c.r, t.skipToken(page[len(page)-1].ID, aq.tokenKey))
	}
	c.ok(body)
}

// getRoleAssignment serves GET roleAssignments/{id}; a ghost is not found.
func (t *Tenant) getRoleAssignment(c *call) {
	id := c.param("id")
	aq, err := t.parseListQuery(c, assignmentSpec(), false)
	if err != nil {
		c.queryFailed(err)
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
// missing or a ghost (which then leaves the listing too), Graph's refusal
// to let the caller drop its own Global Administrator role, and, with
// Config.PIMManagedDeleteRefused, a refusal for assignments made through
// PIM (see pimManagedDeleteMessage).
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
	if t.isSelfGlobalAdminLocked(a) {
		t.mu.Unlock()
		c.selfGlobalAdminRefused()
		return
	}
	if t.cfg.PIMManagedDeleteRefused && t.pim.managed[id] {
		t.mu.Unlock()
		c.error(http.StatusBadRequest, "BadRequest", pimManagedDeleteMessage)
		return
	}
	t.removeAssignmentLocked(id)
	t.mu.Unlock()
	c.noContent()
}

// isSelfGlobalAdminLocked tells the caller's own Global Administrator
// assignment, which Graph refuses to remove.
func (t *Tenant) isSelfGlobalAdminLocked(a RoleAssignment) bool {
	return strings.EqualFold(a.PrincipalID, t.callerID) && strings.EqualFold(a.RoleDefinitionID, GlobalAdministrator)
}

func (c *call) selfGlobalAdminRefused() {
	c.error(http.StatusBadRequest, "Request_BadRequest", "Removing self from Global Administrator built-in role is not allowed")
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
	t.expandLocked(out, a.PrincipalID, a.RoleDefinitionID, expand)
	return out
}

// expandLocked adds the navigation properties that $expand asks for to an
// object that refers to a principal and a role definition (a role
// assignment, an eligibility schedule).
func (t *Tenant) expandLocked(out map[string]any, principalID, roleID string, expand map[string]bool) {
	if expand["principal"] {
		if obj, ok := t.directoryObjectLocked(principalID, nil); ok {
			out["principal"] = obj
		} else {
			out["principal"] = nil
		}
	}
	if expand["roleDefinition"] {
		if d, ok := t.roleDefs[strings.ToLower(roleID)]; ok {
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
}

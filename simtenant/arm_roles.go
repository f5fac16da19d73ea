package simtenant

import (
	"cmp"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// armTime formats a time as ARM does (seven fractional digits, UTC).
func armTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

// armNullable is a string that is JSON null when empty.
func armNullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// armRoleAssignmentJSON is a role assignment as api-version 2022-04-01
// writes it, in ARM's property order.
type armRoleAssignmentJSON struct {
	Properties armRoleAssignmentProps `json:"properties"`
	ID         string                 `json:"id"`
	Type       string                 `json:"type"`
	Name       string                 `json:"name"`
}

type armRoleAssignmentProps struct {
	RoleDefinitionID                   string  `json:"roleDefinitionId"`
	PrincipalID                        string  `json:"principalId"`
	PrincipalType                      string  `json:"principalType"`
	Scope                              string  `json:"scope"`
	Condition                          *string `json:"condition"`
	ConditionVersion                   *string `json:"conditionVersion"`
	CreatedOn                          string  `json:"createdOn"`
	UpdatedOn                          string  `json:"updatedOn"`
	CreatedBy                          string  `json:"createdBy"`
	UpdatedBy                          string  `json:"updatedBy"`
	DelegatedManagedIdentityResourceID *string `json:"delegatedManagedIdentityResourceId"`
	Description                        *string `json:"description"`
}

func (a ARMRoleAssignment) json() armRoleAssignmentJSON {
	return armRoleAssignmentJSON{
		Properties: armRoleAssignmentProps{
			RoleDefinitionID: a.RoleDefinitionID,
			PrincipalID:      a.PrincipalID,
			PrincipalType:    a.PrincipalType,
			Scope:            a.Scope,
			Condition:        armNullable(a.Condition),
			ConditionVersion: armNullable(a.ConditionVersion),
			CreatedOn:        armTime(a.CreatedOn),
			UpdatedOn:        armTime(a.UpdatedOn),
			CreatedBy:        a.CreatedBy,
			UpdatedBy:        a.UpdatedBy,
			Description:      armNullable(a.Description),
		},
		ID:   a.ID,
		Type: "Microsoft.Authorization/roleAssignments",
		Name: a.Name,
	}
}

// armListFilter reads $filter for a listing; ok is false when the request
// was answered 400. A principal id that is not a GUID is also a contract
// violation: the job checks ids before they go into a $filter.
func (t *Tenant) armListFilter(c *call, q url.Values, eligibility bool) (armFilter, bool) {
	raw := q.Get("$filter")
	f, err := parseARMFilter(raw, eligibility)
	t.mu.Lock()
	required := t.arm.cfg.FilterRequired
	t.mu.Unlock()
	if err == nil && required && raw == "" {
		err = errors.New("a filter is required")
	}
	if err != nil {
		supported := "'atScope()' or 'principalId eq '{value}'' or 'assignedTo('{value}')'"
		if eligibility {
			supported = "'atScope()', 'asTarget()', 'principalId eq '{value}'' or 'assignedTo('{value}')'"
		}
		c.armError(http.StatusBadRequest, "InvalidFilterParameter",
			"The filter '"+raw+"' is not supported. Supported filters are either "+supported+".")
		return f, false
	}
	if id, named := f.principal(); named && !isGUID(id) {
		t.violation("ARM $filter carries principal id %q, which is not a GUID", id)
		c.armError(http.StatusBadRequest, "InvalidFilterParameter",
			"The principal id '"+id+"' in the filter '"+raw+"' is not a valid GUID.")
		return f, false
	}
	return f, true
}

// principalSet is the set of principals (lower-case) a filter selects; nil
// means any. assignedTo adds the groups the principal is in, transitively
// (ARM follows nested groups).
func (t *Tenant) principalSet(f armFilter) map[string]bool {
	switch {
	case !f.named:
		return nil
	case f.principalID != "":
		return map[string]bool{strings.ToLower(f.principalID): true}
	}
	set := map[string]bool{strings.ToLower(f.assignedTo): true}
	queue := []string{f.assignedTo}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, g := range t.MemberOf(id) {
			if !set[strings.ToLower(g)] {
				set[strings.ToLower(g)] = true
				queue = append(queue, g)
			}
		}
	}
	return set
}

// listARMRoleAssignments serves GET {scope}/providers/Microsoft.Authorization/roleAssignments:
// the assignments at, above and below the scope (at and above with
// atScope()), filtered, sorted by id, paged with an absolute nextLink.
func (t *Tenant) listARMRoleAssignments(c *call) {
	q, scope, ok := t.armBegin(c, armRoleAssignmentVersions())
	if !ok {
		return
	}
	f, ok := t.armListFilter(c, q, false)
	if !ok {
		return
	}
	bind := "arm-roleAssignments\x00" + scope.key() + "\x00" + q.Get("$filter")
	after, ok := t.armSkipToken(c, q, bind)
	if !ok {
		return
	}
	principals := t.principalSet(f)

	t.mu.Lock()
	var keys []string
	if principals == nil {
		keys = slices.Collect(maps.Keys(t.arm.assignments))
	} else {
		for p := range principals {
			keys = slices.AppendSeq(keys, maps.Keys(t.arm.byPrincipal[p]))
		}
	}
	slices.Sort(keys)
	visible := t.arm.visibleFromLocked(scope, f.atScope)
	var matched []string
	for _, k := range keys {
		if visible(t.arm.assignments[k].Scope) {
			matched = append(matched, k)
		}
	}
	page, more := pageAfter(matched, after, t.arm.cfg.PageSize)
	body := armList{Value: []any{}}
	for _, k := range page {
		body.Value = append(body.Value, t.arm.assignments[k].json())
	}
	t.mu.Unlock()
	if more {
		body.NextLink = armNextLink(c.r, t.skipToken(page[len(page)-1], bind))
	}
	c.armJSON(http.StatusOK, body)
}

// armAssignmentTarget checks a request for one assignment and returns
// its scope and name; ok is false when the request was answered.
func (t *Tenant) armAssignmentTarget(c *call) (scope armScope, name string, ok bool) {
	if _, scope, ok = t.armBegin(c, armRoleAssignmentVersions()); !ok {
		return scope, "", false
	}
	name = c.param("name")
	if !isGUID(name) {
		c.armError(http.StatusBadRequest, "InvalidRoleAssignmentId",
			"The role assignment ID '"+name+"' is not valid. The role assignment ID must be a GUID.")
		return scope, name, false
	}
	return scope, name, true
}

// getARMRoleAssignment serves GET {assignment id}.
func (t *Tenant) getARMRoleAssignment(c *call) {
	scope, name, ok := t.armAssignmentTarget(c)
	if !ok {
		return
	}
	t.mu.Lock()
	a, found := t.arm.assignments[strings.ToLower(armChildID(scope.path, armRoleAssignments, name))]
	t.mu.Unlock()
	if !found {
		c.armError(http.StatusNotFound, "RoleAssignmentNotFound", "The role assignment '"+name+"' is not found.")
		return
	}
	c.armJSON(http.StatusOK, a.json())
}

// deleteARMRoleAssignment serves DELETE {assignment id}: 200 with the
// deleted assignment, or 204 without a body when there was none, which is
// how a client tells "removed" from "already absent".
func (t *Tenant) deleteARMRoleAssignment(c *call) {
	scope, name, ok := t.armAssignmentTarget(c)
	if !ok {
		return
	}
	key := strings.ToLower(armChildID(scope.path, armRoleAssignments, name))
	t.mu.Lock()
	a, found := t.arm.assignments[key]
	if found && a.PIMManaged {
		t.mu.Unlock()
		c.armError(http.StatusBadRequest, armPIMManagedCode, armPIMManagedMessage)
		return
	}
	t.removeARMRoleAssignmentLocked(key)
	t.mu.Unlock()
	if !found {
		c.noContent()
		return
	}
	c.armJSON(http.StatusOK, a.json())
}

// armRoleAssignmentPut is the body of a PUT.
type armRoleAssignmentPut struct {
	Properties *struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
		Condition        string `json:"condition"`
		ConditionVersion string `json:"conditionVersion"`
		Description      string `json:"description"`
	} `json:"properties"`
}

// armPrincipalTypes are the principalType values ARM accepts.
func armPrincipalTypes() []string {
	return []string{"User", "Group", "ServicePrincipal", "ForeignGroup", "Device"}
}

// putARMRoleAssignment serves PUT {scope}/providers/Microsoft.Authorization/roleAssignments/{name}:
// 201 for a new assignment; 200 for the same name again with the same
// role and principal (description and condition may change); 409
// RoleAssignmentExists when the scope, role and principal are already
// assigned under another name; 400 RoleAssignmentUpdateNotPermitted when
// the name is taken by another role or principal. Without principalType
// the principal must exist in the directory (400 PrincipalNotFound).
func (t *Tenant) putARMRoleAssignment(c *call) {
	scope, name, ok := t.armAssignmentTarget(c)
	if !ok {
		return
	}
	var body armRoleAssignmentPut
	if err := json.Unmarshal(c.body, &body); err != nil || body.Properties == nil {
		c.armBadContent(err)
		return
	}
	p := body.Properties
	if !isGUID(p.PrincipalID) {
		c.armBadPrincipal(p.PrincipalID)
		return
	}
	if p.PrincipalType != "" && !slices.Contains(armPrincipalTypes(), p.PrincipalType) {
		c.armBadContent(errors.New("unknown principalType '" + p.PrincipalType + "'"))
		return
	}
	want := ARMRoleAssignment{
		Name:             name,
		PrincipalID:      p.PrincipalID,
		PrincipalType:    p.PrincipalType,
		Condition:        p.Condition,
		ConditionVersion: p.ConditionVersion,
		Description:      p.Description,
		CreatedOn:        t.cfg.Now(),
	}
	t.mu.Lock()
	answer := t.putARMRoleAssignmentLocked(scope, p.RoleDefinitionID, want)
	t.mu.Unlock()
	c.armAnswer(answer)
}

func (t *Tenant) putARMRoleAssignmentLocked(scope armScope, roleDefinitionID string, a ARMRoleAssignment) armAnswer {
	role, ok := t.armRoleLocked(roleDefinitionID)
	if !ok {
		return armRoleMissing(roleDefinitionID)
	}
	if a.PrincipalType == "" {
		var inDirectory bool
		if a.PrincipalType, inDirectory = t.principalTypeLocked(a.PrincipalID); !inDirectory {
			return armAnswer{status: http.StatusBadRequest, code: "PrincipalNotFound", message: "Principal " +
				strings.ReplaceAll(a.PrincipalID, "-", "") + " does not exist in the directory " + t.tenantID +
				". Check that you have the correct principal ID. If you are creating this principal and then" +
				" immediately assigning a role, this error might be related to a replication delay. In this case," +
				" set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group."}
		}
	}
	a.Scope = canonicalScopeLocked(&t.arm, scope)
	a.RoleDefinitionID = ARMRoleDefinitionID(a.Scope, role)
	key := strings.ToLower(armChildID(a.Scope, armRoleAssignments, a.Name))
	if old, taken := t.arm.assignments[key]; taken {
		oldRole, _ := roleGUID(old.RoleDefinitionID)
		if oldRole != role || !strings.EqualFold(old.PrincipalID, a.PrincipalID) {
			return armAnswer{status: http.StatusBadRequest, code: "RoleAssignmentUpdateNotPermitted",
				message: "Tenant ID, application ID, principal ID, and scope are not allowed to be updated."}
		}
		old.Condition, old.ConditionVersion, old.Description = a.Condition, a.ConditionVersion, a.Description
		old.UpdatedOn, old.UpdatedBy = a.CreatedOn, t.callerID
		return armAnswer{status: http.StatusOK, body: t.addARMRoleAssignmentLocked(old).json()}
	}
	for k := range t.arm.byPrincipal[strings.ToLower(a.PrincipalID)] {
		other := t.arm.assignments[k]
		otherRole, _ := roleGUID(other.RoleDefinitionID)
		if otherRole == role && parseARMScope(other.Scope).key() == scope.key() {
			return armAnswer{status: http.StatusConflict, code: "RoleAssignmentExists",
				message: "The role assignment already exists."}
		}
	}
	return armAnswer{status: http.StatusCreated, body: t.addARMRoleAssignmentLocked(a).json()}
}

// canonicalScopeLocked writes a scope with the names as they were added
// (ARM keeps its own casing whatever the request's), falling back to the
// request's spelling with ARM's casing of the fixed segments.
func canonicalScopeLocked(st *armState, s armScope) string {
	sub := s.sub
	if found, ok := st.subs[strings.ToLower(s.sub)]; ok {
		sub = found.ID
	}
	switch s.kind {
	case armScopeRoot:
		return "/"
	case armScopeManagementGroup:
		return ManagementGroupScope(cmp.Or(st.mgIDs[strings.ToLower(s.mg)], s.mg))
	case armScopeSubscription:
		return "/subscriptions/" + sub
	case armScopeResourceGroup:
		rg := "/subscriptions/" + sub + "/resourceGroups/" + s.rg
		return cmp.Or(st.rgs[strings.ToLower(rg)], rg)
	}
	return s.path
}

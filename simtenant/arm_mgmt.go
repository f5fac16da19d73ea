package simtenant

// Management-group descendants, PIM-managed active Azure role assignments
// and their AdminRemove requests, and the answer of a tenant without P2.

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

const (
	armAssignmentRequest = armAuthorization + "/roleAssignmentScheduleRequests"

	// armPIMManagedCode and armPIMManagedMessage answer a plain DELETE of a
	// PIM-managed assignment. The real code and message are *unconfirmed*
	// (none could be found in Microsoft's reference); the job does not
	// depend on them: any 400 to a DELETE is tried once more the PIM way.
	armPIMManagedCode    = "RoleAssignmentManagedByPIM"
	armPIMManagedMessage = "The role assignment is managed by Privileged Identity Management; remove it with a roleAssignmentScheduleRequest."
)

// armDescendantVersions are the api-versions of the descendants listing.
func armDescendantVersions() []string {
	return []string{"2021-04-01", "2020-10-01", "2020-05-01", "2020-02-01"}
}

// armNoP2 is ARM's answer on a PIM endpoint in a tenant without P2: the
// code is what Graph answers and the message what the portal's APIs show
// (SERVICE_FACTS.md: ARM's exact code is *unconfirmed*).
func (c *call) armNoP2() {
	c.armError(http.StatusBadRequest, codeLicence, "The tenant needs an AAD Premium 2 license.")
}

// descendantJSON is one entry of a descendants listing, as api-version
// 2021-04-01 writes it (subscriptions have type "/subscriptions").
type descendantJSON struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Name       string `json:"name"`
	Properties struct {
		DisplayName string `json:"displayName"`
		Parent      struct {
			ID string `json:"id"`
		} `json:"parent"`
	} `json:"properties"`
}

// listARMDescendants serves GET /providers/Microsoft.Management/managementGroups/{id}/descendants:
// every management group and subscription below the group, at any depth,
// sorted by id, paged with nextLink ($skiptoken).
func (t *Tenant) listARMDescendants(c *call) {
	q, ok := c.armQuery(armDescendantVersions())
	if !ok {
		return
	}
	group := strings.ToLower(c.param("managementGroup"))
	bind := "arm-descendants\x00" + group
	after, ok := t.armSkipToken(c, q, bind)
	if !ok {
		return
	}
	t.mu.Lock()
	if _, found := t.arm.mgs[group]; !found {
		t.mu.Unlock()
		c.armError(http.StatusNotFound, "ManagementGroupNotFound",
			"The management group '"+c.param("managementGroup")+"' could not be found.")
		return
	}
	under := func(mg string) bool {
		for i := 0; mg != "" && i < 64; i++ {
			if mg == group {
				return true
			}
			mg = t.arm.mgs[mg]
		}
		return false
	}
	entries := map[string]descendantJSON{}
	for key, parent := range t.arm.mgs {
		if key != group && under(parent) {
			var d descendantJSON
			d.ID, d.Type, d.Name = ManagementGroupScope(t.arm.mgIDs[key]), "Microsoft.Management/managementGroups", t.arm.mgIDs[key]
			d.Properties.DisplayName = t.arm.mgIDs[key]
			d.Properties.Parent.ID = ManagementGroupScope(t.arm.mgIDs[parent])
			entries[strings.ToLower(d.ID)] = d
		}
	}
	for _, s := range t.arm.subs {
		parent := strings.ToLower(s.ManagementGroup)
		if parent == "" {
			parent = strings.ToLower(t.arm.root)
		}
		if under(parent) {
			var d descendantJSON
			d.ID, d.Type, d.Name = s.Scope(), "/subscriptions", s.ID
			d.Properties.DisplayName = s.DisplayName
			d.Properties.Parent.ID = ManagementGroupScope(t.arm.mgIDs[parent])
			entries[strings.ToLower(d.ID)] = d
		}
	}
	keys := slices.Sorted(maps.Keys(entries))
	page, more := pageAfter(keys, after, t.arm.cfg.PageSize)
	t.mu.Unlock()
	body := armList{Value: []any{}}
	for _, k := range page {
		body.Value = append(body.Value, entries[k])
	}
	if more {
		body.NextLink = armNextLink(c.r, t.skipToken(page[len(page)-1], bind))
	}
	c.armJSON(http.StatusOK, body)
}

// putARMAssignmentRequest serves PUT {scope}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/{name}
// for requestType AdminRemove: the principal's active assignment of the
// role at exactly this scope is removed (201, status Revoked), PIM-managed
// or not; 400 RoleAssignmentDoesNotExist when there is none. Other request
// types are not modelled (400).
func (t *Tenant) putARMAssignmentRequest(c *call) {
	scope, name, body, ok := t.armScheduleRequestTarget(c)
	if !ok {
		return
	}
	p := body.Properties
	if p.RequestType != "AdminRemove" {
		c.armError(http.StatusBadRequest, "InvalidRequestType",
			"The request type '"+p.RequestType+"' is not supported by the simulated tenant; use AdminRemove.")
		return
	}
	t.mu.Lock()
	role, ok := t.armRoleLocked(p.RoleDefinitionID)
	if !ok {
		t.mu.Unlock()
		c.armAnswer(armRoleMissing(p.RoleDefinitionID))
		return
	}
	var held *ARMRoleAssignment
	for _, k := range slices.Sorted(maps.Keys(t.arm.byPrincipal[strings.ToLower(p.PrincipalID)])) {
		a := t.arm.assignments[k]
		if r, _ := roleGUID(a.RoleDefinitionID); r == role && parseARMScope(a.Scope).key() == scope.key() {
			held = &a
			break
		}
	}
	if held == nil {
		t.mu.Unlock()
		c.armError(http.StatusBadRequest, "RoleAssignmentDoesNotExist", "The Role assignment does not exist.")
		return
	}
	t.removeARMRoleAssignmentLocked(strings.ToLower(held.ID))
	canonical := canonicalScopeLocked(&t.arm, scope)
	answer := map[string]any{
		"properties": map[string]any{
			"targetRoleAssignmentScheduleId": held.ID,
			"scope":                          canonical,
			"roleDefinitionId":               ARMRoleDefinitionID(canonical, role),
			"principalId":                    held.PrincipalID,
			"principalType":                  held.PrincipalType,
			"requestType":                    "AdminRemove",
			"status":                         "Revoked",
			"justification":                  armNullable(p.Justification),
			"createdOn":                      armTime(t.cfg.Now()),
			"requestorId":                    t.callerID,
		},
		"name": name,
		"id":   armChildID(canonical, armAssignmentRequest, name),
		"type": "Microsoft.Authorization/RoleAssignmentScheduleRequests",
	}
	t.mu.Unlock()
	c.armJSON(http.StatusCreated, answer)
}

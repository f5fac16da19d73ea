package simtenant

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// armEligibilityJSON is a roleEligibilitySchedule as api-version
// 2020-10-01 writes it.
type armEligibilityJSON struct {
	Properties armEligibilityProps `json:"properties"`
	Name       string              `json:"name"`
	ID         string              `json:"id"`
	Type       string              `json:"type"`
}

type armEligibilityProps struct {
	RoleEligibilityScheduleRequestID *string `json:"roleEligibilityScheduleRequestId"`
	Scope                            string  `json:"scope"`
	RoleDefinitionID                 string  `json:"roleDefinitionId"`
	PrincipalID                      string  `json:"principalId"`
	PrincipalType                    string  `json:"principalType"`
	Status                           string  `json:"status"`
	StartDateTime                    string  `json:"startDateTime"`
	EndDateTime                      *string `json:"endDateTime"`
	MemberType                       string  `json:"memberType"`
	CreatedOn                        string  `json:"createdOn"`
	UpdatedOn                        string  `json:"updatedOn"`
	Condition                        *string `json:"condition"`
	ConditionVersion                 *string `json:"conditionVersion"`
}

func armOptionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	return armNullable(armTime(t))
}

func (e ARMEligibilitySchedule) json() armEligibilityJSON {
	return armEligibilityJSON{
		Properties: armEligibilityProps{
			RoleEligibilityScheduleRequestID: armNullable(e.RequestID),
			Scope:                            e.Scope,
			RoleDefinitionID:                 e.RoleDefinitionID,
			PrincipalID:                      e.PrincipalID,
			PrincipalType:                    e.PrincipalType,
			Status:                           e.Status,
			StartDateTime:                    armTime(e.StartDateTime),
			EndDateTime:                      armOptionalTime(e.EndDateTime),
			MemberType:                       e.MemberType,
			CreatedOn:                        armTime(e.CreatedOn),
			UpdatedOn:                        armTime(e.CreatedOn),
		},
		Name: e.Name,
		ID:   e.ID,
		Type: "Microsoft.Authorization/roleEligibilitySchedules",
	}
}

// listARMEligibilities serves GET {scope}/providers/Microsoft.Authorization/roleEligibilitySchedules:
// the eligibilities at, above and below the scope, like role assignments.
func (t *Tenant) listARMEligibilities(c *call) {
	q, scope, ok := t.armBegin(c, armEligibilityVersions())
	if !ok {
		return
	}
	if t.cfg.NoP2 {
		c.armNoP2()
		return
	}
	f, ok := t.armListFilter(c, q, true)
	if !ok {
		return
	}
	bind := "arm-roleEligibilitySchedules\x00" + scope.key() + "\x00" + q.Get("$filter")
	after, ok := t.armSkipToken(c, q, bind)
	if !ok {
		return
	}
	principals := t.principalSet(f)

	t.mu.Lock()
	visible := t.arm.visibleFromLocked(scope, f.atScope)
	var matched []string
	for _, k := range slices.Sorted(maps.Keys(t.arm.eligibilities)) {
		e := t.arm.eligibilities[k]
		if principals != nil && !principals[strings.ToLower(e.PrincipalID)] {
			continue
		}
		if visible(e.Scope) {
			matched = append(matched, k)
		}
	}
	page, more := pageAfter(matched, after, t.arm.cfg.PageSize)
	body := armList{Value: []any{}}
	above := map[string]bool{}
	for _, k := range t.arm.ancestorsLocked(scope) {
		above[k] = true
	}
	for _, k := range page {
		e := t.arm.eligibilities[k].json()
		// One held at a scope above the listing's shows as Inherited
		// (issue 17; *unconfirmed* beyond that report), its scope and id
		// still its own.
		if above[parseARMScope(e.Properties.Scope).key()] && e.Properties.MemberType == "Direct" {
			e.Properties.MemberType = "Inherited"
		}
		body.Value = append(body.Value, e)
	}
	t.mu.Unlock()
	if more {
		body.NextLink = armNextLink(c.r, t.skipToken(page[len(page)-1], bind))
	}
	c.armJSON(http.StatusOK, body)
}

// armScheduleRequest is a roleEligibilityScheduleRequest the tenant
// answered, kept so that the same request sent again gets the same answer.
type armScheduleRequest struct {
	id, name, scope  string
	roleDefinitionID string
	role             string // the role's GUID, lower-case
	principalID      string
	principalType    string
	requestType      string
	status           string
	justification    string
	target           string // the eligibility schedule it made or removed
	start, end       time.Time
	createdOn        time.Time
	ticketNumber     string
	ticketSystem     string
	condition        string
	conditionVersion string
	requestor        string // the caller's object id
}

// armScheduleRequestPut is the body of a PUT; the schedule and ticket are
// optional.
type armScheduleRequestPut struct {
	Properties *struct {
		PrincipalID      string `json:"principalId"`
		RoleDefinitionID string `json:"roleDefinitionId"`
		RequestType      string `json:"requestType"`
		Justification    string `json:"justification"`
		Condition        string `json:"condition"`
		ConditionVersion string `json:"conditionVersion"`
		ScheduleInfo     *struct {
			StartDateTime *time.Time `json:"startDateTime"`
			Expiration    *struct {
				EndDateTime *time.Time `json:"endDateTime"`
			} `json:"expiration"`
		} `json:"scheduleInfo"`
		TicketInfo *struct {
			TicketNumber string `json:"ticketNumber"`
			TicketSystem string `json:"ticketSystem"`
		} `json:"ticketInfo"`
	} `json:"properties"`
}

func (r armScheduleRequest) json() map[string]any {
	expiration := map[string]any{"type": "NoExpiration", "endDateTime": nil, "duration": nil}
	if !r.end.IsZero() {
		expiration["type"], expiration["endDateTime"] = "AfterDateTime", armTime(r.end)
	}
	return map[string]any{
		"properties": map[string]any{
			"targetRoleEligibilityScheduleId":         armNullable(r.target),
			"targetRoleEligibilityScheduleInstanceId": nil,
			"scope":            r.scope,
			"roleDefinitionId": r.roleDefinitionID,
			"principalId":      r.principalID,
			"principalType":    r.principalType,
			"requestType":      r.requestType,
			"status":           r.status,
			"approvalId":       nil,
			"scheduleInfo":     map[string]any{"startDateTime": armTime(r.start), "expiration": expiration},
			"condition":        armNullable(r.condition),
			"conditionVersion": armNullable(r.conditionVersion),
			"justification":    armNullable(r.justification),
			"ticketInfo":       map[string]any{"ticketNumber": armNullable(r.ticketNumber), "ticketSystem": armNullable(r.ticketSystem)},
			"createdOn":        armTime(r.createdOn),
			"requestorId":      r.requestor,
		},
		"name": r.name,
		"id":   r.id,
		"type": "Microsoft.Authorization/RoleEligibilityScheduleRequests",
	}
}

// armScheduleRequestTarget reads what a PUT of a schedule request, of an
// eligibility or of an active assignment, is checked for first: the
// scope, P2, a GUID request name, a body with properties and a GUID
// principal. The returned failure is already answered.
func (t *Tenant) armScheduleRequestTarget(c *call) (scope armScope, name string, body armScheduleRequestPut, ok bool) {
	if _, scope, ok = t.armBegin(c, armEligibilityVersions()); !ok {
		return scope, "", body, false
	}
	if t.cfg.NoP2 {
		c.armNoP2()
		return scope, "", body, false
	}
	name = c.param("name")
	if !isGUID(name) {
		c.armError(http.StatusBadRequest, "InvalidRoleAssignmentRequestId",
			"The role assignment request ID '"+name+"' is not valid. The role assignment request ID must be a GUID.")
		return scope, name, body, false
	}
	if err := json.Unmarshal(c.body, &body); err != nil || body.Properties == nil {
		c.armBadContent(err)
		return scope, name, body, false
	}
	if !isGUID(body.Properties.PrincipalID) {
		c.armBadPrincipal(body.Properties.PrincipalID)
		return scope, name, body, false
	}
	return scope, name, body, true
}

// putARMEligibilityRequest serves PUT {scope}/providers/Microsoft.Authorization/roleEligibilityScheduleRequests/{name}
// for requestType AdminRemove (201, status Revoked; 400
// RoleAssignmentDoesNotExist when the principal holds no Direct
// eligibility for the role at exactly this scope) and AdminAssign (201,
// status Provisioned; 400 RoleAssignmentExists when it already does). The
// same request name and content again answers 201 with the first answer;
// the name reused for something else is 409 RoleAssignmentRequestExists
// (both *unconfirmed*).
func (t *Tenant) putARMEligibilityRequest(c *call) {
	scope, name, body, ok := t.armScheduleRequestTarget(c)
	if !ok {
		return
	}
	p := body.Properties
	if p.RequestType != "AdminAssign" && p.RequestType != "AdminRemove" {
		c.armError(http.StatusBadRequest, "InvalidRequestType",
			"The request type '"+p.RequestType+"' is not supported; use AdminAssign or AdminRemove.")
		return
	}
	r := armScheduleRequest{
		name:             name,
		principalID:      p.PrincipalID,
		requestType:      p.RequestType,
		justification:    p.Justification,
		condition:        p.Condition,
		conditionVersion: p.ConditionVersion,
		createdOn:        t.cfg.Now(),
		requestor:        t.callerID,
	}
	r.start = r.createdOn
	if si := p.ScheduleInfo; si != nil {
		if si.StartDateTime != nil {
			r.start = *si.StartDateTime
		}
		if si.Expiration != nil && si.Expiration.EndDateTime != nil {
			r.end = *si.Expiration.EndDateTime
		}
	}
	if ti := p.TicketInfo; ti != nil {
		r.ticketNumber, r.ticketSystem = ti.TicketNumber, ti.TicketSystem
	}
	t.mu.Lock()
	answer := t.eligibilityRequestLocked(scope, p.RoleDefinitionID, r)
	t.mu.Unlock()
	c.armAnswer(answer)
}

// eligibilityRequestLocked carries out a schedule request.
func (t *Tenant) eligibilityRequestLocked(scope armScope, roleDefinitionID string, r armScheduleRequest) armAnswer {
	role, ok := t.armRoleLocked(roleDefinitionID)
	if !ok {
		return armRoleMissing(roleDefinitionID)
	}
	r.role = role
	r.scope = canonicalScopeLocked(&t.arm, scope)
	r.roleDefinitionID = ARMRoleDefinitionID(r.scope, role)
	r.id = armChildID(r.scope, armEligibilityRequest, r.name)
	key := strings.ToLower(r.id)
	if old, taken := t.arm.requests[key]; taken {
		if old.requestType == r.requestType && strings.EqualFold(old.principalID, r.principalID) && old.role == role {
			return armAnswer{status: http.StatusCreated, body: old.json()}
		}
		return armAnswer{status: http.StatusConflict, code: "RoleAssignmentRequestExists",
			message: "The role assignment request '" + r.name + "' already exists."}
	}
	// The Direct eligibility the principal holds for the role at exactly
	// this scope, if any.
	var held *ARMEligibilitySchedule
	for _, k := range slices.Sorted(maps.Keys(t.arm.eligibilities)) {
		e := t.arm.eligibilities[k]
		eRole, _ := roleGUID(e.RoleDefinitionID)
		if eRole == role && strings.EqualFold(e.PrincipalID, r.principalID) && e.MemberType == "Direct" &&
			parseARMScope(e.Scope).key() == scope.key() {
			held = &e
			break
		}
	}
	switch {
	case r.requestType == "AdminRemove" && held == nil:
		return armAnswer{status: http.StatusBadRequest, code: "RoleAssignmentDoesNotExist",
			message: "The Role assignment does not exist."}
	case r.requestType == "AdminRemove":
		delete(t.arm.eligibilities, strings.ToLower(held.ID))
		r.status, r.target, r.principalType = "Revoked", held.ID, held.PrincipalType
		r.start, r.end = held.StartDateTime, held.EndDateTime
	case held != nil:
		return armAnswer{status: http.StatusBadRequest, code: "RoleAssignmentExists",
			message: "The Role assignment already exists."}
	default:
		principalType, _ := t.principalTypeLocked(r.principalID)
		e := t.addARMEligibilityLocked(ARMEligibilitySchedule{
			Scope:            r.scope,
			RoleDefinitionID: r.roleDefinitionID,
			PrincipalID:      r.principalID,
			PrincipalType:    principalType,
			StartDateTime:    r.start,
			EndDateTime:      r.end,
			RequestID:        r.id,
			CreatedOn:        r.createdOn,
		})
		r.status, r.target, r.principalType = "Provisioned", e.ID, e.PrincipalType
	}
	t.arm.requests[key] = r
	return armAnswer{status: http.StatusCreated, body: r.json()}
}

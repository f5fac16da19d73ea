package simtenant

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	directoryRolesPath       = "/v1.0/roleManagement/directory"
	eligibilitySchedulesPath = directoryRolesPath + "/roleEligibilitySchedules"
	eligibilityInstancesPath = directoryRolesPath + "/roleEligibilityScheduleInstances"
	eligibilityRequestsPath  = directoryRolesPath + "/roleEligibilityScheduleRequests"
	assignmentRequestsPath   = directoryRolesPath + "/roleAssignmentScheduleRequests"
)

// Error answers of the PIM endpoints. RoleAssignmentDoesNotExist and
// RoleAssignmentExists are PIM's documented codes and messages.
const (
	codeAssignmentMissing    = "RoleAssignmentDoesNotExist"
	messageAssignmentMissing = "The Role assignment does not exist."
	codeAssignmentExists     = "RoleAssignmentExists"
	messageAssignmentExists  = "The Role assignment already exists."
	// pimManagedDeleteMessage answers a plain DELETE of a PIM-made
	// assignment under Config.PIMManagedDeleteRefused (400 BadRequest).
	// A model: what Graph really answers is *unconfirmed*.
	pimManagedDeleteMessage = "The role assignment is managed by Privileged Identity Management; remove it with a roleAssignmentScheduleRequest."
	// messageBadPayload is Graph's answer to a body that is not JSON.
	messageBadPayload = "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
)

// The actions of unifiedRoleScheduleRequestActions; the tenant carries out
// adminAssign and adminRemove and refuses the others.
const (
	actionAssign = "adminAssign"
	actionRemove = "adminRemove"
)

func scheduleRequestActions() []string {
	return []string{"adminAssign", "adminUpdate", "adminRemove", "selfActivate", "selfDeactivate",
		"adminExtend", "adminRenew", "selfExtend", "selfRenew", "unknownFutureValue"}
}

// addGraphPIMRoutes registers PIM for Entra roles (eligibilities and
// schedule requests) and the creation of active role assignments.
func (t *Tenant) addGraphPIMRoutes() {
	t.handle(http.MethodGet, eligibilitySchedulesPath, t.listEligibilities(false))
	t.handle(http.MethodGet, eligibilitySchedulesPath+"/{id}", t.getEligibility(false))
	t.handle(http.MethodGet, eligibilityInstancesPath, t.listEligibilities(true))
	t.handle(http.MethodGet, eligibilityInstancesPath+"/{id}", t.getEligibility(true))
	t.handle(http.MethodPost, eligibilityRequestsPath, t.postEligibilityRequest)
	t.handle(http.MethodPost, assignmentRequestsPath, t.postAssignmentRequest)
	t.handle(http.MethodPost, assignmentsPath, t.createRoleAssignment)
}

// eligibilitySpec is what roleEligibilitySchedules (or, with instances,
// roleEligibilityScheduleInstances) accept: $filter with eq and ne only,
// on three properties.
func eligibilitySpec(instances bool) collectionSpec {
	spec := collectionSpec{
		name:     "roleEligibilitySchedules",
		typeName: "microsoft.graph.unifiedRoleEligibilitySchedule",
		props: []string{"id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId",
			"createdUsing", "createdDateTime", "modifiedDateTime", "status", "memberType", "scheduleInfo"},
		expands: assignmentExpands(),
		filter: filterSyntax{
			ops:   []string{"eq", "ne"},
			props: []string{"principalId", "roleDefinitionId", "directoryScopeId"},
		},
	}
	if instances {
		spec.name = "roleEligibilityScheduleInstances"
		spec.typeName = "microsoft.graph.unifiedRoleEligibilityScheduleInstance"
		spec.props = []string{"id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId",
			"startDateTime", "endDateTime", "memberType", "roleEligibilityScheduleId"}
	}
	return spec
}

// prop returns one filterable property of an eligibility by its Graph name.
func (e EligibilitySchedule) prop(name string) string {
	switch name {
	case "principalId":
		return e.PrincipalID
	case "roleDefinitionId":
		return e.RoleDefinitionID
	case "directoryScopeId":
		return e.DirectoryScopeID
	}
	return ""
}

// listEligibilities serves GET roleEligibilitySchedules and
// roleEligibilityScheduleInstances: filtered, sorted by id, paged with an
// absolute @odata.nextLink. Revoked eligibilities are listed until
// Config.RevokedLinger has passed.
func (t *Tenant) listEligibilities(instances bool) func(*call) {
	spec := eligibilitySpec(instances)
	return func(c *call) {
		lq, err := t.parseListQuery(c, spec, true)
		if err != nil {
			c.queryFailed(err)
			return
		}
		t.mu.Lock()
		t.purgeRevokedLocked()
		ids := t.pim.sortedIDs()
		start, _ := slices.BinarySearch(ids, lq.after)
		if lq.after != "" && start < len(ids) && ids[start] == lq.after {
			start++
		}
		body := listBody{Context: graphContext("roleManagement/directory/" + spec.name), Value: []map[string]any{}}
		last, more := "", false
		for _, id := range ids[start:] {
			e := t.pim.eligibilities[id]
			if !lq.filter.matches(e.prop) {
				continue
			}
			if len(body.Value) == lq.size {
				more = true
				break
			}
			body.Value = append(body.Value, t.eligibilityJSONLocked(e, instances, lq.sel, lq.expand))
			last = id
		}
		t.mu.Unlock()
		if more {
			body.NextLink = nextLink(c.r, t.skipToken(last, lq.tokenKey))
		}
		c.ok(body)
	}
}

// getEligibility serves GET roleEligibilitySchedules/{id} (and instances).
func (t *Tenant) getEligibility(instances bool) func(*call) {
	spec := eligibilitySpec(instances)
	return func(c *call) {
		id := c.param("id")
		lq, err := t.parseListQuery(c, spec, false)
		if err != nil {
			c.queryFailed(err)
			return
		}
		t.mu.Lock()
		t.purgeRevokedLocked()
		e, ok := t.pim.eligibilities[id]
		var body map[string]any
		if ok {
			body = t.eligibilityJSONLocked(e, instances, lq.sel, lq.expand)
		}
		t.mu.Unlock()
		if !ok {
			c.notFound(id)
			return
		}
		body["@odata.context"] = graphContext("roleManagement/directory/" + spec.name + "/$entity")
		c.ok(body)
	}
}

// eligibilityJSONLocked renders an eligibility as a
// unifiedRoleEligibilitySchedule, or as a
// unifiedRoleEligibilityScheduleInstance (flat start and end; the
// instance's id is the schedule's, a simplification).
func (t *Tenant) eligibilityJSONLocked(e EligibilitySchedule, instance bool, sel selection, expand map[string]bool) map[string]any {
	all := map[string]any{
		"id":               e.ID,
		"principalId":      e.PrincipalID,
		"roleDefinitionId": e.RoleDefinitionID,
		"directoryScopeId": nullable(e.DirectoryScopeID),
		"appScopeId":       nullable(e.AppScopeID),
		"memberType":       e.MemberType,
	}
	if instance {
		all["startDateTime"] = graphTime(e.StartDateTime)
		all["endDateTime"] = nil
		if e.EndDateTime != nil {
			all["endDateTime"] = graphTime(*e.EndDateTime)
		}
		all["roleEligibilityScheduleId"] = e.ID
	} else {
		all["createdUsing"] = e.CreatedUsing
		all["createdDateTime"] = graphTime(e.StartDateTime)
		all["modifiedDateTime"] = nil
		all["status"] = e.Status
		all["scheduleInfo"] = scheduleInfoJSON(e.StartDateTime, e.EndDateTime)
	}
	out := pick(all, sel)
	t.expandLocked(out, e.PrincipalID, e.RoleDefinitionID, expand)
	return out
}

// scheduleInfoJSON is a requestSchedule: when it starts and how it ends.
func scheduleInfoJSON(start time.Time, end *time.Time) map[string]any {
	expiration := map[string]any{"type": "noExpiration", "endDateTime": nil, "duration": nil}
	if end != nil {
		expiration["type"] = "afterDateTime"
		expiration["endDateTime"] = graphTime(*end)
	}
	return map[string]any{"startDateTime": graphTime(start), "recurrence": nil, "expiration": expiration}
}

// graphTime formats a time as Graph does: UTC, RFC 3339.
func graphTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// nullable is a string property that is JSON null when empty.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// scheduleRequest is the body of a roleEligibilityScheduleRequest or a
// roleAssignmentScheduleRequest.
type scheduleRequest struct {
	Action           string           `json:"action"`
	PrincipalID      string           `json:"principalId"`
	RoleDefinitionID string           `json:"roleDefinitionId"`
	DirectoryScopeID string           `json:"directoryScopeId"`
	AppScopeID       string           `json:"appScopeId"`
	Justification    string           `json:"justification"`
	IsValidationOnly bool             `json:"isValidationOnly"`
	ScheduleInfo     *requestSchedule `json:"scheduleInfo"`
}

type requestSchedule struct {
	StartDateTime string `json:"startDateTime"`
	Expiration    *struct {
		Type        string `json:"type"`
		EndDateTime string `json:"endDateTime"`
		Duration    string `json:"duration"`
	} `json:"expiration"`
}

// decodeJSON reads the request body into v, or answers 400.
func (c *call) decodeJSON(v any) bool {
	if len(bytes.TrimSpace(c.body)) == 0 || json.Unmarshal(c.body, v) != nil {
		c.badRequest(messageBadPayload)
		return false
	}
	return true
}

// check canonicalises the action and returns the 400 message for a request
// the tenant does not carry out ("" when it is fine).
func (r *scheduleRequest) check() string {
	if r.Action == "" {
		return "The request is missing required property 'action'."
	}
	action, ok := lookupFold(scheduleRequestActions(), r.Action)
	if !ok {
		return "Cannot convert the literal '" + r.Action + "' to the expected type 'microsoft.graph.unifiedRoleScheduleRequestActions'."
	}
	if action != actionAssign && action != actionRemove {
		return "The action '" + action + "' is not supported by the simulated tenant."
	}
	r.Action = action
	switch {
	case r.PrincipalID == "":
		return "The request is missing required property 'principalId'."
	case r.RoleDefinitionID == "":
		return "The request is missing required property 'roleDefinitionId'."
	case r.DirectoryScopeID == "" && r.AppScopeID == "":
		return "The request is missing required property 'directoryScopeId'."
	}
	return ""
}

// matches tells whether an assignment or eligibility is the one a request
// names: same principal, role and scopes (case-insensitively).
func (r *scheduleRequest) matches(principalID, roleID, directoryScopeID, appScopeID string) bool {
	return strings.EqualFold(principalID, r.PrincipalID) &&
		strings.EqualFold(roleID, r.RoleDefinitionID) &&
		strings.EqualFold(directoryScopeID, r.DirectoryScopeID) &&
		strings.EqualFold(appScopeID, r.AppScopeID)
}

// schedule reads scheduleInfo: start (default now) and end (nil: no
// expiry), or a 400 message.
func (r *scheduleRequest) schedule(now time.Time) (time.Time, *time.Time, string) {
	start := now.UTC()
	si := r.ScheduleInfo
	if si == nil {
		return start, nil, ""
	}
	if si.StartDateTime != "" {
		var ok bool
		if start, ok = parseGraphTime(si.StartDateTime); !ok {
			return start, nil, "Invalid value for property 'startDateTime': '" + si.StartDateTime + "'."
		}
	}
	if si.Expiration == nil {
		return start, nil, ""
	}
	switch strings.ToLower(si.Expiration.Type) {
	case "", "noexpiration", "notspecified":
		return start, nil, ""
	case "afterdatetime":
		end, ok := parseGraphTime(si.Expiration.EndDateTime)
		if !ok || !end.After(start) {
			return start, nil, "Invalid value for property 'endDateTime': '" + si.Expiration.EndDateTime + "'."
		}
		return start, &end, ""
	case "afterduration":
		d, ok := parseISODuration(si.Expiration.Duration)
		if !ok || d <= 0 {
			return start, nil, "Invalid value for property 'duration': '" + si.Expiration.Duration + "'."
		}
		end := start.Add(d)
		return start, &end, ""
	}
	return start, nil, "Invalid value for property 'type': '" + si.Expiration.Type + "'."
}

// parseGraphTime reads an RFC 3339 time, also without seconds or zone
// (taken as UTC), as clients write them.
func parseGraphTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseISODuration reads an ISO 8601 duration of weeks, days, hours,
// minutes and seconds (P1W, P365D, PT8H, P1DT12H30M); years and months
// have no fixed length and are refused.
func parseISODuration(s string) (time.Duration, bool) {
	rest, ok := strings.CutPrefix(strings.ToUpper(s), "P")
	if !ok || rest == "" {
		return 0, false
	}
	var d time.Duration
	inTime := false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, false
			}
			inTime, rest = true, rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, false
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, false
		}
		var unit time.Duration
		switch {
		case !inTime && rest[i] == 'W':
			unit = 7 * 24 * time.Hour
		case !inTime && rest[i] == 'D':
			unit = 24 * time.Hour
		case inTime && rest[i] == 'H':
			unit = time.Hour
		case inTime && rest[i] == 'M':
			unit = time.Minute
		case inTime && rest[i] == 'S':
			unit = time.Second
		default:
			return 0, false
		}
		d += time.Duration(n * float64(unit))
		rest = rest[i+1:]
	}
	return d, true
}

// scheduleRequestJSONLocked renders a unifiedRoleEligibilityScheduleRequest
// or unifiedRoleAssignmentScheduleRequest.
func (t *Tenant) scheduleRequestJSONLocked(id, status string, r scheduleRequest, target string, start time.Time, end *time.Time) map[string]any {
	now := graphTime(t.cfg.Now())
	return map[string]any{
		"id":                id,
		"status":            status,
		"action":            r.Action,
		"createdDateTime":   now,
		"completedDateTime": now,
		"approvalId":        nil,
		"customData":        nil,
		"principalId":       r.PrincipalID,
		"roleDefinitionId":  r.RoleDefinitionID,
		"directoryScopeId":  nullable(r.DirectoryScopeID),
		"appScopeId":        nullable(r.AppScopeID),
		"isValidationOnly":  r.IsValidationOnly,
		"targetScheduleId":  target,
		"justification":     nullable(r.Justification),
		"createdBy": map[string]any{
			"application": map[string]any{"id": t.callerAppID, "displayName": "offboard"},
			"device":      nil,
			"user":        nil,
		},
		"scheduleInfo": scheduleInfoJSON(start, end),
		"ticketInfo":   map[string]any{"ticketNumber": nil, "ticketSystem": nil},
	}
}

// requestFailure is a refusal decided under the lock and written after it.
type requestFailure struct {
	status        int
	code, message string
}

func (c *call) fail(f *requestFailure) { c.error(f.status, f.code, f.message) }

// checkTargetsLocked refuses an assignment of a principal or role the
// tenant does not have (404 Request_ResourceNotFound, a model: Graph's
// exact answer is *unconfirmed*).
func (t *Tenant) checkTargetsLocked(principalID, roleID string) *requestFailure {
	notFound := func(id string) *requestFailure {
		return &requestFailure{http.StatusNotFound, "Request_ResourceNotFound",
			"Resource '" + id + "' does not exist or one of its queried reference-property objects are not present."}
	}
	if _, ok := t.objectIDLocked(strings.ToLower(principalID)); !ok {
		return notFound(principalID)
	}
	if _, ok := t.roleDefs[strings.ToLower(roleID)]; !ok {
		return notFound(roleID)
	}
	return nil
}

// postEligibilityRequest serves POST roleEligibilityScheduleRequests:
// adminRemove revokes the matching Direct eligibility (201, status
// Revoked; 400 RoleAssignmentDoesNotExist when there is none), adminAssign
// creates one (201, status Provisioned; 400 RoleAssignmentExists).
func (t *Tenant) postEligibilityRequest(c *call) {
	var r scheduleRequest
	if !c.decodeJSON(&r) {
		return
	}
	if msg := r.check(); msg != "" {
		c.badRequest(msg)
		return
	}
	now := t.cfg.Now()
	t.mu.Lock()
	t.purgeRevokedLocked()
	var target EligibilitySchedule
	found := false
	for _, id := range t.pim.sortedIDs() {
		e := t.pim.eligibilities[id]
		if e.MemberType == MemberTypeDirect && !t.isRevokedLocked(id) &&
			r.matches(e.PrincipalID, e.RoleDefinitionID, e.DirectoryScopeID, e.AppScopeID) {
			target, found = e, true
			break
		}
	}
	var failure *requestFailure
	var body map[string]any
	switch r.Action {
	case actionRemove:
		if !found {
			failure = &requestFailure{http.StatusBadRequest, codeAssignmentMissing, messageAssignmentMissing}
			break
		}
		id := t.requestIDLocked("eligibility", r.Action, r.PrincipalID, r.RoleDefinitionID, r.DirectoryScopeID, r.AppScopeID)
		if !r.IsValidationOnly {
			t.revokeLocked(target.ID)
		}
		body = t.scheduleRequestJSONLocked(id, "Revoked", r, target.ID, target.StartDateTime, target.EndDateTime)
	case actionAssign:
		if failure = t.checkTargetsLocked(r.PrincipalID, r.RoleDefinitionID); failure != nil {
			break
		}
		if found {
			failure = &requestFailure{http.StatusBadRequest, codeAssignmentExists, messageAssignmentExists}
			break
		}
		start, end, msg := r.schedule(now)
		if msg != "" {
			failure = &requestFailure{http.StatusBadRequest, "BadRequest", msg}
			break
		}
		// As in PIM, the schedule a request creates has the request's id.
		id := t.requestIDLocked("eligibility", r.Action, r.PrincipalID, r.RoleDefinitionID, r.DirectoryScopeID, r.AppScopeID)
		if !r.IsValidationOnly {
			t.addEligibilityLocked(EligibilitySchedule{
				ID: id, PrincipalID: r.PrincipalID, RoleDefinitionID: r.RoleDefinitionID,
				DirectoryScopeID: r.DirectoryScopeID, AppScopeID: r.AppScopeID,
				StartDateTime: start, EndDateTime: end, CreatedUsing: id,
			})
		}
		body = t.scheduleRequestJSONLocked(id, "Provisioned", r, id, start, end)
	}
	t.mu.Unlock()
	if failure != nil {
		c.fail(failure)
		return
	}
	body["@odata.context"] = graphContext("roleManagement/directory/roleEligibilityScheduleRequests/$entity")
	c.created(body)
}

// postAssignmentRequest serves POST roleAssignmentScheduleRequests:
// adminRemove removes the matching active assignment, PIM-made or not
// (201, status Revoked; 400 RoleAssignmentDoesNotExist when there is none;
// the caller's own Global Administrator is refused as DELETE refuses it);
// adminAssign creates a PIM-managed one (201, status Provisioned; 400
// RoleAssignmentExists). A ghost counts as gone, and converges.
func (t *Tenant) postAssignmentRequest(c *call) {
	var r scheduleRequest
	if !c.decodeJSON(&r) {
		return
	}
	if msg := r.check(); msg != "" {
		c.badRequest(msg)
		return
	}
	now := t.cfg.Now()
	t.mu.Lock()
	var target RoleAssignment
	found := false
	for _, id := range slices.Clone(t.assignmentIDs) {
		a := t.assignments[id]
		if !r.matches(a.PrincipalID, a.RoleDefinitionID, a.DirectoryScopeID, a.AppScopeID) {
			continue
		}
		if t.ghosts[id] {
			if !r.IsValidationOnly {
				t.removeAssignmentLocked(id)
			}
			continue
		}
		target, found = a, true
		break
	}
	var failure *requestFailure
	var body map[string]any
	switch r.Action {
	case actionRemove:
		switch {
		case !found:
			failure = &requestFailure{http.StatusBadRequest, codeAssignmentMissing, messageAssignmentMissing}
		case t.isSelfGlobalAdminLocked(target):
			failure = &requestFailure{http.StatusBadRequest, "Request_BadRequest", "Removing self from Global Administrator built-in role is not allowed"}
		default:
			id := t.requestIDLocked("assignment", r.Action, r.PrincipalID, r.RoleDefinitionID, r.DirectoryScopeID, r.AppScopeID)
			if !r.IsValidationOnly {
				t.removeAssignmentLocked(target.ID)
			}
			body = t.scheduleRequestJSONLocked(id, "Revoked", r, target.ID, now, nil)
		}
	case actionAssign:
		if failure = t.checkTargetsLocked(r.PrincipalID, r.RoleDefinitionID); failure != nil {
			break
		}
		if found {
			failure = &requestFailure{http.StatusBadRequest, codeAssignmentExists, messageAssignmentExists}
			break
		}
		start, end, msg := r.schedule(now)
		if msg != "" {
			failure = &requestFailure{http.StatusBadRequest, "BadRequest", msg}
			break
		}
		id := t.requestIDLocked("assignment", r.Action, r.PrincipalID, r.RoleDefinitionID, r.DirectoryScopeID, r.AppScopeID)
		targetID := ""
		if !r.IsValidationOnly {
			a := t.addAssignmentLocked(RoleAssignment{
				PrincipalID: r.PrincipalID, RoleDefinitionID: r.RoleDefinitionID,
				DirectoryScopeID: r.DirectoryScopeID, AppScopeID: r.AppScopeID,
			})
			t.pim.managed[a.ID] = true
			targetID = a.ID
		}
		body = t.scheduleRequestJSONLocked(id, "Provisioned", r, targetID, start, end)
	}
	t.mu.Unlock()
	if failure != nil {
		c.fail(failure)
		return
	}
	body["@odata.context"] = graphContext("roleManagement/directory/roleAssignmentScheduleRequests/$entity")
	c.created(body)
}

// createRoleAssignment serves POST roleAssignments: 201 with the new
// unifiedRoleAssignment; 400 RoleAssignmentExists when the principal holds
// the role at that scope already (a model: Graph's exact code for a
// duplicate is *unconfirmed*); 404 for an unknown principal or role.
func (t *Tenant) createRoleAssignment(c *call) {
	var body struct {
		PrincipalID      string `json:"principalId"`
		RoleDefinitionID string `json:"roleDefinitionId"`
		DirectoryScopeID string `json:"directoryScopeId"`
		AppScopeID       string `json:"appScopeId"`
	}
	if !c.decodeJSON(&body) {
		return
	}
	switch {
	case body.PrincipalID == "":
		c.badRequest("The request is missing required property 'principalId'.")
		return
	case body.RoleDefinitionID == "":
		c.badRequest("The request is missing required property 'roleDefinitionId'.")
		return
	case body.DirectoryScopeID == "" && body.AppScopeID == "":
		c.badRequest("Either directoryScopeId or appScopeId must be specified.")
		return
	}
	r := scheduleRequest{PrincipalID: body.PrincipalID, RoleDefinitionID: body.RoleDefinitionID,
		DirectoryScopeID: body.DirectoryScopeID, AppScopeID: body.AppScopeID}
	if r.DirectoryScopeID == "" {
		r.DirectoryScopeID = "/" // what AddRoleAssignment fills in
	}
	t.mu.Lock()
	failure := t.checkTargetsLocked(r.PrincipalID, r.RoleDefinitionID)
	for _, id := range slices.Clone(t.assignmentIDs) {
		if failure != nil {
			break
		}
		a := t.assignments[id]
		if !r.matches(a.PrincipalID, a.RoleDefinitionID, a.DirectoryScopeID, a.AppScopeID) {
			continue
		}
		if t.ghosts[id] {
			t.removeAssignmentLocked(id)
			continue
		}
		failure = &requestFailure{http.StatusBadRequest, codeAssignmentExists, messageAssignmentExists}
	}
	var out map[string]any
	if failure == nil {
		a := t.addAssignmentLocked(RoleAssignment{PrincipalID: r.PrincipalID, RoleDefinitionID: r.RoleDefinitionID,
			DirectoryScopeID: r.DirectoryScopeID, AppScopeID: r.AppScopeID})
		out = t.assignmentJSONLocked(a, nil, nil)
	}
	t.mu.Unlock()
	if failure != nil {
		c.fail(failure)
		return
	}
	out["@odata.context"] = graphContext("roleManagement/directory/roleAssignments/$entity")
	c.created(out)
}

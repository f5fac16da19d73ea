package simtenant

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// postJSON sends a JSON body.
func (h *harness) postJSON(path string, body any, opts ...reqOption) answer {
	h.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.do("POST", path, append([]reqOption{withBody(b), withHeader("Content-Type", "application/json")}, opts...)...)
}

// pimFixture is a user with two Direct eligibilities (one scoped to an
// administrative unit) and a Group-type one through a role-assignable
// group, which itself is eligible.
type pimFixture struct {
	user, other      User
	group            Group
	direct, scoped   EligibilitySchedule
	inherited        EligibilitySchedule
	groupOwn         EligibilitySchedule
	otherEligibility EligibilitySchedule
	unit             string
}

func newPIMFixture(tn *Tenant) pimFixture {
	var f pimFixture
	f.user = tn.AddUser(User{UserPrincipalName: "leaver@contoso.onmicrosoft.com"})
	f.other = tn.AddUser(User{UserPrincipalName: "stays@contoso.onmicrosoft.com"})
	f.group = tn.AddGroup(Group{DisplayName: "Helpdesk Operators", IsAssignableToRole: true})
	f.unit = "/administrativeUnits/" + tn.NewID()
	f.direct = tn.AddEligibility(EligibilitySchedule{PrincipalID: f.user.ID, RoleDefinitionID: UserAdministrator})
	f.scoped = tn.AddEligibility(EligibilitySchedule{PrincipalID: f.user.ID, RoleDefinitionID: HelpdeskAdministrator, DirectoryScopeID: f.unit})
	f.groupOwn = tn.AddEligibility(EligibilitySchedule{PrincipalID: f.group.ID, RoleDefinitionID: GlobalReader})
	if err := tn.AddMember(f.group.ID, f.user.ID); err != nil {
		panic(err)
	}
	f.inherited = tn.AddEligibility(EligibilitySchedule{PrincipalID: f.user.ID, RoleDefinitionID: GlobalReader,
		MemberType: MemberTypeGroup, ViaGroup: f.group.ID})
	f.otherEligibility = tn.AddEligibility(EligibilitySchedule{PrincipalID: f.other.ID, RoleDefinitionID: UserAdministrator})
	return f
}

func TestEligibilityDefaults(t *testing.T) {
	clk := newClock()
	tn := New(Config{Seed: 1, Now: clk.Now})
	e := tn.AddEligibility(EligibilitySchedule{PrincipalID: "p", RoleDefinitionID: UserAdministrator})
	if !isGUID(e.ID) || e.DirectoryScopeID != "/" || e.MemberType != MemberTypeDirect || e.Status != "Provisioned" ||
		!e.StartDateTime.Equal(clk.Now()) || e.CreatedUsing != e.ID || e.EndDateTime != nil {
		t.Fatalf("defaults %+v", e)
	}
	if got, ok := tn.Eligibility(e.ID); !ok || got != e {
		t.Fatalf("Eligibility(%s) = %+v, %v", e.ID, got, ok)
	}
	if !tn.RemoveEligibility(e.ID) || tn.RemoveEligibility(e.ID) || len(tn.Eligibilities()) != 0 {
		t.Fatal("RemoveEligibility")
	}
}

func TestListEligibilitiesFilter(t *testing.T) {
	h := start(t, Config{Seed: 4})
	f := newPIMFixture(h.tenant)
	tests := []struct {
		name   string
		filter string
		status int
		want   []string
	}{
		{"eq principal", fmt.Sprintf("principalId eq '%s'", f.user.ID), 200, []string{f.direct.ID, f.scoped.ID, f.inherited.ID}},
		{"eq upper-case", fmt.Sprintf("principalId eq '%s'", strings.ToUpper(f.other.ID)), 200, []string{f.otherEligibility.ID}},
		{"ne principal", fmt.Sprintf("principalId ne '%s'", f.user.ID), 200, []string{f.groupOwn.ID, f.otherEligibility.ID}},
		{"and role", fmt.Sprintf("principalId eq '%s' and roleDefinitionId eq '%s'", f.user.ID, UserAdministrator), 200, []string{f.direct.ID}},
		{"and scope ne", fmt.Sprintf("principalId eq '%s' and directoryScopeId ne '/'", f.user.ID), 200, []string{f.scoped.ID}},
		{"scope eq", fmt.Sprintf("directoryScopeId eq '%s'", f.unit), 200, []string{f.scoped.ID}},
		{"in refused", fmt.Sprintf("principalId in ('%s')", f.user.ID), 400, nil},
		{"or refused", fmt.Sprintf("principalId eq '%s' or principalId eq '%s'", f.user.ID, f.other.ID), 400, nil},
		{"memberType refused", "memberType eq 'Direct'", 400, nil},
		{"appScopeId refused", "appScopeId eq '/'", 400, nil},
		{"unquoted", "principalId eq x", 400, nil},
	}
	for _, path := range []string{eligibilitySchedulesPath, eligibilityInstancesPath} {
		for _, tt := range tests {
			t.Run(path[strings.LastIndex(path, "/")+1:]+"/"+tt.name, func(t *testing.T) {
				a := h.do("GET", path+"?$filter="+url.QueryEscape(tt.filter))
				if a.status != tt.status {
					t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
				}
				if tt.status == 400 {
					if a.errorCode(t) != "BadRequest" || !strings.HasPrefix(a.errorMessage(t), "Invalid filter clause") {
						t.Fatalf("%s", a.body)
					}
					return
				}
				got := ids(values(t, a))
				want := slices.Clone(tt.want)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("got %v, want %v", got, want)
				}
			})
		}
	}
	if v := h.tenant.Violations(); len(v) != 0 {
		t.Fatalf("violations %v", v)
	}
	h.do("GET", eligibilitySchedulesPath+"?$filter="+url.QueryEscape("principalId ne 'bob'"))
	if v := h.tenant.Violations(); len(v) != 1 || !strings.Contains(v[0], "not a GUID") {
		t.Fatalf("violations %v", v)
	}
}

func TestEligibilityShapes(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Seed: 4, Now: clk.Now})
	end := clk.Now().Add(90 * 24 * time.Hour)
	user := h.tenant.AddUser(User{UserPrincipalName: "u@contoso.onmicrosoft.com"})
	e := h.tenant.AddEligibility(EligibilitySchedule{PrincipalID: user.ID, RoleDefinitionID: UserAdministrator, EndDateTime: &end})
	filter := "?$filter=" + url.QueryEscape("principalId eq '"+user.ID+"'")

	a := h.do("GET", eligibilitySchedulesPath+filter)
	m := a.json(t)
	if m["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleEligibilitySchedules" {
		t.Errorf("context %v", m["@odata.context"])
	}
	item := values(t, a)[0]
	want := map[string]any{
		"id": e.ID, "principalId": user.ID, "roleDefinitionId": UserAdministrator, "directoryScopeId": "/",
		"appScopeId": nil, "memberType": "Direct", "status": "Provisioned", "createdUsing": e.ID,
		"createdDateTime": "2025-03-10T12:00:00Z", "modifiedDateTime": nil,
		"scheduleInfo": map[string]any{"startDateTime": "2025-03-10T12:00:00Z", "recurrence": nil,
			"expiration": map[string]any{"type": "afterDateTime", "endDateTime": "2025-06-08T12:00:00Z", "duration": nil}},
	}
	if fmt.Sprint(item) != fmt.Sprint(want) {
		t.Errorf("schedule\n got %v\nwant %v", item, want)
	}

	inst := values(t, h.do("GET", eligibilityInstancesPath+filter))[0]
	wantInst := map[string]any{
		"id": e.ID, "principalId": user.ID, "roleDefinitionId": UserAdministrator, "directoryScopeId": "/",
		"appScopeId": nil, "memberType": "Direct", "startDateTime": "2025-03-10T12:00:00Z",
		"endDateTime": "2025-06-08T12:00:00Z", "roleEligibilityScheduleId": e.ID,
	}
	if fmt.Sprint(inst) != fmt.Sprint(wantInst) {
		t.Errorf("instance\n got %v\nwant %v", inst, wantInst)
	}

	sel := values(t, h.do("GET", eligibilitySchedulesPath+filter+"&$select=principalId,memberType&$expand=principal"))[0]
	if len(sel) != 4 || sel["memberType"] != "Direct" || sel["principal"].(map[string]any)["@odata.type"] != "#microsoft.graph.user" {
		t.Errorf("$select/$expand gave %v", sel)
	}
	if a := h.do("GET", eligibilitySchedulesPath+"?$select=nope"); a.status != 400 {
		t.Errorf("$select=nope: %d", a.status)
	}
	if a := h.do("GET", eligibilitySchedulesPath+"/"+e.ID); a.status != 200 || a.json(t)["id"] != e.ID {
		t.Errorf("GET by id: %d %s", a.status, a.body)
	}
	if a := h.do("GET", eligibilitySchedulesPath+"/"+h.tenant.NewID()); a.status != 404 || a.errorCode(t) != "Request_ResourceNotFound" {
		t.Errorf("GET unknown: %d %s", a.status, a.body)
	}
	open := h.tenant.AddEligibility(EligibilitySchedule{PrincipalID: user.ID, RoleDefinitionID: GlobalReader})
	got := values(t, h.do("GET", eligibilitySchedulesPath+"?$filter="+url.QueryEscape("roleDefinitionId eq '"+GlobalReader+"'")))[0]
	if exp := got["scheduleInfo"].(map[string]any)["expiration"].(map[string]any); got["id"] != open.ID || exp["type"] != "noExpiration" || exp["endDateTime"] != nil {
		t.Errorf("no expiry: %v", got)
	}
}

func TestListEligibilitiesPaging(t *testing.T) {
	h := start(t, Config{Seed: 5})
	var want []string
	for range 23 {
		want = append(want, h.tenant.AddEligibility(EligibilitySchedule{PrincipalID: h.tenant.NewID(), RoleDefinitionID: SecurityReader}).ID)
	}
	h.tenant.AddEligibility(EligibilitySchedule{PrincipalID: h.tenant.NewID(), RoleDefinitionID: GlobalReader})
	slices.Sort(want)
	filter := url.QueryEscape("roleDefinitionId eq '" + SecurityReader + "'")
	var got []string
	next := h.server.URL() + eligibilitySchedulesPath + "?$filter=" + filter + "&$top=10"
	pages := 0
	for next != "" {
		a := h.do("GET", next)
		if a.status != 200 {
			t.Fatalf("%s: %d %s", next, a.status, a.body)
		}
		pages++
		got = append(got, ids(values(t, a))...)
		next, _ = a.json(t)["@odata.nextLink"].(string)
		if next != "" && (!strings.HasPrefix(next, h.server.URL()+eligibilitySchedulesPath+"?") || !strings.Contains(next, "$filter="+filter)) {
			t.Fatalf("nextLink %q", next)
		}
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("%d pages, got %v", pages, got)
	}
	// A token of one collection is not taken by another.
	a := h.do("GET", assignmentsPath+"?$top=1")
	if link, ok := a.json(t)["@odata.nextLink"].(string); ok {
		u, _ := url.Parse(link)
		if b := h.do("GET", eligibilitySchedulesPath+"?$skiptoken="+url.QueryEscape(u.Query().Get("$skiptoken"))); b.status != 400 {
			t.Fatalf("foreign skiptoken: %d", b.status)
		}
	}
}

func removeBody(principal, role, scope string) map[string]any {
	return map[string]any{"action": "adminRemove", "principalId": principal, "roleDefinitionId": role,
		"directoryScopeId": scope, "justification": "Offboarding HR-12345"}
}

func TestEligibilityAdminRemove(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Seed: 6, Now: clk.Now})
	f := newPIMFixture(h.tenant)

	a := h.postJSON(eligibilityRequestsPath, removeBody(f.user.ID, UserAdministrator, "/"))
	if a.status != 201 {
		t.Fatalf("adminRemove: %d %s", a.status, a.body)
	}
	m := a.json(t)
	for k, v := range map[string]any{
		"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleEligibilityScheduleRequests/$entity",
		"action":         "adminRemove", "status": "Revoked", "principalId": f.user.ID, "roleDefinitionId": UserAdministrator,
		"directoryScopeId": "/", "justification": "Offboarding HR-12345", "targetScheduleId": f.direct.ID,
		"createdDateTime": "2025-03-10T12:00:00Z", "isValidationOnly": false,
	} {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if id, _ := m["id"].(string); !isGUID(id) {
		t.Errorf("request id %v", m["id"])
	}
	if _, ok := h.tenant.Eligibility(f.direct.ID); ok {
		t.Fatal("the eligibility is still there")
	}
	if _, ok := h.tenant.Eligibility(f.scoped.ID); !ok {
		t.Fatal("the scoped eligibility went too")
	}

	tests := []struct {
		name   string
		body   any
		raw    string
		status int
		code   string
	}{
		{"again", removeBody(f.user.ID, UserAdministrator, "/"), "", 400, "RoleAssignmentDoesNotExist"},
		{"wrong scope", removeBody(f.user.ID, HelpdeskAdministrator, "/"), "", 400, "RoleAssignmentDoesNotExist"},
		{"group-type is not the principal's", removeBody(f.user.ID, GlobalReader, "/"), "", 400, "RoleAssignmentDoesNotExist"},
		{"unknown principal", removeBody(h.tenant.NewID(), UserAdministrator, "/"), "", 400, "RoleAssignmentDoesNotExist"},
		{"missing principal", map[string]any{"action": "adminRemove", "roleDefinitionId": UserAdministrator, "directoryScopeId": "/"}, "", 400, "BadRequest"},
		{"missing role", map[string]any{"action": "adminRemove", "principalId": f.user.ID, "directoryScopeId": "/"}, "", 400, "BadRequest"},
		{"missing scope", map[string]any{"action": "adminRemove", "principalId": f.user.ID, "roleDefinitionId": UserAdministrator}, "", 400, "BadRequest"},
		{"missing action", map[string]any{"principalId": f.user.ID, "roleDefinitionId": UserAdministrator, "directoryScopeId": "/"}, "", 400, "BadRequest"},
		{"unknown action", map[string]any{"action": "delete", "principalId": f.user.ID, "roleDefinitionId": UserAdministrator, "directoryScopeId": "/"}, "", 400, "BadRequest"},
		{"unmodelled action", map[string]any{"action": "selfActivate", "principalId": f.user.ID, "roleDefinitionId": UserAdministrator, "directoryScopeId": "/"}, "", 400, "BadRequest"},
		{"not JSON", nil, "action=adminRemove", 400, "BadRequest"},
		{"empty", nil, " ", 400, "BadRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a answer
			if tt.raw != "" {
				a = h.do("POST", eligibilityRequestsPath, withBody([]byte(tt.raw)))
			} else {
				a = h.postJSON(eligibilityRequestsPath, tt.body)
			}
			if a.status != tt.status || a.errorCode(t) != tt.code {
				t.Fatalf("%d %s", a.status, a.body)
			}
			if tt.code == "RoleAssignmentDoesNotExist" && a.errorMessage(t) != "The Role assignment does not exist." {
				t.Fatalf("message %q", a.errorMessage(t))
			}
		})
	}

	t.Run("gzip, case-insensitive ids", func(t *testing.T) {
		b, _ := json.Marshal(removeBody(strings.ToUpper(f.user.ID), HelpdeskAdministrator, f.unit))
		a := h.do("POST", eligibilityRequestsPath, withHeader("Content-Encoding", "gzip"), withBody(gzipped(t, string(b))))
		if a.status != 201 || a.json(t)["targetScheduleId"] != f.scoped.ID {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("validation only changes nothing", func(t *testing.T) {
		body := removeBody(f.other.ID, UserAdministrator, "/")
		body["isValidationOnly"] = true
		if a := h.postJSON(eligibilityRequestsPath, body); a.status != 201 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		if _, ok := h.tenant.Eligibility(f.otherEligibility.ID); !ok {
			t.Fatal("removed")
		}
	})
	left := h.tenant.EligibilitiesOf(f.user.ID)
	if len(left) != 1 || left[0].ID != f.inherited.ID {
		t.Fatalf("left %v", left)
	}
}

func TestEligibilityRevokedLinger(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Seed: 7, Now: clk.Now, RevokedLinger: 5 * time.Minute})
	f := newPIMFixture(h.tenant)
	listed := func() []string {
		return ids(values(t, h.do("GET", eligibilitySchedulesPath+"?$filter="+url.QueryEscape("principalId eq '"+f.user.ID+"'"))))
	}
	if a := h.postJSON(eligibilityRequestsPath, removeBody(f.user.ID, UserAdministrator, "/")); a.status != 201 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if !slices.Contains(listed(), f.direct.ID) {
		t.Fatal("a revoked schedule left the listing before the linger passed")
	}
	if _, ok := h.tenant.Eligibility(f.direct.ID); ok {
		t.Fatal("a revoked schedule is live for the Go API")
	}
	if slices.ContainsFunc(h.tenant.Eligibilities(), func(e EligibilitySchedule) bool { return e.ID == f.direct.ID }) {
		t.Fatal("Eligibilities lists a revoked schedule")
	}
	a := h.postJSON(eligibilityRequestsPath, removeBody(f.user.ID, UserAdministrator, "/"))
	if a.status != 400 || a.errorCode(t) != "RoleAssignmentDoesNotExist" {
		t.Fatalf("second adminRemove while lingering: %d %s", a.status, a.body)
	}
	clk.Advance(5*time.Minute - time.Second)
	if !slices.Contains(listed(), f.direct.ID) {
		t.Fatal("gone too early")
	}
	clk.Advance(time.Second)
	if slices.Contains(listed(), f.direct.ID) {
		t.Fatal("still listed after the linger")
	}
}

func TestEligibilityAdminAssign(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Seed: 8, Now: clk.Now})
	f := newPIMFixture(h.tenant)
	assign := func(principal, role string, schedule any) answer {
		body := map[string]any{"action": "adminAssign", "principalId": principal, "roleDefinitionId": role,
			"directoryScopeId": "/", "justification": "restore"}
		if schedule != nil {
			body["scheduleInfo"] = schedule
		}
		return h.postJSON(eligibilityRequestsPath, body)
	}

	a := assign(f.user.ID, GroupsAdministrator, map[string]any{"startDateTime": "2025-03-10T12:00Z",
		"expiration": map[string]any{"type": "afterDateTime", "endDateTime": "2025-09-10T12:00:00Z"}})
	if a.status != 201 {
		t.Fatalf("adminAssign: %d %s", a.status, a.body)
	}
	m := a.json(t)
	id, _ := m["id"].(string)
	if m["status"] != "Provisioned" || m["action"] != "adminAssign" || m["targetScheduleId"] != id {
		t.Fatalf("%s", a.body)
	}
	e, ok := h.tenant.Eligibility(id)
	if !ok || e.MemberType != MemberTypeDirect || e.PrincipalID != f.user.ID || e.EndDateTime == nil ||
		!e.EndDateTime.Equal(time.Date(2025, 9, 10, 12, 0, 0, 0, time.UTC)) || e.CreatedUsing != id {
		t.Fatalf("created %+v", e)
	}
	if a := assign(f.user.ID, GroupsAdministrator, nil); a.status != 400 || a.errorCode(t) != "RoleAssignmentExists" ||
		a.errorMessage(t) != "The Role assignment already exists." {
		t.Fatalf("again: %d %s", a.status, a.body)
	}
	// The user is eligible for Global Reader through the group only: a
	// Direct one can be added next to it.
	if a := assign(f.user.ID, GlobalReader, map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P30DT12H"}}); a.status != 201 {
		t.Fatalf("beside a group-type one: %d %s", a.status, a.body)
	}
	var gr EligibilitySchedule
	for _, e := range h.tenant.EligibilitiesOf(f.user.ID) {
		if e.RoleDefinitionID == GlobalReader && e.MemberType == MemberTypeDirect {
			gr = e
		}
	}
	if gr.EndDateTime == nil || gr.EndDateTime.Sub(gr.StartDateTime) != 30*24*time.Hour+12*time.Hour {
		t.Fatalf("afterDuration: %+v", gr)
	}
	for name, tc := range map[string]struct {
		principal, role string
		schedule        any
		status          int
		code            string
	}{
		"unknown principal": {h.tenant.NewID(), UserAdministrator, nil, 404, "Request_ResourceNotFound"},
		"unknown role":      {f.other.ID, h.tenant.NewID(), nil, 404, "Request_ResourceNotFound"},
		"end before start":  {f.other.ID, SecurityReader, map[string]any{"expiration": map[string]any{"type": "afterDateTime", "endDateTime": "2020-01-01T00:00:00Z"}}, 400, "BadRequest"},
		"bad duration":      {f.other.ID, SecurityReader, map[string]any{"expiration": map[string]any{"type": "afterDuration", "duration": "P1Y"}}, 400, "BadRequest"},
		"bad type":          {f.other.ID, SecurityReader, map[string]any{"expiration": map[string]any{"type": "sometime"}}, 400, "BadRequest"},
	} {
		if a := assign(tc.principal, tc.role, tc.schedule); a.status != tc.status || a.errorCode(t) != tc.code {
			t.Errorf("%s: %d %s", name, a.status, a.body)
		}
	}
	// Remove, then restore: the restore is accepted again.
	if a := h.postJSON(eligibilityRequestsPath, removeBody(f.user.ID, GroupsAdministrator, "/")); a.status != 201 {
		t.Fatalf("remove: %d %s", a.status, a.body)
	}
	if a := assign(f.user.ID, GroupsAdministrator, nil); a.status != 201 || a.json(t)["id"] == id {
		t.Fatalf("restore: %d %s", a.status, a.body)
	}
}

func TestParseISODuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT8H", 8 * time.Hour, true},
		{"P365D", 365 * 24 * time.Hour, true},
		{"P1W", 7 * 24 * time.Hour, true},
		{"P1DT2H30M15S", 26*time.Hour + 30*time.Minute + 15*time.Second, true},
		{"PT0.5H", 30 * time.Minute, true},
		{"P1Y", 0, false},
		{"P1M", 0, false},
		{"PT", 0, true},
		{"P", 0, false},
		{"8H", 0, false},
		{"PT8", 0, false},
		{"PTT8H", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseISODuration(tt.in)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("parseISODuration(%q) = %v, %v", tt.in, got, ok)
		}
	}
}

func TestAssignmentScheduleRequests(t *testing.T) {
	h := start(t, Config{Seed: 9})
	tn := h.tenant
	user := tn.AddUser(User{UserPrincipalName: "u@contoso.onmicrosoft.com"})
	plain := tn.AddRoleAssignment(RoleAssignment{PrincipalID: user.ID, RoleDefinitionID: UserAdministrator})
	managed := tn.AddRoleAssignment(RoleAssignment{PrincipalID: user.ID, RoleDefinitionID: SecurityReader})
	tn.MarkPIMManaged(managed.ID)
	ghost := tn.AddRoleAssignment(RoleAssignment{PrincipalID: user.ID, RoleDefinitionID: GlobalReader})
	tn.MarkGhost(ghost.ID)
	selfGA := tn.AddRoleAssignment(RoleAssignment{PrincipalID: tn.CallerID(), RoleDefinitionID: GlobalAdministrator})

	tests := []struct {
		name   string
		body   map[string]any
		status int
		code   string
		target string
	}{
		{"plain", removeBody(user.ID, UserAdministrator, "/"), 201, "", plain.ID},
		{"plain again", removeBody(user.ID, UserAdministrator, "/"), 400, "RoleAssignmentDoesNotExist", ""},
		{"PIM-managed", removeBody(user.ID, SecurityReader, "/"), 201, "", managed.ID},
		{"ghost", removeBody(user.ID, GlobalReader, "/"), 400, "RoleAssignmentDoesNotExist", ""},
		{"self GA", removeBody(tn.CallerID(), GlobalAdministrator, "/"), 400, "Request_BadRequest", ""},
		{"other scope", removeBody(user.ID, HelpdeskAdministrator, "/administrativeUnits/x"), 400, "RoleAssignmentDoesNotExist", ""},
	}
	for _, tt := range tests {
		a := h.postJSON(assignmentRequestsPath, tt.body)
		if a.status != tt.status {
			t.Fatalf("%s: %d %s", tt.name, a.status, a.body)
		}
		if tt.code != "" {
			if a.errorCode(t) != tt.code {
				t.Fatalf("%s: %s", tt.name, a.body)
			}
			continue
		}
		m := a.json(t)
		if m["status"] != "Revoked" || m["action"] != "adminRemove" || m["targetScheduleId"] != tt.target ||
			m["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignmentScheduleRequests/$entity" {
			t.Fatalf("%s: %s", tt.name, a.body)
		}
	}
	if left := tn.RoleAssignmentsOf(user.ID); len(left) != 0 {
		t.Fatalf("left %v (the ghost should have converged)", left)
	}
	if tn.IsPIMManaged(managed.ID) {
		t.Fatal("the PIM mark outlived its assignment")
	}
	if _, ok := tn.RoleAssignment(selfGA.ID); !ok {
		t.Fatal("self GA removed")
	}

	a := h.postJSON(assignmentRequestsPath, map[string]any{"action": "adminAssign", "principalId": user.ID,
		"roleDefinitionId": UserAdministrator, "directoryScopeId": "/", "justification": "restore"})
	if a.status != 201 || a.json(t)["status"] != "Provisioned" {
		t.Fatalf("adminAssign: %d %s", a.status, a.body)
	}
	held := tn.RoleAssignmentsOf(user.ID)
	if len(held) != 1 || !tn.IsPIMManaged(held[0].ID) || a.json(t)["targetScheduleId"] != held[0].ID {
		t.Fatalf("held %v", held)
	}
	a = h.postJSON(assignmentRequestsPath, map[string]any{"action": "adminAssign", "principalId": user.ID,
		"roleDefinitionId": UserAdministrator, "directoryScopeId": "/"})
	if a.status != 400 || a.errorCode(t) != "RoleAssignmentExists" {
		t.Fatalf("adminAssign again: %d %s", a.status, a.body)
	}
}

func TestPIMManagedDelete(t *testing.T) {
	for _, refused := range []bool{false, true} {
		t.Run(fmt.Sprint(refused), func(t *testing.T) {
			h := start(t, Config{Seed: 10, PIMManagedDeleteRefused: refused})
			tn := h.tenant
			user := tn.AddUser(User{UserPrincipalName: "u@contoso.onmicrosoft.com"})
			managed := tn.AddRoleAssignment(RoleAssignment{PrincipalID: user.ID, RoleDefinitionID: UserAdministrator})
			plain := tn.AddRoleAssignment(RoleAssignment{PrincipalID: user.ID, RoleDefinitionID: SecurityReader})
			if !tn.MarkPIMManaged(managed.ID) || tn.MarkPIMManaged("nope-1") || tn.IsPIMManaged(plain.ID) {
				t.Fatal("MarkPIMManaged")
			}
			if a := h.do("DELETE", assignmentsPath+"/"+plain.ID); a.status != 204 {
				t.Fatalf("plain: %d", a.status)
			}
			a := h.do("DELETE", assignmentsPath+"/"+managed.ID)
			if !refused {
				if a.status != 204 {
					t.Fatalf("managed, option off: %d %s", a.status, a.body)
				}
				return
			}
			if a.status != 400 || a.errorCode(t) != "BadRequest" || !strings.Contains(a.errorMessage(t), "roleAssignmentScheduleRequest") {
				t.Fatalf("managed, option on: %d %s", a.status, a.body)
			}
			if _, ok := tn.RoleAssignment(managed.ID); !ok {
				t.Fatal("removed anyway")
			}
			if a := h.postJSON(assignmentRequestsPath, removeBody(user.ID, UserAdministrator, "/")); a.status != 201 {
				t.Fatalf("adminRemove: %d %s", a.status, a.body)
			}
			if len(tn.RoleAssignmentsOf(user.ID)) != 0 {
				t.Fatal("still held")
			}
		})
	}
}

func TestCreateRoleAssignment(t *testing.T) {
	h := start(t, Config{Seed: 11})
	tn := h.tenant
	user := tn.AddUser(User{UserPrincipalName: "u@contoso.onmicrosoft.com"})
	group := tn.AddGroup(Group{DisplayName: "Tier0", IsAssignableToRole: true})
	body := map[string]any{"@odata.type": "#microsoft.graph.unifiedRoleAssignment", "principalId": user.ID,
		"roleDefinitionId": UserAdministrator, "directoryScopeId": "/"}
	a := h.postJSON(assignmentsPath, body)
	if a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	m := a.json(t)
	want := assignmentIDBase(UserAdministrator, user.ID) + "-1"
	if m["id"] != want || m["principalId"] != user.ID || m["directoryScopeId"] != "/" || m["appScopeId"] != nil ||
		m["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments/$entity" {
		t.Fatalf("%s", a.body)
	}
	if _, ok := tn.RoleAssignment(want); !ok || tn.IsPIMManaged(want) {
		t.Fatal("not created, or marked PIM-managed")
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"exists", body, 400, "RoleAssignmentExists"},
		{"exists, other case", map[string]any{"principalId": strings.ToUpper(user.ID), "roleDefinitionId": UserAdministrator, "directoryScopeId": "/"}, 400, "RoleAssignmentExists"},
		{"other scope", map[string]any{"principalId": user.ID, "roleDefinitionId": UserAdministrator, "directoryScopeId": "/administrativeUnits/" + tn.NewID()}, 201, ""},
		{"group principal", map[string]any{"principalId": group.ID, "roleDefinitionId": GlobalAdministrator, "directoryScopeId": "/"}, 201, ""},
		{"unknown principal", map[string]any{"principalId": tn.NewID(), "roleDefinitionId": UserAdministrator, "directoryScopeId": "/"}, 404, "Request_ResourceNotFound"},
		{"unknown role", map[string]any{"principalId": user.ID, "roleDefinitionId": tn.NewID(), "directoryScopeId": "/"}, 404, "Request_ResourceNotFound"},
		{"no principal", map[string]any{"roleDefinitionId": UserAdministrator, "directoryScopeId": "/"}, 400, "BadRequest"},
		{"no scope", map[string]any{"principalId": user.ID, "roleDefinitionId": SecurityReader}, 400, "BadRequest"},
	}
	for _, tt := range tests {
		a := h.postJSON(assignmentsPath, tt.body)
		if a.status != tt.status || tt.code != "" && a.errorCode(t) != tt.code {
			t.Errorf("%s: %d %s", tt.name, a.status, a.body)
		}
	}
	// A ghost with the same triple counts as gone.
	ghost := tn.AddRoleAssignment(RoleAssignment{PrincipalID: user.ID, RoleDefinitionID: SecurityReader})
	tn.MarkGhost(ghost.ID)
	a = h.postJSON(assignmentsPath, map[string]any{"principalId": user.ID, "roleDefinitionId": SecurityReader, "directoryScopeId": "/"})
	if a.status != 201 || tn.IsGhost(ghost.ID) {
		t.Fatalf("over a ghost: %d %s", a.status, a.body)
	}
}

// TestExpandPrincipalGroup: a Global Administrator held through a
// role-assignable group expands to the group, with its type.
func TestExpandPrincipalGroup(t *testing.T) {
	h := start(t, Config{Seed: 12})
	group := h.tenant.AddGroup(Group{DisplayName: "Tier0 Admins", IsAssignableToRole: true})
	h.tenant.AddRoleAssignment(RoleAssignment{PrincipalID: group.ID, RoleDefinitionID: GlobalAdministrator})
	a := h.do("GET", assignmentsPath+"?$filter="+url.QueryEscape("roleDefinitionId eq '"+GlobalAdministrator+"'")+"&$expand=principal")
	items := values(t, a)
	if len(items) != 1 {
		t.Fatalf("%s", a.body)
	}
	p := items[0]["principal"].(map[string]any)
	if p["@odata.type"] != "#microsoft.graph.group" || p["id"] != group.ID || p["isAssignableToRole"] != true {
		t.Fatalf("principal %v", p)
	}
}

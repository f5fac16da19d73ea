package simtenant

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

const v2022 = "?api-version=2022-04-01"

func TestARMGetAndDelete(t *testing.T) {
	e := newARMEstate(t, Config{})
	tn := e.h.tenant

	a := e.h.do("GET", e.atRG1+v2022)
	if a.status != 200 || a.json(t)["id"] != e.atRG1 {
		t.Fatalf("GET: %d %s", a.status, a.body)
	}
	got := e.h.do("GET", strings.ToUpper(e.atRG1)+v2022)
	if got.status != 200 || got.json(t)["id"] != e.atRG1 {
		t.Fatalf("GET in upper case: %d %s (ARM ids are case-insensitive)", got.status, got.body)
	}

	del := e.h.do("DELETE", e.atRG1+v2022)
	if del.status != 200 || string(del.body) != string(a.body) {
		t.Fatalf("DELETE: %d %s, want 200 with the assignment", del.status, del.body)
	}
	if _, ok := tn.ARMRoleAssignment(e.atRG1); ok {
		t.Fatal("still there after DELETE")
	}
	again := e.h.do("DELETE", e.atRG1+v2022)
	if again.status != 204 || len(again.body) != 0 {
		t.Fatalf("DELETE again: %d %q, want 204 without a body", again.status, again.body)
	}
	never := e.rg1 + armRoleAssignments + "/" + armPeer
	if a := e.h.do("DELETE", never+v2022); a.status != 204 {
		t.Fatalf("DELETE of one that never existed: %d", a.status)
	}
	a = e.h.do("GET", e.atRG1+v2022)
	name := e.atRG1[strings.LastIndex(e.atRG1, "/")+1:]
	if a.status != 404 || a.errorCode(t) != "RoleAssignmentNotFound" ||
		a.errorMessage(t) != "The role assignment '"+name+"' is not found." {
		t.Fatalf("GET after DELETE: %d %s", a.status, a.body)
	}

	// The management group assignment, by its own id.
	if a := e.h.do("DELETE", e.atMG+v2022); a.status != 200 {
		t.Fatalf("DELETE at a management group: %d %s", a.status, a.body)
	}
	if a := e.h.do("DELETE", e.atMG+v2022); a.status != 204 {
		t.Fatalf("DELETE at a management group again: %d", a.status)
	}

	for _, tt := range []struct {
		path, code string
		status     int
	}{
		{e.s1 + armRoleAssignments + "/not-a-guid", "InvalidRoleAssignmentId", 400},
		{"/subscriptions/" + armPeer + armRoleAssignments + "/" + armPeer, "SubscriptionNotFound", 404},
		{e.s1 + "/resourceGroups/nope" + armRoleAssignments + "/" + armPeer, "ResourceGroupNotFound", 404},
		{ManagementGroupScope("nope") + armRoleAssignments + "/" + armPeer, "ManagementGroupNotFound", 404},
	} {
		if a := e.h.do("DELETE", tt.path+v2022); a.status != tt.status || a.errorCode(t) != tt.code {
			t.Errorf("DELETE %s: %d %s", tt.path, a.status, a.body)
		}
	}
	if n := len(tn.ARMRoleAssignments()); n != 6 {
		t.Fatalf("%d assignments left, want 6", n)
	}
}

func putBody(role, principal, principalType string) []byte {
	props := map[string]any{"roleDefinitionId": role, "principalId": principal}
	if principalType != "" {
		props["principalType"] = principalType
	}
	b, _ := json.Marshal(map[string]any{"properties": props})
	return b
}

func TestARMPut(t *testing.T) {
	e := newARMEstate(t, Config{})
	tn := e.h.tenant
	user := tn.AddUser(User{UserPrincipalName: "new@contoso.onmicrosoft.com"})
	group := tn.AddGroup(Group{DisplayName: "Ops"})
	name := "0b5c3a8e-5d2f-4c1e-9a7b-3f6d2e1c0b9a"
	reader := ARMRoleDefinitionID(e.s1, ARMReader)
	path := e.rg1 + armRoleAssignments + "/" + name

	a := e.h.do("PUT", path+v2022, withBody(putBody(reader, user.ID, "")))
	if a.status != 201 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	created := a.json(t)
	props := created["properties"].(map[string]any)
	if created["id"] != path || created["name"] != name || props["scope"] != e.rg1 ||
		props["principalType"] != "User" || props["roleDefinitionId"] != reader {
		t.Fatalf("created %s", a.body)
	}
	if got, ok := tn.ARMRoleAssignment(path); !ok || got.PrincipalID != user.ID {
		t.Fatalf("not stored: %+v", got)
	}

	if a := e.h.do("PUT", path+v2022, withBody(putBody(reader, user.ID, "User"))); a.status != 200 {
		t.Fatalf("same again: %d %s, want 200", a.status, a.body)
	}
	other := e.rg1 + armRoleAssignments + "/1b5c3a8e-5d2f-4c1e-9a7b-3f6d2e1c0b9a"
	a = e.h.do("PUT", other+v2022, withBody(putBody(reader, user.ID, "User")))
	if a.status != 409 || a.errorCode(t) != "RoleAssignmentExists" || a.errorMessage(t) != "The role assignment already exists." {
		t.Fatalf("same role and principal under another name: %d %s", a.status, a.body)
	}
	// The same role and principal at another scope is another assignment.
	if a := e.h.do("PUT", e.s1+armRoleAssignments+"/1b5c3a8e-5d2f-4c1e-9a7b-3f6d2e1c0b9a"+v2022,
		withBody(putBody(reader, user.ID, "User"))); a.status != 201 {
		t.Fatalf("at the subscription: %d %s", a.status, a.body)
	}

	bare := "/providers/Microsoft.Authorization/roleDefinitions/" + ARMContributor
	tests := []struct {
		name, path string
		body       []byte
		status     int
		code       string
	}{
		{"name taken by another role", path, putBody(bare, user.ID, ""), 400, "RoleAssignmentUpdateNotPermitted"},
		{"unknown role", other, putBody(ARMRoleDefinitionID(e.s1, armPeer), user.ID, ""), 400, "RoleDefinitionDoesNotExist"},
		{"not a role id", other, putBody("Reader", user.ID, ""), 400, "RoleDefinitionDoesNotExist"},
		{"principal not a GUID", other, putBody(reader, "bob", "User"), 400, "InvalidPrincipalId"},
		{"principal not in the directory", other, putBody(reader, armPeer, ""), 400, "PrincipalNotFound"},
		{"bad principalType", other, putBody(reader, user.ID, "Robot"), 400, "InvalidRequestContent"},
		{"not JSON", other, []byte("{"), 400, "InvalidRequestContent"},
		{"no properties", other, []byte("{}"), 400, "InvalidRequestContent"},
		{"name not a GUID", e.rg1 + armRoleAssignments + "/x", putBody(reader, user.ID, ""), 400, "InvalidRoleAssignmentId"},
		{"unknown resource group", e.s1 + "/resourceGroups/none" + armRoleAssignments + "/" + name, putBody(reader, user.ID, ""), 404, "ResourceGroupNotFound"},
	}
	for _, tt := range tests {
		if a := e.h.do("PUT", tt.path+v2022, withBody(tt.body)); a.status != tt.status || a.errorCode(t) != tt.code {
			t.Errorf("%s: %d %s", tt.name, a.status, a.body)
		}
	}

	// An orphan can be made by naming its type; a group's type is found.
	orphan := e.s2 + armRoleAssignments + "/2b5c3a8e-5d2f-4c1e-9a7b-3f6d2e1c0b9a"
	if a := e.h.do("PUT", orphan+v2022, withBody(putBody(ARMRoleDefinitionID(e.s2, ARMReader), armPeer, "ServicePrincipal"))); a.status != 201 {
		t.Fatalf("orphan: %d %s", a.status, a.body)
	}
	mg := e.mg + armRoleAssignments + "/3b5c3a8e-5d2f-4c1e-9a7b-3f6d2e1c0b9a"
	a = e.h.do("PUT", mg+v2022, withBody(putBody(bare, group.ID, "")))
	if a.status != 201 {
		t.Fatalf("at a management group: %d %s", a.status, a.body)
	}
	if p := a.json(t)["properties"].(map[string]any); p["principalType"] != "Group" || p["roleDefinitionId"] != bare {
		t.Fatalf("at a management group: %s", a.body)
	}
}

func TestARMAPIVersion(t *testing.T) {
	e := newARMEstate(t, Config{})
	put := withBody(putBody(ARMRoleDefinitionID(e.s1, ARMReader), armPeer, "User"))
	request := e.s1 + armEligibilityRequest + "/4b5c3a8e-5d2f-4c1e-9a7b-3f6d2e1c0b9a"
	tests := []struct {
		method, path, good string
		opts               []reqOption
	}{
		{"GET", e.s1 + armRoleAssignments, "2022-04-01", nil},
		{"GET", e.atS1, "2020-04-01-preview", nil},
		{"DELETE", e.atS1, "2022-04-01", nil},
		{"PUT", e.s1 + armRoleAssignments + "/4b5c3a8e-5d2f-4c1e-9a7b-3f6d2e1c0b9a", "2022-04-01", []reqOption{put}},
		{"GET", e.s1 + armEligibilities, "2020-10-01", nil},
		{"PUT", request, "2020-10-01", []reqOption{withBody([]byte(`{"properties":{}}`))}},
		{"GET", "/subscriptions", "2022-12-01", nil},
		{"GET", e.s1, "2020-01-01", nil},
		{"GET", e.s1 + "/resourceGroups", "2022-04-01", nil},
	}
	for _, tt := range tests {
		a := e.h.do(tt.method, tt.path, tt.opts...)
		if a.status != 400 || a.errorCode(t) != "MissingApiVersionParameter" ||
			a.errorMessage(t) != "The api-version query parameter (?api-version=) is required for all requests." {
			t.Errorf("%s %s without api-version: %d %s", tt.method, tt.path, a.status, a.body)
		}
		if tt.path == e.s1+"/resourceGroups" {
			continue // no such route: it has no versions to refuse
		}
		a = e.h.do(tt.method, tt.path+"?api-version=1999-01-01", tt.opts...)
		if a.status != 400 || a.errorCode(t) != "InvalidApiVersionParameter" {
			t.Errorf("%s %s with an unknown version: %d %s", tt.method, tt.path, a.status, a.body)
		}
	}
	// Nothing changed, and a good version works.
	if _, ok := e.h.tenant.ARMRoleAssignment(e.atS1); !ok {
		t.Fatal("a refused DELETE removed the assignment")
	}
	if a := e.h.do("DELETE", e.atS1+"?api-version=2022-04-01"); a.status != 200 {
		t.Fatalf("DELETE: %d %s", a.status, a.body)
	}
}

func TestARMAuthentication(t *testing.T) {
	e := newARMEstate(t, Config{})
	path := e.s1 + armRoleAssignments + v2022
	a := e.h.do("GET", path, noAuth())
	if a.status != 401 || a.errorCode(t) != "AuthenticationFailed" ||
		a.errorMessage(t) != "Authentication failed. The 'Authorization' header is missing." ||
		!strings.Contains(a.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("no token: %d %v %s", a.status, a.header, a.body)
	}
	a = e.h.do("DELETE", e.atS1+v2022, withHeader("Authorization", "Bearer abc.def.ghi"))
	if a.status != 401 || a.errorCode(t) != "InvalidAuthenticationToken" {
		t.Errorf("wrong token: %d %s", a.status, a.body)
	}
	if _, ok := e.h.tenant.ARMRoleAssignment(e.atS1); !ok {
		t.Fatal("an unauthenticated DELETE removed the assignment")
	}
	a = e.h.do("GET", path, withHeader("x-ms-correlation-request-id", "corr-1"))
	if a.status != 200 || a.header.Get("x-ms-correlation-request-id") != "corr-1" || a.header.Get("x-ms-request-id") == "" {
		t.Errorf("the tenant's token: %d %v", a.status, a.header)
	}
}

func TestARMRouting(t *testing.T) {
	e := newARMEstate(t, Config{})
	a := e.h.do("GET", e.s1+"/resourceGroups?api-version=2022-04-01")
	if a.status != 404 || a.errorCode(t) != "InvalidResourceType" {
		t.Errorf("unmodelled type: %d %s", a.status, a.body)
	}
	a = e.h.do("POST", e.s1+armRoleAssignments+v2022)
	if a.status != 405 || a.errorCode(t) != "MethodNotAllowed" || a.header.Get("Allow") != "GET" {
		t.Errorf("POST: %d %v %s", a.status, a.header, a.body)
	}
	a = e.h.do("GET", e.atS1+"/extra"+v2022)
	if a.status != 404 || a.errorCode(t) != "InvalidResourceType" {
		t.Errorf("below an assignment: %d %s", a.status, a.body)
	}
	// Graph keeps its own answers.
	a = e.h.do("GET", "/v1.0/nothingHere")
	if a.status != 400 || a.errorCode(t) != "BadRequest" {
		t.Errorf("Graph: %d %s", a.status, a.body)
	}
	// Requests are logged like Graph's.
	log := e.h.tenant.Requests()
	if len(log) != 4 || log[0].Path != e.s1+"/resourceGroups" || log[0].Status != 404 {
		t.Errorf("log %+v", log)
	}
}

func TestARMRulesAndFaults(t *testing.T) {
	e := newARMEstate(t, Config{})
	e.h.tenant.AddRule(Rule{Method: "DELETE", PathContains: e.atS1, Times: 1, Status: 503})
	if a := e.h.do("DELETE", e.atS1+v2022); a.status != 503 {
		t.Fatalf("ruled: %d", a.status)
	}
	if _, ok := e.h.tenant.ARMRoleAssignment(e.atS1); !ok {
		t.Fatal("a ruled request changed something")
	}
	if a := e.h.do("DELETE", e.atS1+v2022); a.status != 200 {
		t.Fatalf("after the rule: %d", a.status)
	}

	f := newARMEstate(t, Config{FaultRate: 1})
	if a := f.h.do("DELETE", f.atS1+v2022); a.status < 500 {
		t.Fatalf("fault: %d", a.status)
	}
	if _, ok := f.h.tenant.ARMRoleAssignment(f.atS1); !ok {
		t.Fatal("a faulted request changed something")
	}
}

func TestARMSubscriptions(t *testing.T) {
	e := newARMEstate(t, Config{ARM: ARMConfig{PageSize: 2}})
	var got []string
	next := e.h.server.URL() + "/subscriptions?api-version=2022-12-01"
	pages := 0
	for next != "" {
		a := e.h.do("GET", next)
		if a.status != 200 {
			t.Fatalf("%s: %d %s", next, a.status, a.body)
		}
		pages++
		for _, s := range values(t, a) {
			got = append(got, s["subscriptionId"].(string))
			if s["id"] != "/subscriptions/"+s["subscriptionId"].(string) || s["state"] != "Enabled" ||
				s["tenantId"] != e.h.tenant.TenantID() || s["displayName"] == "" {
				t.Errorf("subscription %v", s)
			}
		}
		next, _ = a.json(t)["nextLink"].(string)
	}
	if pages != 2 || !slices.Equal(got, []string{armSub1, armSub2, armSub3}) {
		t.Fatalf("%d pages: %q", pages, got)
	}
	a := e.h.do("GET", e.s2+"?api-version=2022-12-01")
	if a.status != 200 || a.json(t)["displayName"] != "Two" {
		t.Fatalf("GET one: %d %s", a.status, a.body)
	}
	keys := slices.Sorted(maps.Keys(a.json(t)))
	want := []string{"authorizationSource", "displayName", "id", "managedByTenants", "state", "subscriptionId",
		"subscriptionPolicies", "tenantId"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q", keys)
	}
	if a := e.h.do("GET", "/subscriptions/"+armPeer+"?api-version=2022-12-01"); a.status != 404 || a.errorCode(t) != "SubscriptionNotFound" {
		t.Fatalf("GET unknown: %d %s", a.status, a.body)
	}
}

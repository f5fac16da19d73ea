package simtenant

import (
	"encoding/json"
	"slices"
	"testing"
)

const v2020 = "?api-version=2020-10-01"

func armScheduleBody(requestType, principal, role string) []byte {
	b, _ := json.Marshal(map[string]any{"properties": map[string]any{
		"principalId":      principal,
		"roleDefinitionId": role,
		"requestType":      requestType,
		"justification":    "offboarding HR-12345",
	}})
	return b
}

func TestARMEligibility(t *testing.T) {
	e := newARMEstate(t, Config{})
	tn := e.h.tenant
	owner := ARMRoleDefinitionID(e.s1, ARMOwner)
	atS1 := tn.AddARMEligibilitySchedule(ARMEligibilitySchedule{Scope: e.s1, RoleDefinitionID: ARMOwner, PrincipalID: armUser})
	atMG := tn.AddARMEligibilitySchedule(ARMEligibilitySchedule{Scope: e.mg, RoleDefinitionID: ARMReader, PrincipalID: armUser})
	peer := tn.AddARMEligibilitySchedule(ARMEligibilitySchedule{Scope: e.rg1, RoleDefinitionID: ARMOwner, PrincipalID: armPeer})

	list := func(scope, filter string) []string {
		t.Helper()
		a := e.h.do("GET", scope+armEligibilities+v2020+"&"+filterQuery(filter))
		if a.status != 200 {
			t.Fatalf("list %s %q: %d %s", scope, filter, a.status, a.body)
		}
		got := ids(values(t, a))
		slices.Sort(got)
		return got
	}
	if got := list(e.s1, "principalId eq '"+armUser+"'"); !slices.Equal(got, sortedOf(atS1.ID, atMG.ID)) {
		t.Fatalf("at and above: %q", got)
	}
	if got := list(e.s2, "asTarget() and principalId eq '"+armUser+"'"); !slices.Equal(got, []string{atMG.ID}) {
		t.Fatalf("from the other subscription: %q", got)
	}
	if got := list(e.s1, "atScope()"); !slices.Equal(got, sortedOf(atS1.ID, atMG.ID)) {
		t.Fatalf("atScope(): %q", got)
	}
	if got := list(e.s1, ""); !slices.Equal(got, sortedOf(atS1.ID, atMG.ID, peer.ID)) {
		t.Fatalf("below: %q", got)
	}

	a := e.h.do("GET", e.s1+armEligibilities+v2020+"&"+filterQuery("principalId eq '"+armUser+"'"))
	byID := map[string]map[string]any{}
	for _, v := range values(t, a) {
		byID[v["id"].(string)] = v
	}
	// Held at the management group above: Inherited, its scope its own.
	if mg := byID[atMG.ID]["properties"].(map[string]any); mg["memberType"] != "Inherited" || mg["scope"] != e.mg {
		t.Fatalf("eligibility from above %v", mg)
	}
	item := byID[atS1.ID]
	props := item["properties"].(map[string]any)
	if item["type"] != "Microsoft.Authorization/roleEligibilitySchedules" || props["memberType"] != "Direct" ||
		props["status"] != "Provisioned" || props["endDateTime"] != nil || props["principalId"] != armUser ||
		props["scope"] == nil || props["roleDefinitionId"] == nil || props["startDateTime"] == nil {
		t.Fatalf("schedule %s", a.body)
	}

	request := func(scope, name string, body []byte) answer {
		return e.h.do("PUT", scope+armEligibilityRequest+"/"+name+v2020, withBody(body))
	}
	const r1, r2, r3 = "6b5c3a8e-5d2f-4c1e-9a7b-3f6d2e1c0b9a", "7b5c3a8e-5d2f-4c1e-9a7b-3f6d2e1c0b9a", "8b5c3a8e-5d2f-4c1e-9a7b-3f6d2e1c0b9a"
	remove := armScheduleBody("AdminRemove", armUser, owner)

	// Inherited here, held at the subscription: not removable from the
	// resource group.
	a = request(e.rg1, r1, remove)
	if a.status != 400 || a.errorCode(t) != "RoleAssignmentDoesNotExist" || a.errorMessage(t) != "The Role assignment does not exist." {
		t.Fatalf("remove below its scope: %d %s", a.status, a.body)
	}
	a = request(e.s1, r1, remove)
	if a.status != 201 {
		t.Fatalf("remove: %d %s", a.status, a.body)
	}
	body := a.json(t)
	props = body["properties"].(map[string]any)
	if props["status"] != "Revoked" || props["requestType"] != "AdminRemove" || props["targetRoleEligibilityScheduleId"] != atS1.ID ||
		props["justification"] != "offboarding HR-12345" || body["id"] != e.s1+armEligibilityRequest+"/"+r1 ||
		body["type"] != "Microsoft.Authorization/RoleEligibilityScheduleRequests" {
		t.Fatalf("remove answer %s", a.body)
	}
	if got := tn.ARMEligibilitySchedulesOf(armUser); len(got) != 1 || got[0].ID != atMG.ID {
		t.Fatalf("left: %+v", got)
	}
	if again := request(e.s1, r1, remove); again.status != 201 || string(again.body) != string(a.body) {
		t.Fatalf("the same request again: %d %s", again.status, again.body)
	}
	if a := request(e.s1, r2, remove); a.status != 400 || a.errorCode(t) != "RoleAssignmentDoesNotExist" {
		t.Fatalf("remove again under a new name: %d %s", a.status, a.body)
	}

	assign := armScheduleBody("AdminAssign", armUser, owner)
	if a := request(e.s1, r1, assign); a.status != 409 || a.errorCode(t) != "RoleAssignmentRequestExists" {
		t.Fatalf("a used request name: %d %s", a.status, a.body)
	}
	a = request(e.s1, r3, assign)
	if a.status != 201 || a.json(t)["properties"].(map[string]any)["status"] != "Provisioned" {
		t.Fatalf("assign: %d %s", a.status, a.body)
	}
	if got := list(e.s1, "principalId eq '"+armUser+"'"); len(got) != 2 {
		t.Fatalf("after assign: %q", got)
	}
	if a := request(e.s1, r2, assign); a.status != 400 || a.errorCode(t) != "RoleAssignmentExists" {
		t.Fatalf("assign again: %d %s", a.status, a.body)
	}

	for _, tt := range []struct {
		name, scope, req string
		body             []byte
		code             string
	}{
		{"request type", e.s1, r2, armScheduleBody("SelfActivate", armUser, owner), "InvalidRequestType"},
		{"principal", e.s1, r2, armScheduleBody("AdminRemove", "x", owner), "InvalidPrincipalId"},
		{"role", e.s1, r2, armScheduleBody("AdminRemove", armUser, "Owner"), "RoleDefinitionDoesNotExist"},
		{"request name", e.s1, "x", remove, "InvalidRoleAssignmentRequestId"},
		{"body", e.s1, r2, []byte("[]"), "InvalidRequestContent"},
	} {
		if a := request(tt.scope, tt.req, tt.body); a.status != 400 || a.errorCode(t) != tt.code {
			t.Errorf("%s: %d %s", tt.name, a.status, a.body)
		}
	}
	if a := e.h.do("GET", e.s1+armEligibilities+v2020+"&"+filterQuery("principalId eq 'x'")); a.status != 400 ||
		a.errorCode(t) != "InvalidFilterParameter" {
		t.Fatalf("bad filter: %d %s", a.status, a.body)
	}
}

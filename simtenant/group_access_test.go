package simtenant

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

func jsonBody(t *testing.T, v any) reqOption {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return withBody(b)
}

func accessIDs(t *testing.T, a answer) []string {
	t.Helper()
	out := ids(values(t, a))
	slices.Sort(out)
	return out
}

func TestGroupAccessEndpoints(t *testing.T) {
	h := start(t, Config{Seed: 61})
	tn := h.tenant
	user := tn.AddUser(User{UserPrincipalName: "ann@contoso.com"})
	sp := tn.AddServicePrincipal(ServicePrincipal{DisplayName: "app"})
	admins := tn.AddGroup(Group{DisplayName: "Admins", IsAssignableToRole: true})
	dynamic := tn.AddGroup(Group{DisplayName: "Dyn", IsAssignableToRole: true, Dynamic: true})
	synced := tn.AddGroup(Group{DisplayName: "Synced", OnPremisesSynced: true})
	tn.AddGroup(Group{DisplayName: "Staff"})

	// Graph has no memberOf on the base type; a typed path of the wrong
	// type is not found.
	if a := h.do("GET", "/v1.0/directoryObjects/"+user.ID+"/memberOf"); a.status != 400 || a.errorMessage(t) != messageMemberOfSegment {
		t.Errorf("directoryObjects memberOf: %d %s", a.status, a.body)
	}
	if a := h.do("GET", "/v1.0/servicePrincipals/"+user.ID+"/memberOf"); a.status != 404 {
		t.Errorf("a user as a service principal: %d", a.status)
	}

	// getByIds tells each object's type, leaves out unknown ones, filters by types.
	a := h.do("POST", "/v1.0/directoryObjects/getByIds", jsonBody(t, map[string]any{"ids": []string{user.ID, sp.ID, admins.ID, tn.NewID()}}))
	got := map[string]string{}
	for _, v := range values(t, a) {
		got[v["id"].(string)] = v["@odata.type"].(string)
	}
	if len(got) != 3 || got[user.ID] != "#microsoft.graph.user" || got[sp.ID] != "#microsoft.graph.servicePrincipal" || got[admins.ID] != "#microsoft.graph.group" {
		t.Errorf("getByIds: %v", got)
	}
	a = h.do("POST", "/v1.0/directoryObjects/getByIds", jsonBody(t, map[string]any{"ids": []string{user.ID, sp.ID}, "types": []string{"user"}}))
	if len(values(t, a)) != 1 {
		t.Errorf("getByIds with types: %s", a.body)
	}
	if a := h.do("POST", "/v1.0/directoryObjects/getByIds", jsonBody(t, map[string]any{"ids": make([]string, 1001)})); a.status != 400 {
		t.Errorf("1001 ids: %d", a.status)
	}

	// The role-assignable groups: an advanced query only.
	q := "/v1.0/groups?$filter=isAssignableToRole%20eq%20true&$count=true&$select=id,groupTypes,onPremisesSyncEnabled"
	if a := h.do("GET", q); a.status != 400 || a.errorCode(t) != "Request_UnsupportedQuery" {
		t.Errorf("without ConsistencyLevel: %d %s", a.status, a.body)
	}
	a = h.do("GET", q, withHeader("ConsistencyLevel", "eventual"))
	if got, want := accessIDs(t, a), []string{admins.ID, dynamic.ID}; !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("role-assignable groups %v, want %v", got, want)
	}
	for _, v := range values(t, a) {
		if v["id"] == dynamic.ID && (len(v["groupTypes"].([]any)) != 1 || v["groupTypes"].([]any)[0] != "DynamicMembership") {
			t.Errorf("dynamic group %v", v)
		}
	}

	// Owners: listed, added, removed by reference; a group owns nothing.
	ref := func(id string) reqOption {
		return jsonBody(t, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id})
	}
	if a := h.do("POST", "/v1.0/groups/"+admins.ID+"/owners/$ref", ref(user.ID)); a.status != 204 {
		t.Fatalf("add owner: %d %s", a.status, a.body)
	}
	if a := h.do("POST", "/v1.0/groups/"+admins.ID+"/owners/$ref", ref(user.ID)); a.status != 400 {
		t.Errorf("add owner twice: %d", a.status)
	}
	if a := h.do("POST", "/v1.0/groups/"+admins.ID+"/owners/$ref", ref(synced.ID)); a.status != 400 {
		t.Errorf("a group as owner: %d", a.status)
	}
	if got := accessIDs(t, h.do("GET", "/v1.0/groups/"+admins.ID+"/owners")); !slices.Equal(got, []string{user.ID}) {
		t.Errorf("owners %v", got)
	}
	if a := h.do("DELETE", "/v1.0/groups/"+admins.ID+"/owners/"+user.ID+"/$ref"); a.status != 400 || len(tn.Owners(admins.ID)) != 1 {
		t.Errorf("remove the last owner, a user: %d", a.status)
	}
	if a := h.do("POST", "/v1.0/groups/"+admins.ID+"/owners/$ref", ref(sp.ID)); a.status != 204 {
		t.Fatalf("add a second owner: %d %s", a.status, a.body)
	}
	if got := accessIDs(t, h.do("GET", "/v1.0/servicePrincipals/"+sp.ID+"/ownedObjects?$select=id")); !slices.Equal(got, []string{admins.ID}) {
		t.Errorf("the service principal owns %v", got)
	}
	// A user's ownedObjects is documented "Application: Not supported":
	// the tenant's token, an application's, is refused it.
	for _, id := range []string{user.ID, sp.ID} {
		if a := h.do("GET", "/v1.0/users/"+id+"/ownedObjects"); a.status != 403 || a.errorCode(t) != "Authorization_RequestDenied" {
			t.Errorf("a user's ownedObjects with an application's token: %d %s", a.status, a.body)
		}
	}
	if a := h.do("DELETE", "/v1.0/groups/"+admins.ID+"/owners/"+user.ID+"/$ref"); a.status != 204 || len(tn.Owners(admins.ID)) != 1 {
		t.Errorf("remove owner: %d", a.status)
	}
	if a := h.do("DELETE", "/v1.0/groups/"+admins.ID+"/owners/"+user.ID+"/$ref"); a.status != 404 {
		t.Errorf("remove owner twice: %d", a.status)
	}

	// Dynamic and synced groups refuse changes to their members.
	for _, g := range []Group{dynamic, synced} {
		if a := h.do("POST", "/v1.0/groups/"+g.ID+"/members/$ref", ref(user.ID)); a.status != 400 || len(tn.Members(g.ID)) != 0 {
			t.Errorf("member added to %s: %d", g.DisplayName, a.status)
		}
	}

	// PIM for Groups: a filter is needed; adminAssign, list, adminRemove.
	const elig = "/v1.0/identityGovernance/privilegedAccess/group/eligibilitySchedules"
	const eligReq = "/v1.0/identityGovernance/privilegedAccess/group/eligibilityScheduleRequests"
	const actReq = "/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleRequests"
	if a := h.do("GET", elig); a.status != 400 {
		t.Errorf("unfiltered: %d", a.status)
	}
	req := func(action, access string) reqOption {
		return jsonBody(t, map[string]any{"action": action, "accessId": access, "groupId": admins.ID, "principalId": user.ID})
	}
	if a := h.do("POST", eligReq, req("adminAssign", "owner")); a.status != 201 {
		t.Fatalf("adminAssign: %d %s", a.status, a.body)
	}
	if a := h.do("POST", eligReq, req("adminAssign", "owner")); a.status != 400 || a.errorCode(t) != codeAssignmentExists {
		t.Errorf("adminAssign twice: %d %s", a.status, a.body)
	}
	if got := values(t, h.do("GET", elig+"?$filter=groupId%20eq%20'"+admins.ID+"'")); len(got) != 1 || got[0]["accessId"] != "owner" || got[0]["principalId"] != user.ID {
		t.Errorf("eligibilities %v", got)
	}
	if slices.Contains(tn.Owners(admins.ID), user.ID) {
		t.Error("an eligible owner is an owner before activating")
	}
	if a := h.do("POST", actReq, req("adminAssign", "member")); a.status != 201 || !slices.Contains(tn.Members(admins.ID), user.ID) {
		t.Errorf("active member: %d, members %v", a.status, tn.Members(admins.ID))
	}
	if a := h.do("POST", actReq, req("adminRemove", "member")); a.status != 201 || slices.Contains(tn.Members(admins.ID), user.ID) {
		t.Errorf("active member removed: %d, members %v", a.status, tn.Members(admins.ID))
	}
	if a := h.do("POST", eligReq, req("adminRemove", "owner")); a.status != 201 || len(tn.GroupSchedules()) != 0 {
		t.Errorf("adminRemove: %d %v", a.status, tn.GroupSchedules())
	}
	if a := h.do("POST", eligReq, req("adminRemove", "owner")); a.status != 400 || a.errorCode(t) != codeAssignmentMissing {
		t.Errorf("adminRemove twice: %d %s", a.status, a.body)
	}

	// Without P2 every PIM for Groups endpoint refuses.
	h2 := start(t, Config{Seed: 61, NoP2: true})
	if a := h2.do("GET", elig+"?$filter=principalId%20eq%20'"+user.ID+"'"); a.status != http.StatusBadRequest || a.errorCode(t) != codeLicenceRequired {
		t.Errorf("no P2: %d %s", a.status, a.body)
	}
}

// The sample tenant's owners and schedules are the seed's.
func TestGenerateGroupAccessIsDeterministic(t *testing.T) {
	_, a := Generate(Config{Seed: 9}, 40)
	_, b := Generate(Config{Seed: 9}, 40)
	if a.LastOwner != b.LastOwner || !slices.Equal(a.GroupSchedules, b.GroupSchedules) ||
		!slices.EqualFunc(a.GroupOwnerships, b.GroupOwnerships, func(x, y [2]string) bool { return x == y }) {
		t.Error("two tenants of one seed differ in owners or PIM for Groups")
	}
	if len(a.GroupOwnerships) == 0 || a.LastOwner[0] == "" || len(a.GroupSchedules) == 0 {
		t.Errorf("the sample has no group access to remove: %+v %+v %v", a.GroupOwnerships, a.LastOwner, a.GroupSchedules)
	}
}

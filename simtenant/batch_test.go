package simtenant

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// subAnswer is one answer of a $batch, as a test reads it.
type subAnswer struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// batch posts a $batch of requests and returns its answers by id.
func (h *harness) batch(requests ...map[string]any) (answer, map[string]subAnswer) {
	h.t.Helper()
	body, err := json.Marshal(map[string]any{"requests": requests})
	if err != nil {
		h.t.Fatal(err)
	}
	a := h.do(http.MethodPost, "/v1.0/$batch", withBody(body), withHeader("Content-Type", "application/json"))
	if a.status != http.StatusOK {
		return a, nil
	}
	var out struct {
		Responses []subAnswer `json:"responses"`
	}
	if err := json.Unmarshal(a.body, &out); err != nil {
		h.t.Fatalf("batch answer %s: %v", a.body, err)
	}
	byID := map[string]subAnswer{}
	for _, r := range out.Responses {
		byID[r.ID] = r
	}
	return a, byID
}

func del(id, url string) map[string]any {
	return map[string]any{"id": id, "method": "DELETE", "url": url}
}

func subCode(t *testing.T, s subAnswer) string {
	t.Helper()
	return answer{body: s.Body}.errorCode(t)
}

func TestBatchServesEachRequestAsAStandaloneOne(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Seed: 3, Now: clk.Now})
	tn := h.tenant
	u := tn.AddUser(User{UserPrincipalName: "kim@contoso.com"})
	a := tn.AddRoleAssignment(RoleAssignment{PrincipalID: u.ID, RoleDefinitionID: UserAdministrator})
	g := tn.AddGroup(Group{DisplayName: "Tier0", IsAssignableToRole: true})
	if err := tn.AddMember(g.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	tn.AddEligibility(EligibilitySchedule{PrincipalID: u.ID, RoleDefinitionID: GlobalReader})
	tn.ResetRequests()

	_, got := h.batch(
		del("1", "/roleManagement/directory/roleAssignments/"+a.ID),
		del("2", "/roleManagement/directory/roleAssignments/"+a.ID),
		del("3", "groups/"+g.ID+"/members/"+u.ID+"/$ref"),
		map[string]any{"id": "4", "method": "POST", "url": "/roleManagement/directory/roleEligibilityScheduleRequests",
			"headers": map[string]string{"Content-Type": "application/json"},
			"body": map[string]any{"action": "adminRemove", "principalId": u.ID, "roleDefinitionId": GlobalReader,
				"directoryScopeId": "/", "justification": "test"}},
		map[string]any{"id": "5", "method": "POST", "url": "/roleManagement/directory/roleEligibilityScheduleRequests",
			"headers": map[string]string{"Content-Type": "application/json"},
			"body": map[string]any{"action": "adminRemove", "principalId": u.ID, "roleDefinitionId": GlobalReader,
				"directoryScopeId": "/", "justification": "test"}},
		map[string]any{"id": "6", "method": "GET", "url": "/users/" + u.ID + "?$select=id"},
	)
	want := map[string]int{"1": 204, "2": 404, "3": 204, "4": 201, "5": 400, "6": 200}
	for id, status := range want {
		if got[id].Status != status {
			t.Errorf("sub-request %s: %d %s, want %d", id, got[id].Status, got[id].Body, status)
		}
	}
	if c := subCode(t, got["5"]); c != "RoleAssignmentDoesNotExist" {
		t.Errorf("second adminRemove: code %q", c)
	}
	if len(tn.RoleAssignmentsOf(u.ID)) != 0 || len(tn.MemberOf(u.ID)) != 0 || len(tn.EligibilitiesOf(u.ID)) != 0 {
		t.Errorf("the batch left something: %v %v %v", tn.RoleAssignmentsOf(u.ID), tn.MemberOf(u.ID), tn.EligibilitiesOf(u.ID))
	}

	// The log holds the batch, then each sub-request as it was sent.
	reqs := tn.Requests()
	if len(reqs) != 7 || reqs[0].Path != "/v1.0/$batch" || reqs[0].InBatch {
		t.Fatalf("log %+v", reqs)
	}
	if r := reqs[3]; !r.InBatch || r.Method != "DELETE" || !strings.HasSuffix(r.EscapedPath, "/members/"+u.ID+"/$ref") || r.Status != 204 {
		t.Errorf("member DELETE logged as %+v", r)
	}
	if r := reqs[4]; !strings.Contains(string(r.Body), "adminRemove") {
		t.Errorf("adminRemove body not logged: %+v", r)
	}
	st := tn.Stats()
	if st.Requests != 1 || st.Batches != 1 || st.SubRequests != 6 || st.ByMethod["DELETE"] != 3 ||
		st.ByMethod["POST"] != 2 || st.ByMethodStatus["DELETE"][404] != 1 || st.BatchesByStatus[200] != 1 {
		t.Errorf("stats %+v", st)
	}
	if v := tn.Violations(); len(v) != 0 {
		t.Errorf("violations %v", v)
	}
}

func TestBatchRefusals(t *testing.T) {
	h := start(t, Config{Seed: 1})
	var many []map[string]any
	for i := range 21 {
		many = append(many, del(fmt.Sprint(i), "/roleManagement/directory/roleAssignments/x"))
	}
	a, _ := h.batch(many...)
	if a.status != http.StatusBadRequest || a.errorCode(t) != "BadRequest" || !strings.Contains(a.errorMessage(t), "20") {
		t.Errorf("21 requests: %d %s", a.status, a.body)
	}
	a, _ = h.batch(del("1", "/x"), del("1", "/y"))
	if a.status != http.StatusBadRequest {
		t.Errorf("duplicate ids: %d %s", a.status, a.body)
	}
	if a := h.do(http.MethodPost, "/v1.0/$batch", withBody([]byte(`{"requests":[`))); a.status != http.StatusBadRequest {
		t.Errorf("bad JSON: %d", a.status)
	}
	if a := h.do(http.MethodPost, "/v1.0/$batch", noAuth(), withBody([]byte(`{"requests":[]}`))); a.status != http.StatusUnauthorized {
		t.Errorf("no token: %d", a.status)
	}
	_, got := h.batch(
		del("abs", "https://graph.microsoft.com/v1.0/users"),
		map[string]any{"id": "nested", "method": "POST", "url": "/$batch", "headers": map[string]string{"Content-Type": "application/json"}, "body": map[string]any{"requests": []any{}}},
		map[string]any{"id": "notype", "method": "POST", "url": "/roleManagement/directory/roleEligibilityScheduleRequests", "body": map[string]any{"action": "adminRemove"}},
	)
	for _, id := range []string{"abs", "nested", "notype"} {
		if got[id].Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", id, got[id].Status, got[id].Body)
		}
	}
}

// Each sub-request is charged to the write bucket; a throttled one is
// answered 429 with its own Retry-After inside the 200, and a retry that
// comes back before it is a violation, batched or not.
func TestBatchThrottlesEachSubRequest(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Seed: 2, Now: clk.Now, WriteRate: 1, WriteBurst: 2})
	tn := h.tenant
	u := tn.AddUser(User{UserPrincipalName: "kim@contoso.com"})
	var reqs []map[string]any
	for i := range 3 {
		a := tn.AddRoleAssignment(RoleAssignment{PrincipalID: u.ID, RoleDefinitionID: []string{UserAdministrator, GlobalReader, SecurityReader}[i]})
		reqs = append(reqs, del(fmt.Sprint(i), "/roleManagement/directory/roleAssignments/"+a.ID))
	}
	tn.ResetRequests()
	outer, got := h.batch(reqs...)
	if outer.status != http.StatusOK {
		t.Fatalf("batch: %d", outer.status)
	}
	if got["0"].Status != 204 || got["1"].Status != 204 || got["2"].Status != 429 {
		t.Fatalf("answers %+v", got)
	}
	if ra := got["2"].Headers["Retry-After"]; ra != "1" {
		t.Errorf("the throttled sub-request's Retry-After %q", ra)
	}
	if subCode(t, got["2"]) != "TooManyRequests" {
		t.Errorf("body %s", got["2"].Body)
	}
	st := tn.Stats()
	if st.Throttled != 1 || st.ByMethodStatus["DELETE"][429] != 1 || st.ByMethod["DELETE"] != 3 {
		t.Errorf("stats %+v", st)
	}

	// Too early: a violation, and throttled again.
	_, got = h.batch(reqs[2])
	if got["0"].Status != 0 || got["2"].Status != 429 {
		t.Errorf("early retry: %+v", got)
	}
	if v := tn.Violations(); len(v) != 1 || !strings.Contains(v[0], "before the Retry-After") {
		t.Errorf("violations %v", v)
	}
	clk.Advance(2 * time.Second)
	if _, got = h.batch(reqs[2]); got["2"].Status != 204 {
		t.Errorf("retry after the wait: %+v", got["2"])
	}
}

// Faults and rules pick sub-requests by their own method and path, and the
// same seed gives the same faults batched or not.
func TestBatchFaultsAndRules(t *testing.T) {
	build := func() (*harness, []string) {
		h := start(t, Config{Seed: 9, FaultRate: 0.4, WriteRate: -1})
		u := h.tenant.AddUser(User{UserPrincipalName: "kim@contoso.com"})
		var ids []string
		for i := range 8 {
			ids = append(ids, h.tenant.AddRoleAssignment(RoleAssignment{PrincipalID: u.ID, RoleDefinitionID: UserAdministrator,
				DirectoryScopeID: fmt.Sprintf("/administrativeUnits/%d", i)}).ID)
		}
		return h, ids
	}
	single, ids := build()
	var alone []int
	for _, id := range ids {
		alone = append(alone, single.do(http.MethodDelete, "/v1.0/roleManagement/directory/roleAssignments/"+id).status)
	}
	batched, ids2 := build()
	var reqs []map[string]any
	for i, id := range ids2 {
		reqs = append(reqs, del(fmt.Sprint(i), "/roleManagement/directory/roleAssignments/"+id))
	}
	_, got := batched.batch(reqs...)
	faults := 0
	for i := range ids2 {
		if got[fmt.Sprint(i)].Status != alone[i] {
			t.Errorf("sub-request %d: %d batched, %d alone", i, got[fmt.Sprint(i)].Status, alone[i])
		}
		if alone[i] >= 500 {
			faults++
		}
	}
	if faults == 0 || faults == len(ids) {
		t.Errorf("%d faults of %d: pick another seed", faults, len(ids))
	}
	if f := batched.tenant.Stats().Faults; f != faults {
		t.Errorf("stats count %d faults, want %d", f, faults)
	}

	// A rule aimed at DELETEs of one assignment answers that sub-request.
	h, ids3 := build()
	h.tenant.cfg.FaultRate = 0
	h.tenant.AddRule(Rule{Method: "DELETE", PathContains: ids3[1], Times: 1, Status: 503, Header: http.Header{"Retry-After": {"3"}}, Legacy: true})
	_, got = h.batch(del("a", "/roleManagement/directory/roleAssignments/"+ids3[0]), del("b", "/roleManagement/directory/roleAssignments/"+ids3[1]))
	if got["a"].Status != 204 || got["b"].Status != 503 || got["b"].Headers["Retry-After"] != "3" {
		t.Errorf("answers %+v", got)
	}
	if !strings.Contains(string(got["b"].Body), "odata.error") {
		t.Errorf("legacy shape not kept: %s", got["b"].Body)
	}
	// A rule resetting a sub-request resets the batch's connection.
	h.tenant.AddRule(Rule{Method: "DELETE", PathContains: ids3[3], Times: 1, Reset: true})
	body, _ := json.Marshal(map[string]any{"requests": []any{
		del("c", "/roleManagement/directory/roleAssignments/"+ids3[2]), del("d", "/roleManagement/directory/roleAssignments/"+ids3[3])}})
	if _, err := h.try(t.Context(), http.MethodPost, "/v1.0/$batch", withBody(body)); err == nil {
		t.Error("the batch was answered although a sub-request was reset")
	}
	if _, ok := h.tenant.RoleAssignment(ids3[2]); ok {
		t.Error("the sub-request before the reset was not acted on")
	}
	if _, ok := h.tenant.RoleAssignment(ids3[3]); !ok {
		t.Error("the reset sub-request was acted on")
	}
}

// A sub-request's own headers are its headers: memberOf with $filter is an
// advanced query, refused without ConsistencyLevel: eventual inside a
// batch as alone.
func TestBatchSubRequestHeadersAreHonoured(t *testing.T) {
	h := start(t, Config{Seed: 5})
	tn := h.tenant
	u := tn.AddUser(User{UserPrincipalName: "lee@contoso.com"})
	g := tn.AddGroup(Group{DisplayName: "Tier0", IsAssignableToRole: true})
	if err := tn.AddMember(g.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	url := "/users/" + u.ID + "/memberOf/microsoft.graph.group?$count=true&$filter=isAssignableToRole%20eq%20true"
	_, got := h.batch(
		map[string]any{"id": "1", "method": "GET", "url": url},
		map[string]any{"id": "2", "method": "GET", "url": url, "headers": map[string]string{"ConsistencyLevel": "eventual"}},
	)
	if s := got["1"]; s.Status != http.StatusBadRequest || subCode(t, s) != "Request_UnsupportedQuery" {
		t.Errorf("without ConsistencyLevel: %d %s, want 400 Request_UnsupportedQuery", s.Status, s.Body)
	}
	if s := got["2"]; s.Status != http.StatusOK || !strings.Contains(string(s.Body), g.ID) {
		t.Errorf("with ConsistencyLevel: %d %s, want 200 listing %s", s.Status, s.Body, g.ID)
	}
	alone := h.do(http.MethodGet, "/v1.0"+url)
	if alone.status != http.StatusBadRequest || alone.errorCode(t) != "Request_UnsupportedQuery" {
		t.Errorf("alone without ConsistencyLevel: %d %s", alone.status, alone.body)
	}
}

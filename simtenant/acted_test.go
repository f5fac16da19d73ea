package simtenant

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestActedRunsAfterTheChangeBeforeTheAnswer: a rule's Acted hook sees the
// change made and the request still in flight and unanswered; the answer
// then arrives whole. Stats.Cut counts only answers actually cut.
func TestActedRunsAfterTheChangeBeforeTheAnswer(t *testing.T) {
	h := start(t, Config{Seed: 44})
	tn := h.tenant
	a := tn.AddRoleAssignment(RoleAssignment{PrincipalID: tn.NewID(), RoleDefinitionID: SecurityReader})
	var gone bool
	var inFlight, logged int
	tn.AddRule(Rule{Method: http.MethodDelete, Times: 1, Acted: func(*http.Request) {
		_, present := tn.RoleAssignment(a.ID)
		gone, inFlight = !present, tn.InFlight()
		reqs := tn.Requests()
		logged = reqs[len(reqs)-1].Status
	}})
	if ans := h.do(http.MethodDelete, assignmentsPath+"/"+a.ID); ans.status != http.StatusNoContent {
		t.Fatalf("%d %s", ans.status, ans.body)
	}
	if !gone || inFlight != 1 || logged != 0 {
		t.Errorf("in Acted: removed %v, %d in flight, logged status %d; want true, 1, 0 (not yet answered)", gone, inFlight, logged)
	}
	if ans := h.do(http.MethodGet, assignmentsPath); ans.status != http.StatusOK || len(values(t, ans)) != 0 {
		t.Fatalf("after: %d %s", ans.status, ans.body)
	}
	if n := tn.Stats().Cut; n != 0 {
		t.Errorf("%d answers counted cut, want none", n)
	}
	tn.AddRule(Rule{Method: http.MethodGet, Times: 1, CutAnswer: true})
	_, _ = h.try(context.Background(), http.MethodGet, assignmentsPath)
	for tn.InFlight() > 0 { // the server finishes just after the client saw the cut
		time.Sleep(time.Millisecond)
	}
	if n := tn.Stats().Cut; n != 1 {
		t.Errorf("%d answers counted cut, want 1", n)
	}
}

package simtenant

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestCutAndLostAnswers(t *testing.T) {
	h := start(t, Config{Seed: 41})
	tn := h.tenant
	p := tn.NewID()
	a := tn.AddRoleAssignment(RoleAssignment{PrincipalID: p, RoleDefinitionID: SecurityReader})
	b := tn.AddRoleAssignment(RoleAssignment{PrincipalID: p, RoleDefinitionID: GlobalReader})

	t.Run("a page cut off half-way", func(t *testing.T) {
		tn.AddRule(Rule{Method: "GET", Times: 1, CutAnswer: true})
		ans, err := h.try(context.Background(), "GET", assignmentsPath)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("answer %d %q, err %v: want the body cut off", ans.status, ans.body, err)
		}
		if ans.status != 200 || len(ans.body) == 0 || strings.HasSuffix(string(ans.body), "}") {
			t.Fatalf("got %d %q: want the status and half the body", ans.status, ans.body)
		}
		// The log has the status once the server is done with the
		// request, which may be just after the client saw the cut.
		status := 0
		for deadline := time.Now().Add(10 * time.Second); status == 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			reqs := tn.Requests()
			status = reqs[len(reqs)-1].Status
		}
		if status != 200 {
			t.Errorf("logged status %d, want 200", status)
		}
		if ans := h.do("GET", assignmentsPath); ans.status != 200 || len(values(t, ans)) != 2 {
			t.Fatalf("after the cut: %d %s", ans.status, ans.body)
		}
	})

	t.Run("a removal made but never confirmed", func(t *testing.T) {
		tn.AddRule(Rule{Method: "DELETE", Times: 1, LoseAnswer: true})
		if ans, err := h.try(context.Background(), "DELETE", assignmentsPath+"/"+a.ID); err == nil {
			t.Fatalf("an answer came: %d %s", ans.status, ans.body)
		}
		if _, ok := tn.RoleAssignment(a.ID); ok {
			t.Fatal("the removal was not made")
		}
		reqs := tn.Requests()
		if last := reqs[len(reqs)-1]; last.Method != "DELETE" || last.Status != 0 {
			t.Errorf("logged %s %d, want DELETE with status 0 (no answer)", last.Method, last.Status)
		}
		if ans := h.do("DELETE", assignmentsPath+"/"+a.ID); ans.status != 404 {
			t.Fatalf("the retry: %d, want 404", ans.status)
		}
	})

	t.Run("a 204 cut off arrives whole", func(t *testing.T) {
		tn.AddRule(Rule{Method: "DELETE", Times: 1, CutAnswer: true})
		if ans := h.do("DELETE", assignmentsPath+"/"+b.ID); ans.status != 204 {
			t.Fatalf("%d %s", ans.status, ans.body)
		}
	})
	if v := tn.Violations(); len(v) != 0 {
		t.Fatalf("violations %q", v)
	}
}

// TestMemberDeleteWithoutRefIsAViolationWhateverAnswersIt: the request is
// the breach, so it is recorded even when a rule or the throttle answers
// before the handler would.
func TestMemberDeleteWithoutRefIsAViolationWhateverAnswersIt(t *testing.T) {
	h := start(t, Config{Seed: 42})
	tn := h.tenant
	f := newGroupFixture(t, tn)
	tn.AddRule(Rule{Method: "DELETE", Times: 1, Status: 429})
	tn.AddRule(Rule{Method: "DELETE", Times: 1, Reset: true})
	if ans := h.do("DELETE", "/v1.0/groups/"+f.admins.ID+"/members/"+f.user.ID); ans.status != 429 {
		t.Fatalf("%d", ans.status)
	}
	_, _ = h.try(context.Background(), "DELETE", "/v1.0/Groups/"+f.admins.ID+"/Members/"+f.user.ID+"/")
	if ans := h.do("DELETE", "/v1.0/groups/"+f.admins.ID+"/members/"+f.user.ID+"/$ref"); ans.status != 204 {
		t.Fatalf("with /$ref: %d %s", ans.status, ans.body)
	}
	v := tn.Violations()
	if len(v) != 2 || !strings.Contains(v[0], "without /$ref") || !strings.Contains(v[1], "without /$ref") {
		t.Fatalf("violations %q, want the two DELETEs without /$ref", v)
	}
}

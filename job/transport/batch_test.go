package transport

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/simtenant"
)

// batchTenant serves a tenant holding n role assignments and returns a
// transport to it (unlimited pace behind a gate), its write pace, the
// $batch URL and one DELETE sub-request per assignment. The tenant, the
// transport and the pace share a virtual clock (tr.Clock): the waits the
// tenant asks for are taken on it, not slept.
func batchTenant(t *testing.T, cfg simtenant.Config, n int) (*simtenant.Tenant, *Transport, *job.Pace, string, []SubRequest) {
	t.Helper()
	clk := newJumpClock()
	cfg.Now = clk.Now
	tn := simtenant.New(cfg)
	srv, err := tn.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		if v := tn.Violations(); len(v) > 0 {
			t.Errorf("violations: %v", v)
		}
	})
	u := tn.AddUser(simtenant.User{UserPrincipalName: "kim@contoso.com"})
	var subs []SubRequest
	for i := range n {
		a := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: u.ID, RoleDefinitionID: simtenant.UserAdministrator,
			DirectoryScopeID: "/administrativeUnits/" + string(rune('a'+i))})
		subs = append(subs, SubRequest{Method: http.MethodDelete, URL: "/roleManagement/directory/roleAssignments/" + a.ID})
	}
	tn.ResetRequests()
	pace := job.NewPaceOn(clk, &job.Gate{}, 0, 1)
	tr := &Transport{
		Base:        http.DefaultTransport,
		Clock:       clk,
		Token:       func(context.Context) (string, error) { return tn.Token(), nil },
		Pace:        func(*http.Request) *job.Pace { return pace },
		MaxAttempts: 6,
		BaseDelay:   10 * time.Millisecond,
		MaxDelay:    50 * time.Millisecond,
	}
	return tn, tr, pace, srv.URL() + "/v1.0/$batch", subs
}

func statuses(answers []SubAnswer) (st, attempts []int) {
	for _, a := range answers {
		st, attempts = append(st, a.Status), append(attempts, a.Attempts)
	}
	return st, attempts
}

// Only the throttled sub-request is sent again, alone, after its own
// Retry-After (the tenant records a violation for an early one), and its
// 429 closed the pace's gate as a standalone 429 does.
func TestBatchRetriesOnlyThrottledSubRequests(t *testing.T) {
	tn, tr, pace, endpoint, subs := batchTenant(t, simtenant.Config{Seed: 5, WriteRate: 1, WriteBurst: 2}, 3)
	before := tr.Clock.Now()
	answers := tr.Batch(context.Background(), endpoint, nil, subs)
	st, attempts := statuses(answers)
	if !slices.Equal(st, []int{204, 204, 204}) || !slices.Equal(attempts, []int{1, 1, 2}) {
		t.Fatalf("statuses %v, attempts %v; want all 204, the third after 2 attempts", st, attempts)
	}
	if !pace.HeldUntil().After(before) {
		t.Error("the throttled sub-request did not close the pace's gate")
	}
	var batches [][]string
	for _, r := range tn.Requests() {
		switch {
		case r.Path == "/v1.0/$batch":
			batches = append(batches, nil)
		case r.InBatch:
			batches[len(batches)-1] = append(batches[len(batches)-1], r.Path)
		}
	}
	if len(batches) != 2 || len(batches[0]) != 3 || len(batches[1]) != 1 || !strings.HasSuffix(subs[2].URL, strings.TrimPrefix(batches[1][0], "/v1.0")) {
		t.Errorf("batches sent %v, want the three, then the third alone", batches)
	}
	if s := tn.Stats(); s.ByMethodStatus[http.MethodDelete][429] != 1 || s.ByMethod[http.MethodDelete] != 4 || s.Batches != 2 {
		t.Errorf("stats %+v", s)
	}
}

// One budget a sub-request: a batch failing as a whole and a sub-request
// failing alone count against the same MaxAttempts.
func TestBatchOneBudget(t *testing.T) {
	tn, tr, _, endpoint, subs := batchTenant(t, simtenant.Config{Seed: 6}, 3)
	tr.MaxAttempts = 3
	tn.AddRule(simtenant.Rule{Method: http.MethodPost, PathContains: "$batch", Times: 1, Status: 503})
	tn.AddRule(simtenant.Rule{Method: http.MethodDelete, PathContains: strings.TrimPrefix(subs[1].URL, "/roleManagement"), Status: 500})
	answers := tr.Batch(context.Background(), endpoint, nil, subs)
	st, attempts := statuses(answers)
	if !slices.Equal(st, []int{204, 500, 204}) || !slices.Equal(attempts, []int{2, 3, 2}) {
		t.Errorf("statuses %v, attempts %v; want the second failed with 500 after 3 attempts, the others removed after 2", st, attempts)
	}
	for _, a := range answers {
		if a.Err != nil {
			t.Errorf("error %v, want the service's answer", a.Err)
		}
	}
}

// A Retry-After beyond the deadline fails its sub-request at once, with
// ErrBeyondDeadline; the others are answered.
func TestBatchWaitBeyondDeadline(t *testing.T) {
	tn, tr, _, endpoint, subs := batchTenant(t, simtenant.Config{Seed: 7}, 2)
	tn.AddRule(simtenant.Rule{Method: http.MethodDelete, PathContains: strings.TrimPrefix(subs[0].URL, "/roleManagement"), Times: 1,
		Status: 429, Header: http.Header{"Retry-After": {"600"}}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	answers := tr.Batch(ctx, endpoint, nil, subs)
	if !errors.Is(answers[0].Err, job.ErrBeyondDeadline) || answers[0].Attempts != 1 {
		t.Errorf("throttled: %+v, want ErrBeyondDeadline after 1 attempt", answers[0])
	}
	if answers[1].Status != 204 || answers[1].Err != nil {
		t.Errorf("other: %+v", answers[1])
	}
}

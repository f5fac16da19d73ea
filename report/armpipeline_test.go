package report_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/arm"
	"github.com/offboard/offboard/job/transport"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/simtenant"
)

// TestRunnerAgainstSimulatedARM is the job end to end below the command:
// the runner's workers and lanes, the ARM paces and counters, the
// retrying transport and the report directory's journal, all at once,
// against the simulated tenant over HTTP with a tenth of its answers
// server errors. It imports no Graph SDK, so make test runs it with the
// race detector (cmd/offboard's end-to-end tests run without it; see
// RACE_PKGS in the Makefile). It lives in report, which may import job
// and its adapters, rather than in job/arm, which may not import report. Every assignment is removed, every row says
// so, the journal holds every outcome, and a rerun into the same
// directory sends nothing.
func TestRunnerAgainstSimulatedARM(t *testing.T) {
	t.Parallel()
	tn := simtenant.New(simtenant.Config{Seed: 2611, FaultRate: 0.1})
	srv, err := tn.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		if v := tn.Violations(); len(v) > 0 {
			t.Errorf("the simulated tenant saw requests a real one would punish:\n%s", strings.Join(v, "\n"))
		}
	})
	subs := []string{tn.AddSubscription(simtenant.ARMSubscription{}).Scope(), tn.AddSubscription(simtenant.ARMSubscription{}).Scope()}
	var entries []job.Entry
	want := map[string]bool{}
	for i := range 12 {
		id := tn.NewID()
		entries = append(entries, job.Entry{Line: i + 2, PrincipalID: id, Reference: fmt.Sprintf("HR-%d", i)})
		for _, sub := range subs {
			for _, role := range []string{simtenant.ARMOwner, simtenant.ARMReader} {
				a := tn.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: id, Scope: sub,
					RoleDefinitionID: simtenant.ARMRoleDefinitionID(sub, role)})
				want[a.ID] = true
			}
		}
	}

	// The simulated tenant's token, as the job takes it (loopback only).
	creds, err := transport.NewCredentials(tn.Token(), []string{srv.URL()}, cloud.AzurePublic)
	if err != nil {
		t.Fatal(err)
	}
	const workers = 8
	run := func(dir string) job.Result {
		t.Helper()
		paces := &arm.Paces{DeleteRate: 10, DeleteBurst: 200}
		src, err := arm.New(arm.Config{Endpoint: srv.URL(), Credential: creds.TokenCredential(), InsecureHTTP: true,
			Scopes: []string{"all"}, Concurrency: workers,
			Transport: &transport.Transport{Base: &arm.Counters{Next: http.DefaultTransport, Paces: paces},
				MaxAttempts: 6, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond, Pace: paces.Pace},
			HeldUntil: func(scope string) time.Time {
				return paces.Pace(&http.Request{Method: http.MethodDelete, URL: &url.URL{Path: scope}}).Gate().Until()
			}})
		if err != nil {
			t.Fatal(err)
		}
		rec, err := report.Open(dir, strings.Repeat("0", 64), report.RunInfo{ID: "run-" + filepath.Base(dir), StartedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		r := &job.Runner{Sources: []job.Source{src}, Recorder: rec, Concurrency: workers, MaxRemovals: 1000,
			Previous: rec.Previous()}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		res, err := r.Run(ctx, entries)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	dir := filepath.Join(t.TempDir(), "report")
	res := run(dir)
	removed := 0
	for _, it := range res.Items {
		if it.State != job.Removed || !want[it.AssignmentID] {
			t.Errorf("%s %s: %s %s", it.PrincipalID, it.AssignmentID, it.State, it.Detail)
			continue
		}
		removed++
	}
	if removed != len(want) {
		t.Errorf("%d rows removed, want %d", removed, len(want))
	}
	if left := tn.ARMRoleAssignments(); len(left) != 0 {
		t.Errorf("%d assignments left", len(left))
	}
	if st := tn.Stats(); st.Faults == 0 {
		t.Error("the tenant injected no fault: the retries were not exercised")
	}

	// The rerun reads the journal back and finds nothing left to do.
	tn.ResetRequests()
	again := run(dir)
	for _, it := range again.Items {
		if it.State != job.Removed {
			t.Errorf("rerun: %s %s: %s %s", it.PrincipalID, it.AssignmentID, it.State, it.Detail)
		}
	}
	if len(again.Items) != len(res.Items) {
		t.Errorf("rerun: %d rows, want the %d of the first run", len(again.Items), len(res.Items))
	}
	for _, r := range tn.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("the rerun sent %s %s", r.Method, r.Path)
		}
	}
}

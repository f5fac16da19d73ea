package main

// Kill -9 from inside the tenant: the job is killed while a request it sent
// is in flight, after the tenant has acted on it and before the answer goes
// out, so that the change is made and the job never hears of it. Then the
// rerun must lose nothing and redo nothing.

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/simtenant"
)

// killer is a run that the tenant kills at one of its requests.
type killer struct {
	cmd    *exec.Cmd
	tn     *simtenant.Tenant
	n      int
	exited chan struct{}
	count  atomic.Int64
	mu     sync.Mutex
	landed *http.Request // the request the kill landed in; nil until then
	proc   *os.Process
}

// killAt starts cmd and kills it with SIGKILL once the tenant has acted on
// the nth request match accepts (nil: every request but a $batch envelope,
// whose sub-requests count one each), before that request's answer is
// sent. The tenant goes on only once the process is gone.
func killAt(t *testing.T, tn *simtenant.Tenant, cmd *exec.Cmd, n int, match func(*http.Request) bool) *killer {
	t.Helper()
	k := &killer{cmd: cmd, tn: tn, n: n, exited: make(chan struct{})}
	tn.AddRule(simtenant.Rule{Acted: func(r *http.Request) {
		if isBatchPath(r.URL.Path) || match != nil && !match(r) || k.count.Add(1) != int64(n) {
			return
		}
		k.mu.Lock()
		k.landed = r
		proc := k.proc
		k.mu.Unlock()
		_ = proc.Signal(syscall.SIGKILL)
		<-k.exited
	}})
	k.mu.Lock() // the process is known before any of its requests arrives
	err := cmd.Start()
	k.proc = cmd.Process
	k.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(k.exited) }()
	return k
}

func isBatchPath(p string) bool { return p == "/v1.0/$batch" }

// wait waits for the run to end and returns the request the kill landed
// in. A run that ended before its kill fails the test: it proved nothing.
func (k *killer) wait(t *testing.T) *http.Request {
	t.Helper()
	select {
	case <-k.exited:
	case <-time.After(5 * time.Minute):
		_ = k.cmd.Process.Kill()
		t.Fatal("the run neither ended nor was killed in 5 minutes")
	}
	// The tenant finishes what it was doing when the job died (the rest
	// of a batch the kill landed in, say): only then is its log complete.
	for k.tn.InFlight() > 0 {
		time.Sleep(time.Millisecond)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.landed == nil {
		t.Fatalf("the run ended by itself (exit %d) after %d of the %d requests the kill waited for: the kill never landed",
			k.cmd.ProcessState.ExitCode(), k.count.Load(), k.n)
	}
	return k.landed
}

func isWrite(r *http.Request) bool { return r.Method != http.MethodGet && !isBatchPath(r.URL.Path) }

// journaledDone returns the keys (principal|source|assignment) the journal
// of dir holds an outcome for that ends the row (removed, already-absent,
// ...). A run killed before it wrote its journal has none.
func journaledDone(t *testing.T, dir string) map[string]bool {
	t.Helper()
	items, err := report.ReadItems(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatalf("the killed run's journal does not read back: %v", err)
	}
	done := map[string]bool{}
	for _, it := range items {
		if it.State.Done() {
			done[it.PrincipalID+"|"+it.Source+"|"+it.AssignmentID] = true
		}
	}
	return done
}

// killNineAndRerun runs the job over m, killed by the tenant at the nth
// request match accepts, tears the journal's last line when tear is set,
// reruns it, and checks that nothing was lost or done twice: one removed
// row per assignment; every removal the killed run made is reported
// removed, and `confirmed absent on rerun` exactly when its outcome did not
// reach the journal; the rerun writes to nothing the killed run removed,
// and removes everything else; nothing is left in the tenant.
func (m *mixed) killNineAndRerun(t *testing.T, env []string, n int, match func(*http.Request) bool, tear bool) {
	t.Helper()
	dir := t.TempDir()
	landed := killAt(t, m.Tenant, m.command(t, env, m.runArgs(dir)...), n, match).wait(t)
	m.ClearRules()
	torn := false
	if tear {
		torn = tearJournal(t, dir+"/journal.jsonl")
	}
	killed := m.removalsSeen(t)
	journaled := journaledDone(t, dir)

	m.ResetRequests()
	r := m.offboard(t, nil, m.runArgs(dir)...)
	wantCode(t, r, 0)
	if torn && !strings.Contains(r.stderr, "dropped its last line") {
		t.Errorf("the rerun does not say it dropped the torn line:\n%s", r.stderr)
	}

	rows := readReport(t, dir)
	got := map[string]row{}
	var confirmed, wantConfirmed []string
	for _, row := range rows {
		k := rowKey(row)
		if _, dup := got[k]; dup {
			t.Errorf("two rows for %s", k)
		}
		got[k] = row
		if row["status"] != "removed" {
			t.Errorf("%s: %s %s", k, row["status"], row["detail"])
		}
		if strings.Contains(row["detail"], "confirmed absent on rerun") {
			confirmed = append(confirmed, k)
		}
	}
	if len(rows) != len(m.keys) {
		t.Errorf("%d rows for %d assignments", len(rows), len(m.keys))
	}
	for _, k := range m.keys {
		if _, ok := got[k]; !ok {
			t.Errorf("no row for %s", k)
		}
	}
	for k := range killed {
		if got[k]["status"] != "removed" {
			t.Errorf("the tenant removed %s before the kill, the report says %v", k, got[k])
		}
		if !journaled[k] {
			wantConfirmed = append(wantConfirmed, k)
		}
	}
	slices.Sort(confirmed)
	slices.Sort(wantConfirmed)
	if !slices.Equal(confirmed, wantConfirmed) {
		t.Errorf("confirmed absent on rerun: %d rows %v; want the %d removals the killed run made and did not journal %v",
			len(confirmed), confirmed, len(wantConfirmed), wantConfirmed)
	}
	for k := range m.writesSeen(t, false) {
		if killed[k] {
			t.Errorf("the rerun sent a write for %s, which the killed run removed", k)
		}
	}
	if rerun := m.removalsSeen(t); len(killed)+len(rerun) != len(m.keys) {
		t.Errorf("the killed run made %d removals and the rerun %d, for %d assignments", len(killed), len(rerun), len(m.keys))
	}
	if n := m.left(); n != 0 {
		t.Errorf("%d assignments left in the tenant", n)
	}
	if _, err := report.ReadItems(dir); err != nil {
		t.Errorf("the journal does not read back: %v", err)
	}
	t.Logf("killed in %s %s; the killed run made %d of %d removals, %d of them unjournaled; journal torn: %v",
		landed.Method, landed.URL.Path, len(killed), len(m.keys), len(wantConfirmed), torn)
}

// requestsOf counts the requests a whole run over a fresh m sends (each
// sub-request of a $batch one), and the position of its first write.
func requestsOf(t *testing.T, seed uint64, principals int, latency time.Duration, env []string) (total, firstWrite int) {
	t.Helper()
	ref := newMixed(t, seed, principals, latency)
	wantCode(t, ref.offboard(t, env, ref.runArgs(t.TempDir())...), 0)
	for _, r := range ref.Requests() {
		if isBatch(r) {
			continue
		}
		total++
		if firstWrite == 0 && r.Method != http.MethodGet {
			firstWrite = total
		}
	}
	return total, firstWrite
}

// TestKillNineAtThreeInstants is make stress's kill test, small enough for
// make test: three kills of a run over every source, at its first write,
// half-way through its writes (one request a removal, the journal's last
// line torn), and at its last write.
func TestKillNineAtThreeInstants(t *testing.T) {
	t.Parallel()
	const principals, latency = 8, 5 * time.Millisecond
	const seed = 3
	batched := []string{"OFFBOARD_CONCURRENCY=4"}
	single := []string{"OFFBOARD_CONCURRENCY=4", "OFFBOARD_GRAPH_BATCH_SIZE=1"}
	// Three directory roles, one eligibility, one membership and one ARM
	// role each; each sub-request of a $batch counts.
	writes := 6 * principals
	cases := []struct {
		name  string
		env   []string
		n     int
		match func(*http.Request) bool
		tear  bool
	}{
		{"first write", batched, 1, isWrite, false},
		{"half-way through the writes, torn", single, writes / 2, isWrite, true},
		{"last write", batched, writes, isWrite, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			newMixed(t, seed, principals, latency).killNineAndRerun(t, c.env, c.n, c.match, c.tear)
		})
	}
}

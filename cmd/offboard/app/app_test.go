package app

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
	"github.com/offboard/offboard/report/location"
)

// heldRoles is a source over a map of what principals hold: it lists and
// removes from the map, and counts the removals it was asked for.
type heldRoles struct {
	mu       sync.Mutex
	held     map[string][]job.Assignment
	removals int
}

func (h *heldRoles) Name() string { return job.SourceDirectory }

func (h *heldRoles) Find(_ context.Context, ps []job.Principal) ([]job.Assignment, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []job.Assignment
	for _, p := range ps {
		out = append(out, h.held[p.ID]...)
	}
	return out, nil
}

func (h *heldRoles) Remove(_ context.Context, a job.Assignment) (job.Outcome, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removals++
	delete(h.held, a.PrincipalID)
	return job.Outcome{State: job.Removed}, nil
}

func (h *heldRoles) Resolve(context.Context, []job.UserKey) map[job.UserKey]job.Resolution {
	return nil
}

func (h *heldRoles) GlobalAdmins(context.Context) ([]job.AdminHolder, error) { return nil, nil }

// TestRunDrivenThroughDeps runs the command as cmd/offboard does, with
// the services handed in: the run removes what the principal holds and
// writes the report; its rerun into the same location sends nothing.
func TestRunDrivenThroughDeps(t *testing.T) {
	const who = "0b8a6f1e-4f1d-4c55-9a3e-7f2b9e0c1d2a"
	src := &heldRoles{held: map[string][]job.Assignment{who: {{Source: job.SourceDirectory, ID: "assignment-1",
		PrincipalID: who, RoleDefinitionID: "role-1", Scope: "/"}}}}
	dir := t.TempDir()
	in, rep := filepath.Join(dir, "leavers.csv"), filepath.Join(dir, "report")
	if err := os.WriteFile(in, []byte("principal_id\n"+who+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OFFBOARD_STATIC_TOKEN": "token", location.KeyEnv: "app-test-journal-key-0123456789abcdef"}
	var built []Config
	d := Deps{
		Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Log: zap.NewNop(),
		Services: func(c Config, _ transport.Credentials, _ *zap.Logger, _ GateWatcher) (Services, error) {
			built = append(built, c)
			return Services{Sources: []job.Source{src}, Directory: src, Admins: src}, nil
		},
	}
	c := Config{Input: in, Report: rep, Sources: []string{job.SourceDirectory}, Concurrency: 2, MaxRemovals: 10,
		Cloud: "public", GraphEndpoint: "http://127.0.0.1:1", SelfID: "9d3c1f0a-2b4e-4c6d-8e7f-0a1b2c3d4e5f",
		MaxAttempts: 1, Grace: time.Second, GraphBatchSize: 1}
	var err error
	if c.InputAt, err = location.Parse(in); err != nil {
		t.Fatal(err)
	}
	if c.ReportAt, err = location.Parse(rep); err != nil {
		t.Fatal(err)
	}

	if code := Run(context.Background(), c, d); code != ExitOK {
		t.Fatalf("run exited %d", code)
	}
	csv, err := os.ReadFile(filepath.Join(rep, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if src.removals != 1 || len(src.held) != 0 || !bytes.Contains(csv, []byte("assignment-1")) || !bytes.Contains(csv, []byte(",removed,")) {
		t.Fatalf("%d removals, %d principals still holding; report:\n%s", src.removals, len(src.held), csv)
	}
	if len(built) != 1 || strings.Join(built[0].Sources, ",") != job.SourceDirectory {
		t.Errorf("services built %d times, for %v", len(built), built)
	}

	if code := Run(context.Background(), c, d); code != ExitOK {
		t.Fatalf("rerun exited %d", code)
	}
	again, _ := os.ReadFile(filepath.Join(rep, "report.csv"))
	if src.removals != 1 || !bytes.Equal(again, csv) {
		t.Errorf("the rerun sent %d removals in all and rewrote the report:\n%s\nwas\n%s", src.removals, again, csv)
	}
}

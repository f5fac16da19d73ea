package main

// Issue 27 item 11: a run refused because the report directory is busy
// names the run holding it (run id, start, host, pid), and says when the
// lock is stale.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/location"
	"github.com/offboard/offboard/simtenant"
)

func TestLockBusyNamesTheRunHoldingIt(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 278})
	id, _ := tn.user("ada@contoso.com", 1)
	input := writeCSV(t, "principal_id", id)
	dir := filepath.Join(t.TempDir(), "report")
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir), 0)
	// A restore holds the directory, in this process.
	key, err := report.NewKey([]byte(testJournalKey))
	if err != nil {
		t.Fatal(err)
	}
	started := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	held, err := report.OpenRestore(dir, report.RunInfo{ID: "20261123T020000Z-0123456789abcdef", StartedAt: started, Key: key, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	for _, args := range [][]string{
		{"run", "--input", input, "--report", dir},
		{"restore", "--report", dir, "--all"},
	} {
		r := tn.offboard(t, nil, args...)
		wantCode(t, r, 2)
		for _, want := range []string{"report directory is in use by another run", "held by restore 20261123T020000Z-0123456789abcdef",
			"started 2026-11-23T02:00:00Z", `on host \"` + host + `\"`, "pid " + strconv.Itoa(os.Getpid()), "that process is running"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", args[0], want, r.stderr)
			}
		}
	}
	if err := held.Close(); err != nil {
		t.Fatal(err)
	}

	// A record whose process is gone, while another holds the lock: stale.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	pid := gone.ProcessState.Pid()
	lock := filepath.Join(dir, ".lock")
	record := `{"run_id":"20261122T020000Z-fedcba9876543210","command":"run","started_at":"2026-11-22T02:00:00Z","host":` +
		strconv.Quote(host) + `,"pid":` + strconv.Itoa(pid) + "}\n"
	if err := os.WriteFile(lock, []byte(record), 0o640); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(lock, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	r := tn.offboard(t, nil, "run", "--input", input, "--report", dir)
	wantCode(t, r, 2)
	for _, want := range []string{"held by run 20261122T020000Z-fedcba9876543210", "the record is stale",
		"process " + strconv.Itoa(pid) + " no longer runs on this host", "fuser -v " + lock} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	// Free again: the run goes ahead, and its lock leaves no record.
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir), 0)
	if b, err := os.ReadFile(lock); err != nil || len(b) != 0 {
		t.Errorf("lock file after the run: %q, %v; want it empty", b, err)
	}
}

func TestBlobLockBusyNamesTheRunHoldingIt(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	tn := startTenant(t, simtenant.Config{Seed: 279})
	id, _ := tn.user("lease@contoso.com", 1)
	incoming := az.container(t, "incoming")
	az.container(t, "reports")
	put(t, incoming, "in.csv", csvOf(id))
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + az.conn}
	where := az.root + "/reports/r/"
	loc, err := location.Parse(where)
	if err != nil {
		t.Fatal(err)
	}
	// A run holds the location's lease, in this process.
	storage := &location.Storage{ConnectionString: az.conn, Log: zap.NewNop()}
	started := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	held, err := storage.OpenReport(context.Background(), loc, strings.Repeat("cd", 32),
		report.RunInfo{ID: "20261123T020000Z-0123456789abcdef", StartedAt: started})
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	r := tn.offboard(t, env, "run", "--input", az.root+"/incoming/in.csv", "--report", where)
	wantCode(t, r, 2)
	for _, want := range []string{"report directory is in use by another run", where + ".lock", "held by run 20261123T020000Z-0123456789abcdef",
		"started 2026-11-23T02:00:00Z", `on host \"` + host + `\"`, "pid " + strconv.Itoa(os.Getpid()),
		"its lease lasts 1m0s and is renewed every 20s", "expires by itself within 1m0s"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if err := held.Close(); err != nil {
		t.Fatal(err)
	}
	// Released: the record goes with the lease.
	props, err := az.container(t, "reports").NewBlobClient("r/.lock").GetProperties(context.Background(), nil)
	if err != nil || report.HolderFromMetadata(props.Metadata) != nil {
		t.Errorf("the lock blob's metadata after release: %v, %v; want no holder", props.Metadata, err)
	}
}

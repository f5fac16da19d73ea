package report

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBusyNamesTheRunHoldingTheLock(t *testing.T) {
	dir := t.TempDir()
	started := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	info := runInfo("run-1", false)
	info.StartedAt = started
	d := mustOpen(t, dir, inputA, info)
	_, err := Open(dir, inputA, runInfo("run-2", false))
	var busy *BusyError
	if !errors.As(err, &busy) || !errors.Is(err, ErrBusy) {
		t.Fatalf("second Open: %v, want a *BusyError wrapping ErrBusy", err)
	}
	host, _ := os.Hostname()
	if h := busy.Holder; h == nil || h.RunID != "run-1" || h.Command != "run" || !h.StartedAt.Equal(started) || h.Host != host || h.PID != os.Getpid() {
		t.Fatalf("holder %+v", busy.Holder)
	}
	for _, want := range []string{"run-1", "2026-11-23T02:00:00Z", strconv.Quote(host), "pid " + strconv.Itoa(os.Getpid()), "that process is running"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if _, err := OpenRestore(dir, runInfo("restore-1", false)); !errors.As(err, &busy) || busy.Holder == nil || busy.Holder.RunID != "run-1" {
		t.Errorf("a restore while the run works: %v", err)
	}
	mustClose(t, d)
	// Released: the record goes with the lock.
	if b, err := os.ReadFile(filepath.Join(dir, lockName)); err != nil || len(b) != 0 {
		t.Errorf("lock file after Close: %q, %v; want it empty", b, err)
	}
	r, err := OpenRestore(dir, runInfo("restore-2", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, inputA, runInfo("run-3", false)); !errors.As(err, &busy) || busy.Holder == nil || busy.Holder.Command != "restore" {
		t.Errorf("a run while a restore works: %v, want the restore named", err)
	}
	mustClose(t, r)
}

func TestBusyLocalSaysWhetherTheHolderRuns(t *testing.T) {
	host, _ := os.Hostname()
	record := func(h string) []byte {
		return []byte(`{"run_id":"20261123T020000Z-ab","command":"run","started_at":"2026-11-23T02:00:00Z","host":` + strconv.Quote(h) + `,"pid":4242}`)
	}
	for _, tc := range []struct {
		name   string
		record []byte
		alive  bool
		want   []string
	}{
		{"running", record(host), true, []string{"held by run 20261123T020000Z-ab", "pid 4242", "that process is running", "kill 4242"}},
		{"stale", record(host), false, []string{"held by run 20261123T020000Z-ab", "the record is stale", "process 4242 no longer runs", "fuser -v /r/.lock"}},
		{"other host", record("elsewhere"), false, []string{`on host "elsewhere"`, "another host"}},
		{"no record", nil, false, []string{"the holder recorded nothing", "fuser -v /r/.lock"}},
		{"not a record", []byte("garbage"), true, []string{"the holder recorded nothing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := busyLocal("/r/.lock", tc.record, func(pid int) bool { return tc.alive && pid == 4242 })
			if !errors.Is(err, ErrBusy) {
				t.Fatalf("%v does not wrap ErrBusy", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

func TestBusyLeaseNamesWhatIsKnown(t *testing.T) {
	h := Holder{RunID: "20261123T020000Z-ab", Command: "restore", StartedAt: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), Host: "replica-7", PID: 1}
	md := map[string]*string{}
	for k, v := range h.Metadata() {
		md[strings.ToUpper(k[:1])+k[1:]] = v // Blob Storage may answer the names in another case
	}
	if got := HolderFromMetadata(md); got == nil || *got != h {
		t.Fatalf("HolderFromMetadata = %+v, want %+v", got, h)
	}
	for _, tc := range []struct {
		md       map[string]*string
		duration string
		want     []string
	}{
		{md, "fixed", []string{"held by restore 20261123T020000Z-ab", "2026-11-23T02:00:00Z", `"replica-7"`, "expires by itself within 1m0s"}},
		{nil, "fixed", []string{"the holder recorded nothing", "within 1m0s"}},
		{md, "infinite", []string{"infinite", "az storage blob lease break"}},
	} {
		err := BusyLease("https://a.blob.core.windows.net/reports/r/.lock", tc.md, tc.duration, time.Minute, 20*time.Second)
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("%v does not wrap ErrBusy", err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q lacks %q", err, w)
			}
		}
	}
}

package main

// Issue 15, item 3: --processed. A drop-folder file that finished cleanly
// leaves the drop folder for the processed location, under its name plus
// the run id; a failed one stays for the next run; a process killed
// between the copy and the delete leaves what the next run finishes.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/offboard/offboard/simtenant"
)

// names lists the blobs under prefix.
func names(t *testing.T, c *container.Client, prefix string) []string {
	t.Helper()
	var out []string
	pager := c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			out = append(out, *b.Name)
		}
	}
	slices.Sort(out)
	return out
}

// files lists the file names of a local directory.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// runIDIn reads the run id of a summary.json.
func runIDIn(t *testing.T, data []byte) string {
	t.Helper()
	var s struct {
		RunID string `json:"run_id"`
	}
	if err := json.Unmarshal(data, &s); err != nil || s.RunID == "" {
		t.Fatalf("summary.json without run_id: %v\n%s", err, data)
	}
	return s.RunID
}

func TestProcessedMovesCleanFilesAndKeepsFailedOnes(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	tn := startTenant(t, simtenant.Config{Seed: 40})
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + az.conn}
	drop := az.container(t, "drop")
	for _, kind := range []string{"local", "blob"} {
		t.Run(kind, func(t *testing.T) {
			a, _ := tn.user("pa-"+kind+"@contoso.com", 1)
			b, bIDs := tn.user("pb-"+kind+"@contoso.com", 1)
			tn.AddRule(simtenant.Rule{Method: "DELETE", PathContains: bIDs[0], Status: 403, Code: "Authorization_RequestDenied", Message: "no"})
			clean, failing := csvOf(a), csvOf(b)
			in, rep, done := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "processed")
			// incoming lists the drop folder; moved is the processed
			// location's files; summary reads a file's summary.json.
			incoming := func() []string { return files(t, in) }
			moved := func() []string { return files(t, done) }
			summary := func(name string) []byte {
				data, err := os.ReadFile(filepath.Join(rep, name, "summary.json"))
				if err != nil {
					t.Fatal(err)
				}
				return data
			}
			movedContent := func(name string) []byte {
				data, _ := os.ReadFile(filepath.Join(done, name))
				return data
			}
			for name, data := range map[string][]byte{"1-mon.csv": clean, "2-tue.csv": failing} {
				if err := os.WriteFile(filepath.Join(in, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
				put(t, drop, kind+"/incoming/"+name, data)
			}
			if kind == "blob" {
				in, rep, done = az.root+"/drop/blob/incoming/", az.root+"/drop/blob/reports/", az.root+"/drop/blob/processed/"
				incoming = func() []string { return names(t, drop, "blob/incoming/") }
				moved = func() []string { return names(t, drop, "blob/processed/") }
				summary = func(name string) []byte { return get(t, drop, "blob/reports/"+name+"/summary.json") }
				movedContent = func(name string) []byte { return get(t, drop, "blob/processed/"+name) }
			}
			base := func(list []string) []string {
				var out []string
				for _, n := range list {
					out = append(out, n[strings.LastIndex(n, "/")+1:])
				}
				return out
			}

			// A plan moves nothing, even of a file it finds clean.
			wantCode(t, tn.offboard(t, env, "plan", "--input", in, "--report", rep, "--processed", done), 0)
			if got := base(incoming()); len(got) != 2 || len(moved()) != 0 {
				t.Fatalf("after a plan: incoming %v, processed %v", got, moved())
			}
			wantCode(t, tn.offboard(t, env, "run", "--input", in, "--report", rep+"x/"), 1) // without the flag: as today
			if got := base(incoming()); len(got) != 2 {
				t.Fatalf("a run without --processed moved files: incoming %v", got)
			}

			// Through its variable, as deploy/ sets it.
			wantCode(t, tn.offboard(t, append(env, "OFFBOARD_PROCESSED="+done), "run", "--input", in, "--report", rep), 1)
			want := []string{"1-mon." + runIDIn(t, summary("1-mon")) + ".csv"}
			if got := base(moved()); !slices.Equal(got, want) {
				t.Errorf("processed holds %v, want %v", got, want)
			}
			if got := movedContent(want[0]); !bytes.Equal(got, clean) {
				t.Errorf("the moved file holds %q, want %q", got, clean)
			}
			if got := base(incoming()); !slices.Equal(got, []string{"2-tue.csv"}) {
				t.Errorf("incoming holds %v, want the failed file only", got)
			}

			// The failed file, once it runs cleanly, goes too; the moved
			// one is not run again.
			tn.ClearRules()
			tn.ResetRequests()
			wantCode(t, tn.offboard(t, env, "run", "--input", in, "--report", rep, "--processed", done), 0)
			want = append(want, "2-tue."+runIDIn(t, summary("2-tue"))+".csv")
			slices.Sort(want)
			if got := base(moved()); !slices.Equal(got, want) {
				t.Errorf("processed holds %v, want %v", got, want)
			}
			if got := incoming(); len(got) != 0 {
				t.Errorf("incoming still holds %v", got)
			}
			// It was run again, not taken as finished: its role is gone.
			if n := len(tn.RoleAssignmentsOf(b)); n != 0 || !bytes.Contains(summary("2-tue"), []byte(`"exit_code": 0`)) {
				t.Errorf("the failed file was not run again to a clean end: %d roles left\n%s", n, summary("2-tue"))
			}
			for _, req := range tn.Requests() {
				if strings.Contains(req.RawQuery, a) {
					t.Errorf("the rerun listed the moved file's principal: %s?%s", req.Path, req.RawQuery)
				}
			}
		})
	}
}

// killedAfterCopy runs offboard with the seam that kills it (SIGKILL)
// between the copy and the delete, and checks that it was killed.
func killedAfterCopy(t *testing.T, tn *tenant, env []string, args ...string) {
	t.Helper()
	cmd := tn.command(t, append(env, killAfterCopyEnv+"=1"), args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("offboard was not killed: %v\n%s", err, errb.String())
	}
	if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("offboard ended %v, not by SIGKILL:\n%s", err, errb.String())
	}
}

func TestProcessedKillBetweenCopyAndDeleteFinishedByRerun(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	tn := startTenant(t, simtenant.Config{Seed: 41})
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + az.conn}
	drop := az.container(t, "drop")
	a, _ := tn.user("kill@contoso.com", 1)
	put(t, drop, "incoming/1-mon.csv", csvOf(a))
	args := []string{"run", "--input", az.root + "/drop/incoming/", "--report", az.root + "/drop/reports/",
		"--processed", az.root + "/drop/processed/"}

	killedAfterCopy(t, tn, env, args...)
	if got := names(t, drop, "incoming/"); !slices.Equal(got, []string{"incoming/1-mon.csv"}) {
		t.Fatalf("after the kill, incoming holds %v", got)
	}
	copied := names(t, drop, "processed/")
	if len(copied) != 1 {
		t.Fatalf("after the kill, processed holds %v, want the copy", copied)
	}

	tn.ResetRequests()
	wantCode(t, tn.offboard(t, env, args...), 0)
	if got := names(t, drop, "incoming/"); len(got) != 0 {
		t.Errorf("the rerun left %v in incoming", got)
	}
	if got := names(t, drop, "processed/"); !slices.Equal(got, copied) {
		t.Errorf("processed holds %v, want %v as the killed run left it", got, copied)
	}
	if !bytes.Equal(get(t, drop, copied[0]), csvOf(a)) {
		t.Error("the processed copy does not hold the file")
	}
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("the rerun of a finished file sent %s %s", w[0].Method, w[0].Path)
	}
}

// A local drop folder and a processed directory on another file system
// (/dev/shm is a tmpfs): the move is a copy, synced, then the removal of
// the source; a kill between the two is finished by the rerun.
func TestProcessedLocalAcrossFileSystems(t *testing.T) {
	t.Parallel()
	shm, err := os.MkdirTemp("/dev/shm", "offboard-processed-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(shm) })
	var a, b syscall.Stat_t
	done := filepath.Join(t.TempDir(), "processed")
	if syscall.Stat(shm, &a) != nil || syscall.Stat(filepath.Dir(done), &b) != nil || a.Dev == b.Dev {
		t.Skip("/dev/shm is not another file system here")
	}
	tn := startTenant(t, simtenant.Config{Seed: 42})
	id, _ := tn.user("shm@contoso.com", 1)
	if err := os.WriteFile(filepath.Join(shm, "1-mon.csv"), csvOf(id), 0o600); err != nil {
		t.Fatal(err)
	}
	rep := t.TempDir()
	args := []string{"run", "--input", shm, "--report", rep, "--processed", done}

	killedAfterCopy(t, tn, nil, args...)
	if got := files(t, shm); !slices.Equal(got, []string{"1-mon.csv"}) {
		t.Fatalf("after the kill, the drop folder holds %v", got)
	}
	copied := files(t, done)
	if len(copied) != 1 || !strings.HasPrefix(copied[0], "1-mon.") {
		t.Fatalf("after the kill, processed holds %v", copied)
	}
	wantCode(t, tn.offboard(t, nil, args...), 0)
	if got := files(t, shm); len(got) != 0 {
		t.Errorf("the rerun left %v in the drop folder", got)
	}
	if got := files(t, done); !slices.Equal(got, copied) {
		t.Errorf("processed holds %v, want %v", got, copied)
	}
	if data, _ := os.ReadFile(filepath.Join(done, copied[0])); !bytes.Equal(data, csvOf(id)) {
		t.Errorf("the moved file holds %q", data)
	}
}

func TestProcessedRefusals(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 43})
	id, _ := tn.user("ref@contoso.com", 1)
	in := t.TempDir()
	file := filepath.Join(in, "1.csv")
	if err := os.WriteFile(file, csvOf(id), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"single file":    {"--input", file, "--processed", t.TempDir()},
		"the drop":       {"--input", in, "--processed", in + "/"},
		"blob for local": {"--input", in, "--processed", "https://acct.blob.core.windows.net/processed/"},
		"a SAS":          {"--input", in, "--processed", "https://acct.blob.core.windows.net/processed/?sig=SECRET"},
		"a dot segment":  {"--input", in, "--processed", "https://acct.blob.core.windows.net/processed/../x/"},
	} {
		r := tn.offboard(t, nil, append([]string{"run", "--report", t.TempDir()}, args...)...)
		wantCode(t, r, 2)
		if strings.Contains(r.stderr, "SECRET") {
			t.Errorf("%s: the SAS reached the log: %s", name, r.stderr)
		}
		if len(tn.Requests()) != 0 {
			t.Errorf("%s: a refused run sent %d requests", name, len(tn.Requests()))
		}
		if got := files(t, in); !slices.Equal(got, []string{"1.csv"}) {
			t.Errorf("%s: the drop folder holds %v", name, got)
		}
	}
}

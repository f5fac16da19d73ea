package main

// End-to-end tests of issue 18: whoever can write the report location or a
// drop folder cannot turn the job. Each test is named after a finding of
// the issue and fails on the code before it (see SECURITY.md).

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/location"
	"github.com/offboard/offboard/simtenant"
)

// unsignedLine returns a journal line without its MAC, as an attacker
// without the key can write it.
func unsignedLine(line string) string {
	if i := strings.LastIndex(line, `,"mac":"`); i >= 0 {
		return line[:i] + "}\n"
	}
	return line
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// Finding 1: a forged plan line for Global Administrator and a `removed`
// outcome appended to journal.jsonl made `restore` grant it. Now the
// restore grants nothing and exits 2, naming the file and line, with or
// without --trust-unsigned.
func TestForgedGlobalAdminLineMakesRestoreGrantNothing(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 181})
	id, ids := tn.user("leaver@contoso.com", 1)
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir), 0)

	path := filepath.Join(dir, "journal.jsonl")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var plan string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if strings.Contains(l, `"type":"plan"`) && strings.Contains(l, ids[0]) {
			plan = unsignedLine(l)
		}
	}
	if plan == "" {
		t.Fatal("no plan line for the assignment")
	}
	role := tn.RoleAssignmentsOf(id) // none: the run removed it
	if len(role) != 0 {
		t.Fatalf("the run left %v", role)
	}
	lines := strings.Count(string(b), "\n")
	forged := strings.ReplaceAll(plan, ids[0], "forged-ga")
	for _, r := range []string{simtenant.UserAdministrator, simtenant.HelpdeskAdministrator} {
		forged = strings.ReplaceAll(forged, r, simtenant.GlobalAdministrator)
	}
	if !strings.Contains(forged, simtenant.GlobalAdministrator) {
		t.Fatalf("could not forge a Global Administrator line from %s", plan)
	}
	outcome := `{"type":"outcome","principal_id":"` + id + `","source":"directory","assignment_id":"forged-ga","line":2,"state":"removed","detail":"","attempts":1,"updated_at":""}` + "\n"
	appendFile(t, path, forged+outcome)
	before, _ := os.ReadFile(path)

	for _, extra := range [][]string{nil, {"--trust-unsigned"}} {
		tn.ResetRequests()
		r := tn.offboard(t, nil, append([]string{"restore", "--report", dir, "--principal", id}, extra...)...)
		wantCode(t, r, 2)
		if !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "line "+itoa(lines+1)) {
			t.Errorf("stderr does not name %s line %d:\n%s", path, lines+1, r.stderr)
		}
		if w := tn.writes(); len(w) != 0 {
			t.Errorf("the restore sent %s %s %s", w[0].Method, w[0].Path, w[0].Body)
		}
		for _, a := range tn.RoleAssignmentsOf(id) {
			t.Errorf("the restore granted %s", a.RoleDefinitionID)
		}
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("the refused restore changed the journal")
	}
	if _, err := os.Stat(filepath.Join(dir, "restore.jsonl")); err == nil {
		t.Error("the refused restore wrote restore.jsonl")
	}
	// And every other command stops too.
	r := tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir)
	wantCode(t, r, 2)
}

func itoa(n int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

// Finding 2: an appended `removed` outcome made the next run report
// removed an assignment the tenant still held, and send nothing. In an
// authenticated journal the line stops the run (exit 2); in a journal
// written before records were authenticated the run reads it, and the
// tenant beats it: the assignment is removed.
func TestAppendedRemovedOutcomeDoesNotHideAHeldAssignment(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 182})
	id, ids := tn.user("leaver@contoso.com", 2)
	input := writeCSV(t, "principal_id", id)
	data, _ := os.ReadFile(input)
	sum := sha256.Sum256(data)

	// Authenticated: a dry run plans, a forged outcome is appended.
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "plan", "--input", input, "--report", dir), 0)
	forged := `{"type":"outcome","principal_id":"` + id + `","source":"directory","assignment_id":"` + ids[0] + `","line":2,"state":"removed","detail":"","attempts":1,"updated_at":""}` + "\n"
	appendFile(t, filepath.Join(dir, "journal.jsonl"), forged)
	tn.ResetRequests()
	r := tn.offboard(t, nil, "run", "--input", input, "--report", dir)
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, "journal.jsonl line") {
		t.Errorf("stderr does not name the line:\n%s", r.stderr)
	}
	if n := len(tn.writes()); n != 0 {
		t.Errorf("the refused run sent %d writes", n)
	}

	// Written before records were authenticated (no key), with the
	// forged outcome in it.
	legacy := t.TempDir()
	d, err := report.Open(legacy, hex.EncodeToString(sum[:]), report.RunInfo{ID: "old"})
	if err != nil {
		t.Fatal(err)
	}
	items := []job.Item{{PrincipalID: id, Source: "directory", AssignmentID: ids[0], State: job.Planned, Line: 2}}
	if err := d.Plan(slices.Values(items)); err != nil {
		t.Fatal(err)
	}
	items[0].State = job.Removed
	if err := d.Outcome(items[0]); err != nil {
		t.Fatal(err)
	}
	_ = d.Close()
	r = tn.offboard(t, nil, "run", "--input", input, "--report", legacy)
	wantCode(t, r, 0)
	if !strings.Contains(r.stderr, "before records were authenticated") {
		t.Errorf("the run does not say the journal is unauthenticated:\n%s", r.stderr)
	}
	if held := tn.RoleAssignmentsOf(id); len(held) != 0 {
		t.Errorf("the tenant still holds %v", held)
	}
	deleted := false
	for _, w := range tn.writes() {
		deleted = deleted || strings.HasSuffix(w.Path, "/"+ids[0])
	}
	if !deleted {
		t.Error("no DELETE for the assignment the forged line said was removed")
	}
	// restore refuses that report unless told to trust it.
	wantCode(t, tn.offboard(t, nil, "restore", "--all", "--report", legacy, "--dry-run"), 2)
	wantCode(t, tn.offboard(t, nil, "restore", "--all", "--report", legacy, "--dry-run", "--trust-unsigned"), 0)
}

// dropFolder makes a drop folder holding the named CSVs, each naming id,
// and an empty reports root beside it; it returns both.
func dropFolder(t *testing.T, id string, names ...string) (string, string) {
	t.Helper()
	root := t.TempDir()
	in, reports := filepath.Join(root, "in"), filepath.Join(root, "reports")
	for _, d := range []string{in, reports} {
		if err := os.Mkdir(d, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(in, n), []byte("principal_id\n"+id+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return in, reports
}

// Finding 2: a one-line summary.json with exit_code 0 and the input's hash
// made a drop-folder file `already finished cleanly: skipped`. Now it is
// not authentic: the file is not skipped, and its report location is
// refused (exit 2, naming summary.json).
func TestForgedSummaryDoesNotSkipDropFolderFile(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 183})
	id, _ := tn.user("leaver@contoso.com", 1)
	in, reports := dropFolder(t, id, "a.csv")
	data, _ := os.ReadFile(filepath.Join(in, "a.csv"))
	sum := sha256.Sum256(data)
	if err := os.Mkdir(filepath.Join(reports, "a"), 0o750); err != nil {
		t.Fatal(err)
	}
	forged := `{"run_id":"x","input_sha256":"` + hex.EncodeToString(sum[:]) + `","exit_code":0}` + "\n"
	if err := os.WriteFile(filepath.Join(reports, "a", "summary.json"), []byte(forged), 0o640); err != nil {
		t.Fatal(err)
	}
	r := tn.offboard(t, nil, "run", "--input", in, "--report", reports)
	if strings.Contains(r.stderr, "already finished cleanly") {
		t.Fatalf("the forged summary skipped the file:\n%s", r.stderr)
	}
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, "summary.json") {
		t.Errorf("stderr does not name summary.json:\n%s", r.stderr)
	}
	if len(tn.RoleAssignmentsOf(id)) != 1 || len(tn.writes()) != 0 {
		t.Error("the refused file was acted on")
	}

	// The job's own summary skips it, once the forged one is gone.
	_ = os.RemoveAll(filepath.Join(reports, "a"))
	wantCode(t, tn.offboard(t, nil, "run", "--input", in, "--report", reports), 0)
	r = tn.offboard(t, nil, "run", "--input", in, "--report", reports)
	wantCode(t, r, 0)
	if !strings.Contains(r.stderr, "already finished cleanly") {
		t.Errorf("the authentic summary did not skip the file:\n%s", r.stderr)
	}
}

// Finding 5: a journal.jsonl symlink overwrote its target.
func TestJournalSymlinkNotFollowed(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 184})
	id, _ := tn.user("leaver@contoso.com", 1)
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "precious")
	if err := os.WriteFile(target, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "journal.jsonl")); err != nil {
		t.Fatal(err)
	}
	r := tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir)
	wantCode(t, r, 2)
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("the link's target now holds %q", b)
	}
	if len(tn.writes()) != 0 {
		t.Error("the refused run sent writes")
	}
}

// Finding 5: a planted per-file report directory symlink replaced another
// directory's report.csv.
func TestPlantedReportDirSymlinkRefused(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 185})
	id, _ := tn.user("leaver@contoso.com", 1)
	in, reports := dropFolder(t, id, "a.csv")
	victim := t.TempDir()
	if err := os.WriteFile(filepath.Join(victim, "report.csv"), []byte("precious\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(reports, "a")); err != nil {
		t.Fatal(err)
	}
	r := tn.offboard(t, nil, "run", "--input", in, "--report", reports)
	wantCode(t, r, 2)
	if b, _ := os.ReadFile(filepath.Join(victim, "report.csv")); string(b) != "precious\n" {
		t.Errorf("the planted link's target report.csv now holds %q", b)
	}
	if entries, _ := os.ReadDir(victim); len(entries) != 1 {
		t.Errorf("the run wrote into the link's target: %v", entries)
	}
	if !strings.Contains(r.stderr, "symbolic link") {
		t.Errorf("stderr does not say why:\n%s", r.stderr)
	}
}

// Finding 5: drop-folder files named `...csv`, `..csv` and `.csv` wrote
// their report into the parent of --report, or its root. They are refused
// and stay (and so is `watch.csv`); the other files go ahead.
func TestDotNamedDropFilesRefused(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 186})
	id, _ := tn.user("leaver@contoso.com", 1)
	// watch.csv's report would land in {root}/watch, which a watch
	// never reads as an offboarding.
	names := []string{"...csv", "..csv", ".csv", "bad\x01.csv", "Watch.csv"}
	in, reports := dropFolder(t, id, append(names, "ok.csv")...)
	parent := filepath.Dir(reports)
	r := tn.offboard(t, nil, "run", "--input", in, "--report", reports)
	wantCode(t, r, 2)
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(in, n)); err != nil {
			t.Errorf("%q did not stay: %v", n, err)
		}
	}
	for _, p := range []string{filepath.Join(parent, "report.csv"), filepath.Join(parent, "journal.jsonl"),
		filepath.Join(reports, "report.csv"), filepath.Join(reports, "journal.jsonl")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a refused name wrote %s", p)
		}
	}
	if _, err := os.Stat(filepath.Join(reports, "ok", "report.csv")); err != nil {
		t.Errorf("ok.csv was not run: %v", err)
	}
	if n := strings.Count(r.stderr, "drop-folder file refused"); n != len(names) {
		t.Errorf("%d refusals logged, want %d:\n%s", n, len(names), r.stderr)
	}
}

// Finding 5: a symlink in a local drop folder was read as input, and a
// FIFO hung the job. Both are refused, without reading or waiting.
func TestDropFolderSymlinkAndFIFORefused(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 187})
	id, _ := tn.user("leaver@contoso.com", 1)
	in, reports := dropFolder(t, id)
	outside := filepath.Join(t.TempDir(), "secret.csv")
	if err := os.WriteFile(outside, []byte("principal_id\n"+id+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(in, "link.csv")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(in, "fifo.csv"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := tn.offboard(t, nil, "run", "--input", in, "--report", reports)
	wantCode(t, r, 2)
	if n := strings.Count(r.stderr, "not a regular file"); n != 2 {
		t.Errorf("%d files refused as not regular, want 2:\n%s", n, r.stderr)
	}
	if len(tn.RoleAssignmentsOf(id)) != 1 || len(tn.writes()) != 0 {
		t.Error("the linked file's content was acted on")
	}
}

// Finding 6: a SAS URL given as --input or --report was logged with its
// signature, twice.
func TestSASSignatureNotInLogs(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 188})
	const sig = "c2VjcmV0LXNhcy1zaWduYXR1cmU"
	sas := "https://acct.blob.core.windows.net/incoming/in.csv?sv=2022-11-02&sp=r&sig=" + sig
	for _, args := range [][]string{
		{"run", "--input", sas, "--report", t.TempDir()},
		{"run", "--input", writeCSV(t, "principal_id"), "--report", sas},
		{"plan", "--input", sas, "--report", t.TempDir(), "--log-format", "console"},
	} {
		r := tn.offboard(t, nil, args...)
		wantCode(t, r, 2)
		if strings.Contains(r.stderr+r.stdout, sig) {
			t.Errorf("%v: the signature is in the output:\n%s", args, r.stderr)
		}
	}
}

// The key file: created on first use with mode 0600 under the
// configuration directory, used again by the next command; refused inside
// the report location.
func TestJournalKeyFile(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 189})
	id, _ := tn.user("leaver@contoso.com", 1)
	config := t.TempDir()
	env := []string{location.KeyEnv, "XDG_CONFIG_HOME=" + config}
	dir := t.TempDir()
	r := tn.offboard(t, env, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir)
	wantCode(t, r, 0)
	keyFile := filepath.Join(config, "offboard", "journal.key")
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("no key file: %v\n%s", err, r.stderr)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(r.stderr, keyFile) {
		t.Errorf("the run does not say it created %s:\n%s", keyFile, r.stderr)
	}
	wantCode(t, tn.offboard(t, env, "restore", "--all", "--report", dir, "--dry-run"), 0)
	// Under another key (the tests' variable), the records are not the job's.
	wantCode(t, tn.offboard(t, nil, "restore", "--all", "--report", dir, "--dry-run"), 2)

	inside := []string{location.KeyEnv, location.KeyFileEnv + "=" + filepath.Join(dir, "sub", "journal.key")}
	r = tn.offboard(t, inside, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir)
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, "inside the report location") {
		t.Errorf("stderr does not say why:\n%s", r.stderr)
	}
}

// Issue 24 item 8: the key file is the job's own. Another local user
// planted journal.key (mode 0600, theirs) in a world-writable
// ~/.config/offboard, signed a journal under it, and restore granted
// Global Administrator. Now that key file, and one of theirs in a
// directory only they could write, are refused before anything is sent
// (exit 2, saying how to fix it); so are OFFBOARD_JOURNAL_KEY set but
// empty, and a key file inside the drop folder.
func TestJournalKeyFileIsTheJobsOwn(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 191})
	id, _ := tn.user("leaver@contoso.com", 0)

	const planted = "a-key-another-local-user-chose-0123456789"
	config := t.TempDir()
	keyDir := filepath.Join(config, "offboard")
	keyFile := filepath.Join(keyDir, "journal.key")
	if err := os.Mkdir(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte(planted+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(keyFile, 65534, 65534); err != nil {
		t.Skipf("cannot give the key file to another user as user %d, so cannot plant one: %v", os.Geteuid(), err)
	}
	// A journal fully signed under the planted key: the leaver's Global
	// Administrator assignment, removed.
	dir := t.TempDir()
	key, err := report.NewKey([]byte(planted))
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now().Add(-time.Hour).UTC()
	d, err := report.Open(dir, strings.Repeat("ab", 32), report.RunInfo{ID: "20000101T000000Z-0000000000000000", StartedAt: started, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Plan(slices.Values([]job.Item{{PrincipalID: id, Source: job.SourceDirectory, AssignmentID: "forged-ga",
		RoleDefinitionID: simtenant.GlobalAdministrator, Scope: "/", State: job.Removed, UpdatedAt: started}})); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	env := []string{location.KeyEnv, "XDG_CONFIG_HOME=" + config}
	for _, tc := range []struct {
		name string
		mode os.FileMode
		want string
	}{
		{"in a world-writable directory (the issue)", 0o777, "chmod go-w " + keyDir},
		{"in the job's own directory", 0o700, "owned by user 65534"},
	} {
		if err := os.Chmod(keyDir, tc.mode); err != nil {
			t.Fatal(err)
		}
		tn.ResetRequests()
		r := tn.offboard(t, env, "restore", "--report", dir, "--principal", id)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("another user's key file %s: exit %d, want 2 saying %q:\n%s", tc.name, r.code, tc.want, r.stderr)
		}
		if w := tn.writes(); len(w) != 0 {
			t.Errorf("another user's key file %s: the restore sent %s %s %s", tc.name, w[0].Method, w[0].Path, w[0].Body)
		}
		for _, a := range tn.RoleAssignmentsOf(id) {
			t.Errorf("another user's key file %s: the restore granted %s", tc.name, a.RoleDefinitionID)
		}
	}

	tn.ResetRequests()
	r := tn.offboard(t, []string{location.KeyEnv + "=", location.KeyFileEnv + "=" + filepath.Join(t.TempDir(), "journal.key")},
		"run", "--input", writeCSV(t, "principal_id", id), "--report", t.TempDir())
	if r.code != 2 || !strings.Contains(r.stderr, location.KeyEnv+" is set but empty") {
		t.Errorf("%s set but empty: exit %d, want 2 saying so:\n%s", location.KeyEnv, r.code, r.stderr)
	}

	drop := filepath.Dir(writeCSV(t, "principal_id", id))
	inDrop := filepath.Join(drop, "journal.key")
	r = tn.offboard(t, []string{location.KeyEnv, location.KeyFileEnv + "=" + inDrop}, "run", "--input", drop, "--report", t.TempDir())
	if r.code != 2 || !strings.Contains(r.stderr, "inside the drop folder") {
		t.Errorf("a key file in the drop folder: exit %d, want 2 saying so:\n%s", r.code, r.stderr)
	}
	if _, err := os.Lstat(inDrop); err == nil {
		t.Error("a key file was created in the drop folder")
	}
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("sent %s %s", w[0].Method, w[0].Path)
	}
}

// Finding 5: the job ignored SIGTERM while it waited on its input. An
// input that never ends (a pipe whose writer stays) no longer holds it:
// SIGTERM stops it with exit 4, having done nothing.
func TestSIGTERMHonouredWhileReadingInput(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 190})
	fifo := filepath.Join(t.TempDir(), "in.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A writer that never writes nor closes: opened read-write, which
	// does not wait for a reader.
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd := tn.command(t, nil, "run", "--input", fifo, "--report", t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	// Once the job holds the FIFO open, it is reading it (its signal
	// handling was set up before).
	for !holds(cmd.Process.Pid, fifo) {
		select {
		case <-exited:
			t.Fatalf("the job exited before reading its input:\n%s", stderr.String())
		default:
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-exited
	if code := cmd.ProcessState.ExitCode(); code != app.ExitInterrupted {
		t.Fatalf("exit code %d, want %d\n%s", code, app.ExitInterrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted while reading the input") {
		t.Errorf("stderr does not say why:\n%s", stderr.String())
	}
	if len(tn.Requests()) != 0 {
		t.Errorf("the interrupted job sent %d requests", len(tn.Requests()))
	}
}

// holds reports whether process pid has path open.
func holds(pid int, path string) bool {
	dir := filepath.Join("/proc", itoa(pid), "fd")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && target == path {
			return true
		}
	}
	return false
}

package main

// End-to-end tests of issue 24 items 6 and 7: a watch whose evidence is
// refused fails loudly, and no report directory is reached through a
// link. Each fails on the code before them (see SECURITY.md).

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/simtenant"
)

// alterJournal swaps, in a report's journal, one principal id for another:
// the line no longer verifies.
func alterJournal(t *testing.T, path, from, to string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	altered := bytes.ReplaceAll(b, []byte(from), []byte(to))
	if bytes.Equal(altered, b) {
		t.Fatalf("%s does not name %s", path, from)
	}
	if err := os.WriteFile(path, altered, 0o640); err != nil {
		t.Fatal(err)
	}
}

// Item 6: a tampered journal under the reports root gave two warnings,
// `principals: 0`, and exit 0 with attestation exit_code 0: the watch was
// blind and said nothing. Now every way evidence is refused (a journal
// altered, a restore journal altered, a journal replaced by a link) makes
// the watch exit 1, and the attestation names what and why.
func TestWatchRefusedEvidenceExits1(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 240})
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir, ann, other string)
		// file is what the attestation names as refused.
		file string
	}{
		{"journal altered", func(t *testing.T, dir, ann, other string) {
			alterJournal(t, filepath.Join(dir, "journal.jsonl"), ann, other)
		}, "journal.jsonl"},
		{"restore journal altered", func(t *testing.T, dir, ann, other string) {
			wantCode(t, tn.offboard(t, nil, "restore", "--report", dir, "--principal", ann), 0)
			alterJournal(t, filepath.Join(dir, "restore.jsonl"), ann, other)
		}, "restore.jsonl"},
		{"journal replaced by a link", func(t *testing.T, dir, ann, other string) {
			j := filepath.Join(dir, "journal.jsonl")
			moved := filepath.Join(t.TempDir(), "journal.jsonl")
			if err := os.Rename(j, moved); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(moved, j); err != nil {
				t.Fatal(err)
			}
		}, "journal.jsonl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ann, _ := tn.user("ann-"+strings.ReplaceAll(tc.name, " ", "-")+"@contoso.com", 1)
			other, _ := tn.user("other-"+strings.ReplaceAll(tc.name, " ", "-")+"@contoso.com", 1)
			root := t.TempDir()
			dir := filepath.Join(root, "d1")
			wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", ann), "--report", dir), 0)
			tc.tamper(t, dir, ann, other)

			watchDir := filepath.Join(root, "w")
			r := tn.offboard(t, nil, "watch", "--reports", root, "--report", watchDir)
			wantCode(t, r, 1)
			att := readAttestation(t, watchDir)
			if att.ExitCode != 1 {
				t.Errorf("attestation exit_code %d, want 1", att.ExitCode)
			}
			if len(att.Refused) != 1 || att.Refused[0].Report != "d1" || att.Refused[0].File != tc.file || att.Refused[0].Problem == "" {
				t.Fatalf("refused %+v, want d1's %s with why", att.Refused, tc.file)
			}
			html, err := os.ReadFile(filepath.Join(watchDir, "attestation.html"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(html, []byte(`id="refused"`)) || !bytes.Contains(html, []byte("d1/"+tc.file)) {
				t.Errorf("attestation.html does not list the refused evidence:\n%s", html)
			}
			if !strings.Contains(r.stderr, "evidence refused") {
				t.Errorf("the watch does not say its evidence was refused:\n%s", r.stderr)
			}
		})
	}
}

// today is the watch's default report directory name.
func today() string { return time.Now().UTC().Format(time.DateOnly) }

// precious makes a directory holding one file, as a link's target.
func precious(t *testing.T) string {
	t.Helper()
	victim := t.TempDir()
	if err := os.WriteFile(filepath.Join(victim, "report.csv"), []byte("precious\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	return victim
}

// untouched fails the test when precious's directory changed.
func untouched(t *testing.T, victim string) {
	t.Helper()
	if b, _ := os.ReadFile(filepath.Join(victim, "report.csv")); string(b) != "precious\n" {
		t.Errorf("the link's target report.csv now holds %q", b)
	}
	entries, _ := os.ReadDir(victim)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 1 {
		t.Errorf("the command wrote into the link's target: %v", names)
	}
}

// Item 7: a symbolic link planted at reports/watch/<today>, or at
// reports/watch, made the watch write its lock, journal, report and
// attestation wherever the link points. Now the watch refuses (exit 2),
// sends no write and leaves the target untouched.
func TestWatchReportDirLinkRefused(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 241})
	for _, planted := range []string{"watch/today", "watch"} {
		t.Run(planted, func(t *testing.T) {
			ann, _ := tn.user("ann-"+strings.ReplaceAll(planted, "/", "-")+"@contoso.com", 1)
			root := t.TempDir()
			wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", ann), "--report", filepath.Join(root, "d1")), 0)
			tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: ann, RoleDefinitionID: simtenant.SecurityReader, DirectoryScopeID: "/"})
			victim := precious(t)
			link := filepath.Join(root, "watch")
			if planted == "watch/today" {
				if err := os.Mkdir(link, 0o750); err != nil {
					t.Fatal(err)
				}
				link = filepath.Join(link, today())
			}
			if err := os.Symlink(victim, link); err != nil {
				t.Fatal(err)
			}
			tn.ResetRequests()
			r := tn.offboard(t, nil, "watch", "--reports", root)
			wantCode(t, r, 2)
			untouched(t, victim)
			if w := tn.writes(); len(w) != 0 {
				t.Errorf("the refused watch sent %s %s", w[0].Method, w[0].Path)
			}
			if !strings.Contains(r.stderr, "symbolic link") {
				t.Errorf("stderr does not say why:\n%s", r.stderr)
			}
		})
	}
}

// Item 7: a report directory that is a link (`run --report reports/a`,
// `restore --report reports/a`, with a planted in the place of the
// directory) was followed: the run wrote its report into the target, the
// restore its restore journal. Both now refuse (exit 2), the target
// untouched.
func TestReportDirLinkRefused(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 242})
	ann, _ := tn.user("ann@contoso.com", 1)
	reports := t.TempDir()

	victim := precious(t)
	link := filepath.Join(reports, "a")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	r := tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", ann), "--report", link)
	wantCode(t, r, 2)
	untouched(t, victim)
	if len(tn.writes()) != 0 || len(tn.RoleAssignmentsOf(ann)) != 1 {
		t.Error("the refused run sent writes")
	}

	// A real report, reached through a link in the place of another.
	real := filepath.Join(t.TempDir(), "d1")
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", ann), "--report", real), 0)
	restoreLink := filepath.Join(reports, "b")
	if err := os.Symlink(real, restoreLink); err != nil {
		t.Fatal(err)
	}
	tn.ResetRequests()
	wantCode(t, tn.offboard(t, nil, "restore", "--report", restoreLink, "--principal", ann), 2)
	if _, err := os.Lstat(filepath.Join(real, "restore.jsonl")); err == nil {
		t.Error("the refused restore wrote restore.jsonl into the link's target")
	}
	if len(tn.writes()) != 0 || len(tn.RoleAssignmentsOf(ann)) != 0 {
		t.Error("the refused restore granted something")
	}
}

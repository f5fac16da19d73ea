package report

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/offboard/offboard/job"
)

// Issue 24 item 7: no report directory is reached through a link.

// victimDir makes a directory holding one file, as a link's target.
func victimDir(t *testing.T) string {
	t.Helper()
	v := t.TempDir()
	if err := os.WriteFile(filepath.Join(v, "report.csv"), []byte("precious\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	return v
}

func checkVictim(t *testing.T, v string) {
	t.Helper()
	entries, _ := os.ReadDir(v)
	b, _ := os.ReadFile(filepath.Join(v, "report.csv"))
	if len(entries) != 1 || string(b) != "precious\n" {
		t.Errorf("the link's target changed: %d entries, report.csv %q", len(entries), b)
	}
}

// A link at the report directory, or at any element below the base the
// operator named, is refused with ErrTampered and nothing is written
// through it; a link in the base itself is the operator's, and followed.
func TestOpenRefusesALinkedReportDirectory(t *testing.T) {
	for _, planted := range []string{"watch", "watch/2026-03-04"} {
		t.Run(planted, func(t *testing.T) {
			base, victim := t.TempDir(), victimDir(t)
			if err := os.MkdirAll(filepath.Dir(filepath.Join(base, planted)), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, filepath.Join(base, planted)); err != nil {
				t.Fatal(err)
			}
			d, err := OpenIn(base, "watch/2026-03-04", inputA, runInfo("r", false))
			if err == nil {
				d.Close()
			}
			if !errors.Is(err, ErrTampered) {
				t.Errorf("OpenIn through a link at %s: %v, want ErrTampered", planted, err)
			}
			checkVictim(t, victim)
		})
	}
	t.Run("report directory", func(t *testing.T) {
		victim := victimDir(t)
		link := filepath.Join(t.TempDir(), "a")
		if err := os.Symlink(victim, link); err != nil {
			t.Fatal(err)
		}
		for name, open := range map[string]func() (*Dir, error){
			"Open":        func() (*Dir, error) { return Open(link, inputA, runInfo("r", false)) },
			"OpenRestore": func() (*Dir, error) { return OpenRestore(link, runInfo("r", false)) },
		} {
			d, err := open()
			if err == nil {
				d.Close()
			}
			if !errors.Is(err, ErrTampered) {
				t.Errorf("%s through a link: %v, want ErrTampered", name, err)
			}
		}
		if err := Probe(link); !errors.Is(err, ErrTampered) {
			t.Errorf("Probe through a link: %v, want ErrTampered", err)
		}
		checkVictim(t, victim)
	})
	t.Run("base is the operator's", func(t *testing.T) {
		real := t.TempDir()
		base := filepath.Join(t.TempDir(), "reports")
		if err := os.Symlink(real, base); err != nil {
			t.Fatal(err)
		}
		mustClose(t, mustOpenIn(t, base, "a"))
		if _, err := os.Stat(filepath.Join(real, "a", journalName)); err != nil {
			t.Errorf("no journal under the base's target: %v", err)
		}
	})
}

func mustOpenIn(t *testing.T, base, rel string) *Dir {
	t.Helper()
	d, err := OpenIn(base, rel, inputA, runInfo("r", false))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The files of an open report directory are created relative to it: when
// the directory is swapped for a link after it was opened, the report,
// summary, attestation and journal still go into the directory opened,
// never the link's target.
func TestFilesAreCreatedInTheDirectoryOpened(t *testing.T) {
	base, victim := t.TempDir(), victimDir(t)
	dir := filepath.Join(base, "a")
	d := mustOpenIn(t, base, "a")
	moved := filepath.Join(base, "moved")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, dir); err != nil {
		t.Fatal(err)
	}
	it := job.Item{PrincipalID: "p", Source: job.SourceDirectory, AssignmentID: "x", State: job.Removed, UpdatedAt: t0}
	if err := d.Plan(slices.Values([]job.Item{it})); err != nil {
		t.Fatal(err)
	}
	if err := d.Outcome(it); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteReport([]job.Item{it}); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteSummary(Summary{RunID: "r", InputSHA256: inputA, StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteAttestation(Attestation{RunID: "r"}); err != nil {
		t.Fatal(err)
	}
	mustClose(t, d)
	checkVictim(t, victim)
	for _, name := range []string{journalName, reportName, summaryName, attestationName, attestationHTMLName} {
		if _, err := os.Lstat(filepath.Join(moved, name)); err != nil {
			t.Errorf("%s is not in the directory opened: %v", name, err)
		}
	}
}

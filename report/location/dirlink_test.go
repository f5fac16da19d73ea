package location

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/offboard/offboard/report"
)

// Issue 24 item 7: the watch's default report location, {root}/watch/{date},
// is opened without following a link at watch/ or at {date}; the root is
// the operator's.
func TestOpenReportRefusesALinkBelowTheRoot(t *testing.T) {
	for _, planted := range []string{"watch", "watch/2026-03-04"} {
		t.Run(planted, func(t *testing.T) {
			root, victim := t.TempDir(), t.TempDir()
			if err := os.MkdirAll(filepath.Dir(filepath.Join(root, planted)), 0o750); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(victim, filepath.Join(root, planted)); err != nil {
				t.Fatal(err)
			}
			l := mustParse(t, root).Join("watch").Join("2026-03-04")
			r, err := (&Storage{}).OpenReport(t.Context(), l, "", report.RunInfo{ID: "r"})
			if err == nil {
				_ = r.Close()
			}
			if !errors.Is(err, report.ErrTampered) {
				t.Errorf("OpenReport through a link at %s: %v, want ErrTampered", planted, err)
			}
			if entries, _ := os.ReadDir(victim); len(entries) != 0 {
				t.Errorf("written into the link's target: %v", entries)
			}
		})
	}
	// Without a link, the directories are made.
	root := t.TempDir()
	r, err := (&Storage{}).OpenReport(t.Context(), mustParse(t, root).Join("watch").Join("2026-03-04"), "", report.RunInfo{ID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	if _, err := os.Stat(filepath.Join(root, "watch", "2026-03-04", "journal.jsonl")); err != nil {
		t.Error(err)
	}
}

func TestDirParts(t *testing.T) {
	root := mustParse(t, "/r/")
	for _, tc := range []struct {
		l         Location
		base, rel string
	}{
		{mustParse(t, "/r/a/"), "/r", "a"},
		{mustParse(t, "reports"), ".", "reports"},
		{mustParse(t, "."), ".", "."},
		{root.Join("a"), "/r", "a"},
		{root.Join("watch").Join("2026-03-04"), "/r", "watch/2026-03-04"},
	} {
		if base, rel := tc.l.dirParts(); base != tc.base || filepath.ToSlash(rel) != tc.rel {
			t.Errorf("%s: %q, %q; want %q, %q", tc.l, base, rel, tc.base, tc.rel)
		}
	}
}

package location

// Tests moved from cmd/offboard/tamper_test.go with the code they test
// (issue 16): OpenRegular and the key file's place.

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func mustParse(t *testing.T, spec string) Location {
	t.Helper()
	l, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// OpenRegular, which reads drop-folder files, refuses a link and a FIFO
// without following or waiting.
func TestOpenRegularRefusesLinkAndFIFO(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target.csv")
	if err := os.WriteFile(target, []byte("principal_id\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "link.csv")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.csv"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"link.csv", "fifo.csv"} {
		if f, err := OpenRegular(filepath.Join(dir, name)); err == nil {
			_ = f.Close()
			t.Errorf("%s opened", name)
		}
	}
	f, err := OpenRegular(target)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
}

// A key file is inside the report location however the two are spelled:
// through a link, or before either exists.
func TestKeyFileInsideReportLocationRefused(t *testing.T) {
	root := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(root, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ key, report string }{
		{filepath.Join(root, "reports", "k", "journal.key"), filepath.Join(root, "reports")},
		{filepath.Join(link, "reports", "journal.key"), filepath.Join(root, "reports")},
		{filepath.Join(root, "reports", "journal.key"), filepath.Join(link, "reports")},
		{filepath.Join(root, "journal.key"), root},
	} {
		if err := outside(tc.key, mustParse(t, tc.report)); err == nil {
			t.Errorf("key %s accepted inside report %s", tc.key, tc.report)
		}
	}
	for _, tc := range []struct{ key, report string }{
		{filepath.Join(root, "config", "journal.key"), filepath.Join(root, "reports")},
		{filepath.Join(root, "reports-key"), filepath.Join(root, "reports")},
	} {
		if err := outside(tc.key, mustParse(t, tc.report)); err != nil {
			t.Errorf("key %s refused beside report %s: %v", tc.key, tc.report, err)
		}
	}
}

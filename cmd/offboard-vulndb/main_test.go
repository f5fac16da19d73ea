package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// The fixture's module root, as in the zip the proxy serves; its
// pseudo-version dates the snapshot 2026-11-05T23:49:57Z.
const root = "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018"

// The index of testdata/osv: GO-2024-0002 keeps its own modified time
// (in UTC, to the second), the others, undated, get the snapshot's.
var wantIndex = map[string]string{
	"db.json": `{"modified":"2026-11-05T23:49:57Z"}`,
	"modules.json": `[` +
		`{"path":"example.com/a","vulns":[` +
		`{"id":"GO-2024-0001","modified":"2026-11-05T23:49:57Z","fixed":"2.4.0"},` +
		`{"id":"GO-2024-0002","modified":"2024-03-01T11:30:00Z"}]},` +
		`{"path":"example.com/b","vulns":[` +
		`{"id":"GO-2024-0001","modified":"2026-11-05T23:49:57Z","fixed":"0.2.0-rc.1"}]},` +
		`{"path":"stdlib","vulns":[` +
		`{"id":"GO-2024-0003","modified":"2026-11-05T23:49:57Z","fixed":"1.26.9"}]}]`,
	"vulns.json": `[` +
		`{"id":"GO-2024-0001","modified":"2026-11-05T23:49:57Z","aliases":["CVE-2024-0001","GHSA-aaaa-bbbb-cccc"]},` +
		`{"id":"GO-2024-0002","modified":"2024-03-01T11:30:00Z"},` +
		`{"id":"GO-2024-0003","modified":"2026-11-05T23:49:57Z"}]`,
}

// moduleZip writes testdata/osv into a module zip laid out as the proxy's,
// with an entry-like file elsewhere in the module that must be ignored.
func moduleZip(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, b []byte) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	add(root+"/go.mod", []byte("module golang.org/x/vulndb\n"))
	add(root+"/internal/x/testdata/data/osv/GO-1999-0001.json", []byte(`{"id":"GO-1999-0001"}`))
	names, err := filepath.Glob("testdata/osv/*.json")
	if err != nil || len(names) == 0 {
		t.Fatalf("fixture: %v %v", names, err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		add(root+"/data/osv/"+filepath.Base(name), b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vulndb.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRun(t *testing.T) {
	t.Parallel()
	zipPath := moduleZip(t)
	parent := t.TempDir()
	out := filepath.Join(parent, "db")
	if err := run([]string{"-zip", zipPath, "-out", out}, io.Discard); err != nil {
		t.Fatal(err)
	}

	for file, want := range wantIndex {
		got, err := os.ReadFile(filepath.Join(out, "index", file))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("index/%s:\n got %s\nwant %s", file, got, want)
		}
	}
	ids, err := os.ReadDir(filepath.Join(out, "ID"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 {
		t.Errorf("ID/ holds %d files, want the fixture's 3", len(ids))
	}
	for _, id := range ids {
		got, err := os.ReadFile(filepath.Join(out, "ID", id.Name()))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata/osv", id.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("ID/%s is not the entry byte for byte", id.Name())
		}
	}
	if left, _ := filepath.Glob(filepath.Join(parent, ".vulndb-*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}

	// Built once: a second run leaves the database alone.
	err = run([]string{"-zip", zipPath, "-out", out}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second run: %v, want already exists", err)
	}
}

func TestBuildRejects(t *testing.T) {
	t.Parallel()
	for name, osv := range map[string]fstest.MapFS{
		"no entries":  {"README.md": {Data: []byte("x")}},
		"id mismatch": {"GO-2024-0001.json": {Data: []byte(`{"id":"GO-2024-0002"}`)}},
		"no id":       {"GO-2024-0001.json": {Data: []byte(`{}`)}},
		"not json":    {"GO-2024-0001.json": {Data: []byte(`id: GO-2024-0001`)}},
	} {
		if _, err := build(osv, time.Now(), t.TempDir()); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

func TestLatestFixed(t *testing.T) {
	t.Parallel()
	semverRange := func(events ...osvEvent) osvRange { return osvRange{Type: "SEMVER", Events: events} }
	intro := func(v string) osvEvent { return osvEvent{Introduced: v} }
	fixed := func(v string) osvEvent { return osvEvent{Fixed: v} }
	for _, tc := range []struct {
		name   string
		ranges []osvRange
		want   string
	}{
		{"none", nil, ""},
		{"never fixed", []osvRange{semverRange(intro("0"))}, ""},
		{"fixed", []osvRange{semverRange(intro("0"), fixed("1.0.4"))}, "1.0.4"},
		{"re-introduced", []osvRange{semverRange(intro("0"), fixed("1.0.4"), intro("1.1.2"))}, ""},
		{"unsorted", []osvRange{semverRange(fixed("1.0.4"), intro("1.1.2"), intro("0"))}, ""},
		{"semver order, not text", []osvRange{semverRange(intro("0"), fixed("1.9.0"), intro("1.10.0"), fixed("1.10.1"))}, "1.10.1"},
		{"prerelease before release", []osvRange{semverRange(intro("0"), fixed("2.0.0-rc.1"), fixed("2.0.0"))}, "2.0.0"},
		{"across ranges", []osvRange{semverRange(intro("0"), fixed("1.2.0")), semverRange(intro("2.0.0"), fixed("2.1.0"))}, "2.1.0"},
		{"other types ignored", []osvRange{{Type: "ECOSYSTEM", Events: []osvEvent{fixed("9.9.9")}}, semverRange(intro("0"), fixed("0.3.0"))}, "0.3.0"},
	} {
		if got := latestFixed(tc.ranges); got != tc.want {
			t.Errorf("%s: latestFixed = %q, want %q", tc.name, got, tc.want)
		}
	}
}

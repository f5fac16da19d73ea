package main

// Issue 27: nothing that looks like success when nothing was done, and a
// nightly file with problems can be finished.

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

func TestEmptySourcesAreRefusedAndNamesAreCaseInsensitive(t *testing.T) {
	tn := startTenant(t, simtenant.Config{Seed: 1})
	id, _ := tn.user("ada@contoso.com", 1)
	input := writeCSV(t, "principal_id", id)
	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"flag empty", nil, []string{"--sources", ""}},
		{"flag blank", nil, []string{"--sources", " "}},
		{"variable empty", []string{"OFFBOARD_SOURCES="}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "report")
			r := tn.offboard(t, tc.env, append([]string{"run", "--input", input, "--report", dir}, tc.args...)...)
			wantCode(t, r, 2)
			if !strings.Contains(r.stderr, "--sources names no source") {
				t.Errorf("stderr does not say why:\n%s", r.stderr)
			}
		})
	}
	if n := len(tn.writes()); n != 0 {
		t.Fatalf("%d writes after refused runs", n)
	}
	dir := filepath.Join(t.TempDir(), "report")
	r := tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "Directory")
	wantCode(t, r, 0)
	if rows := readReport(t, dir); len(rows) != 1 || rows[0]["status"] != "removed" || rows[0]["source"] != "directory" {
		t.Fatalf("rows %v", rows)
	}
}

func TestUnknownVariableIsAWarningNamingTheClosest(t *testing.T) {
	tn := startTenant(t, simtenant.Config{Seed: 1})
	id, _ := tn.user("ada@contoso.com", 1)
	input := writeCSV(t, "principal_id", id)
	dir := filepath.Join(t.TempDir(), "report")
	r := tn.offboard(t, []string{"OFFBOARD_SOURCSE=directory", "OFFBOARD_PRINCIPAL=x", "OFFBOARD_AUTH=x", "OFFBOARD_TENANT_ID=x"},
		"plan", "--input", input, "--report", dir)
	wantCode(t, r, 0)
	if !strings.Contains(r.stderr, `"variable":"OFFBOARD_SOURCSE"`) || !strings.Contains(r.stderr, "did you mean OFFBOARD_SOURCES?") {
		t.Errorf("no warning naming OFFBOARD_SOURCSE and OFFBOARD_SOURCES:\n%s", r.stderr)
	}
	for _, known := range []string{"OFFBOARD_PRINCIPAL", "OFFBOARD_AUTH", "OFFBOARD_TENANT_ID", "OFFBOARD_STATIC_TOKEN", "OFFBOARD_JOURNAL_KEY", "OFFBOARD_GRAPH_ENDPOINT"} {
		if strings.Contains(r.stderr, `"variable":"`+known+`"`) {
			t.Errorf("warned about %s, which the job reads", known)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"OFFBOARD_SOURCSE", "OFFBOARD_SOURCES", 2}, {"kitten", "sitting", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	got := unknownVariables([]string{"OFFBOARD_SOURCSE=x", "OFFBOARD_MAX_REMOVAL=3", "OFFBOARD_INPUT=in", "OFFBOARD_TEST_AS_MAIN=1", "PATH=/bin"})
	want := [][2]string{{"OFFBOARD_SOURCSE", "OFFBOARD_SOURCES"}, {"OFFBOARD_MAX_REMOVAL", "OFFBOARD_MAX_REMOVALS"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("unknownVariables = %v, want %v", got, want)
	}
}

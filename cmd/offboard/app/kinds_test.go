package app

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/graph"
)

// TestKindsRegistry: the adapters' tables make one registry, every kind
// with permissions, the sources in the order of the tables (Graph's, apps
// among them, then ARM's), and the README's
// table of kinds names each of them with its source.
func TestKindsRegistry(t *testing.T) {
	r := Kinds()
	if got := KnownSources(); !slices.Equal(got, []string{job.SourceDirectory, job.SourcePIM, job.SourceGroups, job.SourceApps, job.SourceAzure, job.SourceKeyVault}) {
		t.Errorf("KnownSources = %v", got)
	}
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range r.Kinds() {
		if len(k.Permissions) == 0 || k.What == "" {
			t.Errorf("kind %s names no permission or no description", k.Name)
		}
		if row := "| `" + k.Name + "` | `" + k.Source + "` |"; !strings.Contains(string(readme), row) {
			t.Errorf("the README's table of kinds has no row starting %q", row)
		}
	}
}

// TestReadmePermissionsAreTheKinds: the README's table of Graph
// permissions names exactly what check asks for: every permission a
// Graph kind of access names, User.Read.All for the input's user keys,
// and the optional Directory.Read.All; deploy/README.md grants each.
func TestReadmePermissionsAreTheKinds(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	table := readmeTable(t, string(readme), "The identity needs these Microsoft Graph **application** permissions:")
	want := []string{graph.PermUserKeys, graph.PermDirectoryRead}
	for _, k := range graph.Kinds() {
		want = append(want, k.Permissions...)
	}
	for _, p := range append([]string{}, want...) {
		if !slices.Contains(table, p) {
			t.Errorf("the README's permissions table has no row for %s", p)
		}
	}
	for _, p := range table {
		if !slices.Contains(want, p) {
			t.Errorf("the README's permissions table names %s, which no kind needs", p)
		}
	}
	deploy, err := os.ReadFile("../../../deploy/README.md")
	if err != nil {
		t.Fatal(err)
	}
	// Every grant loop: the default sources', and those of the sources
	// not in the default (apps).
	var granted []string
	for _, loop := range strings.Split(string(deploy), "for perm in")[1:] {
		loop = loop[:strings.Index(loop, "; do")]
		granted = append(granted, strings.Fields(strings.ReplaceAll(loop, "\\", " "))...)
	}
	for _, p := range want {
		// GroupMember.Read.All comes with GroupMember.ReadWrite.All.
		if p != "GroupMember.Read.All" && !slices.Contains(granted, p) {
			t.Errorf("deploy/README.md does not grant %s", p)
		}
	}
}

// readmeTable returns the first cells (between backquotes) of the rows of
// the table that follows start in the README.
func readmeTable(t *testing.T, text, start string) []string {
	t.Helper()
	at := strings.Index(text, start)
	if at < 0 {
		t.Fatalf("the README has no %q", start)
	}
	var table []string
	for i, line := range strings.Split(text[at+len(start):], "\n") {
		if i > 0 && line == "" && len(table) > 0 {
			break
		}
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cell, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "`")
		table = append(table, cell)
	}
	return table
}

// TestReadmeARMActionsAreTheKinds: the README's tables of ARM actions,
// one per source on ARM, name exactly what the registry's kinds of the
// source need (what offboard check judges at each scope), and for azure
// the management group expansion, which check does not judge (it is no
// action at a subscription).
func TestReadmeARMActionsAreTheKinds(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string]struct {
		start string
		extra []string
	}{
		job.SourceAzure:    {"these actions: `User Access Administrator` has them all", []string{"Microsoft.Management/managementGroups/descendants/read"}},
		job.SourceKeyVault: {"For the `keyvault` source, at the same scopes", nil},
	}
	for _, source := range KnownSources() {
		if !OnARM(source) {
			continue
		}
		tb, ok := tables[source]
		if !ok {
			t.Errorf("source %s is on ARM and the README has no table of its actions", source)
			continue
		}
		want := append(Kinds().Permissions(source), tb.extra...)
		got := readmeTable(t, string(readme), tb.start)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("the README's actions for %s are %v, the kinds need %v", source, got, want)
		}
	}
}

package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/offboard/offboard/simtenant"
	"github.com/offboard/offboard/simtenant/demo"
)

// TestEveryRegisteredKindIsSimulated: the demo's sources are every source
// the registry knows, and a run with them on the demo's sample removes at
// least one row of every registered kind. A kind registered without
// routes in the simulated tenant (or without a place in its sample)
// fails here.
func TestEveryRegisteredKindIsSimulated(t *testing.T) {
	t.Parallel()
	if got, want := slices.Sorted(slices.Values(demo.Sources)), slices.Sorted(slices.Values(app.KnownSources())); !slices.Equal(got, want) {
		t.Errorf("the demo runs the sources %v, the registry knows %v", got, want)
	}
	tn, sample := simtenant.Generate(simtenant.Config{Seed: 7, PageSize: 3}, 30)
	env := serve(t, tn)
	input := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(input, sample.CSV, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "report")
	wantCode(t, env.offboard(t, nil, "run", "--input", input, "--report", dir,
		"--protect", strings.Join(sample.Protect, ","), "--sources", strings.Join(app.KnownSources(), ","),
		"--azure-scopes", "all", "--arm-endpoint", env.url), 1) // the sample has invalid lines
	removed := map[string]int{}
	for _, r := range readReport(t, dir) {
		if r["status"] == "removed" {
			removed[r["kind"]]++
		}
	}
	for _, k := range app.Kinds().Kinds() {
		if removed[k.Name] == 0 {
			t.Errorf("no row of kind %s was removed on the simulated tenant (removed: %v)", k.Name, removed)
		}
	}
	if slices.Contains(tn.MemberOf(sample.AzureGroup[1]), sample.AzureGroup[0]) {
		t.Errorf("%s is still a member of the group holding Azure roles %s", sample.AzureGroup[1], sample.AzureGroup[0])
	}
}

// TestFaultMatrixCoversEverySource: every source the registry knows has
// cases in TestFaultMatrix, or is named in notInMatrix with why.
func TestFaultMatrixCoversEverySource(t *testing.T) {
	t.Parallel()
	for _, name := range app.KnownSources() {
		in := slices.ContainsFunc(sourceCases, func(c sourceCase) bool { return c.name == name })
		_, excused := notInMatrix[name]
		switch {
		case in && excused:
			t.Errorf("source %s has fault cases and is still named in notInMatrix", name)
		case !in && !excused:
			t.Errorf("source %s has no case in the fault matrix (sourceCases) and no reason in notInMatrix", name)
		}
	}
}

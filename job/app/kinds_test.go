package app

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
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
	readme, err := os.ReadFile("../../README.md")
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

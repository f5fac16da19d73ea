package simtenant

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// generatedFingerprint hashes everything Generate builds: the sample, the
// CSV, and the tenant's users, service principals, role assignments,
// groups, memberships, eligibilities, PIM marks and Azure side.
func generatedFingerprint(n int) string {
	clk := newClock()
	tn, s := Generate(Config{Seed: 7, Now: clk.Now}, n)
	// What the apps source's sample adds (apps_generate.go) is left out:
	// the rest is pinned as it was before it existed.
	s.Apps = AppsSample{}
	sps := slices.DeleteFunc(tn.ServicePrincipals(), func(sp ServicePrincipal) bool {
		return slices.Contains([]string{"Microsoft Graph", "Payroll Sync", "Expense Reports"}, sp.DisplayName)
	})
	sample := strings.Replace(fmt.Sprintf("%+v", s), fmt.Sprintf(" Apps:%+v", AppsSample{}), "", 1)
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n", sample, s.CSV)
	fmt.Fprintf(h, "%+v\n%+v\n%+v\n", tn.Users(), sps, tn.RoleAssignments())
	fmt.Fprintf(h, "%s\n", snapshotGroupsAndPIM(tn))
	for _, a := range tn.ARMRoleAssignments() {
		fmt.Fprintf(h, "%+v\n", a)
	}
	for _, e := range tn.ARMEligibilitySchedules() {
		fmt.Fprintf(h, "%+v\n", e)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestGenerateFingerprint pins what Generate builds for one seed: the
// same before and after Generate stopped looking up each principal's
// assignments and eligibilities by scanning them all (issue 14). The
// fingerprints were taken with the scanning code (f072659).
func TestGenerateFingerprint(t *testing.T) {
	for n, want := range map[int]string{
		10:  "6cec8fdfcd3cd1ed263f32288ab8c185a965e1dcfc2631cf0ae90e806ced06ec",
		300: "3ede63a6ec85c842fa8b928129c0e439ab3e49dfb3c1a72d3f3e939e84eeb815",
	} {
		if got := generatedFingerprint(n); got != want {
			t.Errorf("Generate(seed 7, %d): fingerprint %s, want %s", n, got, want)
		}
	}
}

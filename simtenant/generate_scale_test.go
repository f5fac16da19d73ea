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
// fingerprints were taken with the scanning code (f072659), and taken
// again when the sample gained a group holding Azure roles and an active
// PIM for Groups ownership (so that every registered kind is in the
// sample).
func TestGenerateFingerprint(t *testing.T) {
	for n, want := range map[int]string{
		10:  "7bdbab593aa5a6492cf97bc3183417fb56c22e19ab367ded1392d301ac3b1d4d",
		300: "fd78f0e9454c2a437be247f19fd6661108d9160fcaa68570044d8d9d921aa35f",
	} {
		if got := generatedFingerprint(n); got != want {
			t.Errorf("Generate(seed 7, %d): fingerprint %s, want %s", n, got, want)
		}
	}
}

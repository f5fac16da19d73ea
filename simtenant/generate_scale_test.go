package simtenant

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
)

// generatedFingerprint hashes everything Generate builds: the sample, the
// CSV, and the tenant's users, service principals, role assignments,
// groups, memberships, eligibilities, PIM marks and Azure side.
func generatedFingerprint(n int) string {
	clk := newClock()
	tn, s := Generate(Config{Seed: 7, Now: clk.Now}, n)
	h := sha256.New()
	fmt.Fprintf(h, "%+v\n%s\n", s, s.CSV)
	fmt.Fprintf(h, "%+v\n%+v\n%+v\n", tn.Users(), tn.ServicePrincipals(), tn.RoleAssignments())
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
		10:  "c9416c1885e44366488d070b5a8fb439fc089be17b2d7276ab7d2431b3242bc5",
		300: "26a0472223c5926755945321157925b04c7d0d04ed905f1364345d3fff9724cd",
	} {
		if got := generatedFingerprint(n); got != want {
			t.Errorf("Generate(seed 7, %d): fingerprint %s, want %s", n, got, want)
		}
	}
}

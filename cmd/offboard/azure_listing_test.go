package main

// The `azure` source lists by scope, not by principal (issue 14): the
// same plan either way, in a bounded number of ARM round trips.

import (
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// planRows is a plan's report without its timestamps, one line a row.
func planRows(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, r := range readReport(t, dir) {
		out = append(out, strings.Join([]string{r["principal_id"], r["source"], r["assignment_id"],
			r["role_definition_id"], r["scope"], r["status"], r["detail"]}, ","))
	}
	slices.Sort(out)
	return out
}

func isUnfiltered(r simtenant.Request) bool {
	p := strings.ToLower(r.Path)
	return r.Method == http.MethodGet && (strings.HasSuffix(p, "/roleassignments") || strings.HasSuffix(p, "/roleeligibilityschedules")) &&
		!strings.Contains(strings.ToLower(r.RawQuery), "filter")
}

func TestAzureUnfilteredAndPerPrincipalListingPlanAlike(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 45, ARM: simtenant.ARMConfig{PageSize: 4}})
	s3 := a.AddSubscription(simtenant.ARMSubscription{}).Scope()
	rg3 := a.AddResourceGroup(strings.TrimPrefix(s3, "/subscriptions/"), "rg-ops")
	scopes := []string{a.mg, a.s1, a.s2, a.rg, s3, rg3}
	roles := []string{simtenant.ARMOwner, simtenant.ARMContributor, simtenant.ARMReader}
	lines := []string{"principal_id"}
	var others []string
	for i := range 8 {
		id, _ := a.user(fmt.Sprintf("p%d@contoso.com", i), 0)
		if i == 7 {
			id = "0e0e0e0e-0000-4000-8000-000000000007" // deleted from Entra, still assigned
		}
		lines = append(lines, id)
		other, _ := a.user(fmt.Sprintf("stays%d@contoso.com", i), 0)
		others = append(others, other)
		for j := range 3 {
			scope, role := scopes[(i+2*j)%len(scopes)], roles[(i+j)%len(roles)]
			a.assign(id, scope, role)
			a.assign(other, scopes[(i+j+1)%len(scopes)], role)
		}
		member := "Direct"
		if i%4 == 3 {
			member = "Group" // held through a group: not the principal's to remove
		}
		a.AddARMEligibilitySchedule(simtenant.ARMEligibilitySchedule{PrincipalID: id, Scope: scopes[i%len(scopes)],
			MemberType: member, RoleDefinitionID: simtenant.ARMRoleDefinitionID(scopes[i%len(scopes)], roles[i%len(roles)])})
		a.AddARMEligibilitySchedule(simtenant.ARMEligibilitySchedule{PrincipalID: other, Scope: scopes[(i+3)%len(scopes)],
			RoleDefinitionID: simtenant.ARMRoleDefinitionID(scopes[(i+3)%len(scopes)], roles[i%len(roles)])})
	}
	input := writeCSV(t, lines...)
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure"}
	args := func(dir string) []string {
		return []string{"plan", "--input", input, "--report", dir, "--azure-scopes", "all," + a.mg}
	}

	byScope := t.TempDir()
	wantCode(t, a.offboard(t, env, args(byScope)...), 0)
	if n := len(a.armRequests(isUnfiltered)); n < 8 {
		t.Fatalf("%d unfiltered listings: the subscriptions were not listed by scope", n)
	}
	a.ResetRequests()
	a.RequireARMFilter(true)
	byPrincipal := t.TempDir()
	wantCode(t, a.offboard(t, env, args(byPrincipal)...), 0)
	filtered := a.armRequests(func(r simtenant.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.RawQuery, "principalId")
	})
	if len(filtered) < 8*3*2 {
		t.Fatalf("%d filtered listings after the unfiltered ones were refused", len(filtered))
	}

	want, got := planRows(t, byScope), planRows(t, byPrincipal)
	if len(want) < 8*3 {
		t.Fatalf("the plan holds %d rows", len(want))
	}
	if !slices.Equal(want, got) {
		t.Errorf("listing by scope planned\n%s\nlisting by principal planned\n%s", strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
	for _, row := range want {
		for _, other := range others {
			if strings.HasPrefix(row, other) {
				t.Errorf("someone staying was planned: %s", row)
			}
		}
	}
}

// armRoundTrips runs a plan of principals × subscriptions with --azure-scopes all
// and returns the ARM requests it sent.
func armRoundTrips(t *testing.T, seed uint64, principals, subscriptions int) int {
	tn := startTenant(t, simtenant.Config{Seed: seed})
	var subs []simtenant.ARMSubscription
	for range subscriptions {
		subs = append(subs, tn.AddSubscription(simtenant.ARMSubscription{}))
	}
	lines := []string{"principal_id"}
	for i := range principals {
		id := tn.NewID()
		lines = append(lines, id)
		s := subs[i%len(subs)]
		tn.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: id, Scope: s.Scope(),
			RoleDefinitionID: simtenant.ARMRoleDefinitionID(s.Scope(), simtenant.ARMReader)})
		if i%3 == 0 {
			tn.AddARMEligibilitySchedule(simtenant.ARMEligibilitySchedule{PrincipalID: id, Scope: s.Scope(),
				RoleDefinitionID: simtenant.ARMRoleDefinitionID(s.Scope(), simtenant.ARMOwner)})
		}
		// Someone staying, in the same subscription.
		tn.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: tn.NewID(), Scope: s.Scope(),
			RoleDefinitionID: simtenant.ARMRoleDefinitionID(s.Scope(), simtenant.ARMOwner)})
	}
	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + tn.url, "OFFBOARD_SOURCES=azure"}
	wantCode(t, tn.offboard(t, env, "plan", "--input", writeCSV(t, lines...), "--report", dir, "--azure-scopes", "all"), 0)
	planned := 0
	for _, r := range readReport(t, dir) {
		if r["status"] == "planned" {
			planned++
		}
	}
	if want := principals + (principals+2)/3; planned != want {
		t.Fatalf("%d rows planned, want %d", planned, want)
	}
	// The report's role names cost one GET of each role a run met (its
	// id's last segment: a role has one GUID in every subscription),
	// apart from the listing this test bounds.
	names := tn.armRequests(isRoleDefinitionRead)
	roles := map[string]bool{}
	for _, r := range names {
		roles[strings.ToLower(path.Base(r.Path))] = true
	}
	if len(names) > 2 || len(names) != len(roles) {
		t.Errorf("%d role definition reads of %d roles, want one of each of at most 2 (Reader, Owner)", len(names), len(roles))
	}
	return len(tn.armRequests(func(r simtenant.Request) bool { return !isRoleDefinitionRead(r) }))
}

func isRoleDefinitionRead(r simtenant.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(strings.ToLower(r.Path), "/providers/microsoft.authorization/roledefinitions/")
}

func TestAzureListingRoundTrips(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		principals, subscriptions, most int
	}{
		{300, 10, 60},
		{2, 3, 13},
	} {
		t.Run(fmt.Sprintf("%dx%d", tt.principals, tt.subscriptions), func(t *testing.T) {
			if n := armRoundTrips(t, 46, tt.principals, tt.subscriptions); n > tt.most {
				t.Errorf("%d ARM round trips, want at most %d", n, tt.most)
			} else {
				t.Logf("%d ARM round trips", n)
			}
		})
	}
}

func TestAzureRunKeepingToARMCountersIsNeverThrottled(t *testing.T) {
	t.Parallel()
	// A subscription whose delete bucket is far smaller than the job's
	// pace (10 a second, 200 deep): only the counters ARM sends on every
	// answer can keep the run inside it.
	a := startAzureTenant(t, simtenant.Config{Seed: 47, ARM: simtenant.ARMConfig{DeleteRate: 8, DeleteBurst: 12}})
	lines := []string{"principal_id"}
	for i := range 4 {
		id, _ := a.user(fmt.Sprintf("leaver%d@contoso.com", i), 0)
		lines = append(lines, id)
		for range 10 {
			a.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: id, Scope: a.s1,
				RoleDefinitionID: simtenant.ARMRoleDefinitionID(a.s1, simtenant.ARMReader)})
		}
	}
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure", "OFFBOARD_CONCURRENCY=4"}
	wantCode(t, a.offboard(t, env, "run", "--input", writeCSV(t, lines...), "--report", t.TempDir(), "--azure-scopes", a.s1), 0)
	if n := len(a.ARMRoleAssignments()); n != 0 {
		t.Fatalf("%d assignments left", n)
	}
	var deletes int
	for _, r := range a.Requests() {
		if r.Status == http.StatusTooManyRequests {
			t.Errorf("%s %s was answered 429", r.Method, r.Path)
		}
		if r.Method == http.MethodDelete {
			deletes++
		}
	}
	if deletes != 40 {
		t.Errorf("%d DELETEs, want 40", deletes)
	}
}

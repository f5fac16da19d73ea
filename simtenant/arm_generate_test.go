package simtenant

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// armGenerated is a tenant with a few principals and GenerateARM's estate.
func armGenerated(seed uint64) (*Tenant, ARMSample, []string, []string) {
	tn := New(Config{Seed: seed, Now: newClock().Now})
	var departing, staying []string
	for i := range 4 {
		departing = append(departing, tn.AddUser(User{UserPrincipalName: "leaver" + string(rune('a'+i)) + "@contoso.onmicrosoft.com"}).ID)
	}
	departing = append(departing, tn.AddServicePrincipal(ServicePrincipal{DisplayName: "Old App"}).ID)
	for i := range 2 {
		staying = append(staying, tn.AddUser(User{UserPrincipalName: "stayer" + string(rune('a'+i)) + "@contoso.onmicrosoft.com"}).ID)
	}
	return tn, tn.GenerateARM(seed, departing, staying), departing, staying
}

func TestGenerateARMDeterministic(t *testing.T) {
	t1, s1, _, _ := armGenerated(42)
	t2, s2, _, _ := armGenerated(42)
	if !reflect.DeepEqual(s1, s2) {
		t.Fatalf("same seed, different samples:\n%+v\n%+v", s1, s2)
	}
	if !reflect.DeepEqual(t1.ARMRoleAssignments(), t2.ARMRoleAssignments()) ||
		!reflect.DeepEqual(t1.ARMEligibilitySchedules(), t2.ARMEligibilitySchedules()) ||
		!reflect.DeepEqual(t1.ARMSubscriptions(), t2.ARMSubscriptions()) {
		t.Fatal("same seed, different estates")
	}
	if _, s3, _, _ := armGenerated(43); s3.Orphan == s1.Orphan || slices.Equal(s3.Removable, s1.Removable) {
		t.Fatal("another seed, same ids")
	}
	// The tenant's own id source is untouched: Graph ids made afterwards
	// are those of a tenant without the estate.
	plain := New(Config{Seed: 42})
	for i := range 4 {
		plain.AddUser(User{UserPrincipalName: "leaver" + string(rune('a'+i)) + "@contoso.onmicrosoft.com"})
	}
	plain.AddServicePrincipal(ServicePrincipal{})
	plain.AddUser(User{})
	plain.AddUser(User{})
	if t1.NewID() != plain.NewID() {
		t.Fatal("GenerateARM drew from the tenant's id source")
	}
}

func TestGenerateARMSample(t *testing.T) {
	tn, s, departing, staying := armGenerated(7)
	if n := len(s.Scopes); n < 2 || n > 3 {
		t.Fatalf("%d subscriptions", n)
	}
	all := map[string]bool{}
	for _, a := range tn.ARMRoleAssignments() {
		all[a.ID] = true
	}
	union := append(slices.Clone(s.Removable), s.Remaining...)
	slices.Sort(union)
	if !slices.Equal(union, slices.Sorted(maps.Keys(all))) || len(slices.Compact(slices.Clone(union))) != len(union) {
		t.Fatalf("Removable and Remaining do not split the assignments:\n%q\n%q", union, slices.Sorted(maps.Keys(all)))
	}
	if _, ok := tn.principalTypeOf(s.Orphan); ok {
		t.Fatal("the orphan exists in the directory")
	}
	if len(tn.ARMRoleAssignmentsOf(s.Orphan)) == 0 {
		t.Fatal("the orphan holds nothing")
	}
	for _, p := range departing {
		if len(tn.ARMRoleAssignmentsOf(p)) == 0 {
			t.Errorf("departing %s holds nothing", p)
		}
	}
	for _, p := range staying {
		for _, a := range tn.ARMRoleAssignmentsOf(p) {
			if !slices.Contains(s.Remaining, a.ID) {
				t.Errorf("staying %s: %s not in Remaining", p, a.ID)
			}
		}
	}
	if mg, ok := tn.ARMRoleAssignment(s.ManagementGroupAssignment); !ok || mg.Scope != s.ManagementGroup ||
		!slices.Contains(s.Removable, mg.ID) {
		t.Fatalf("management group assignment %+v", mg)
	}
	kinds := map[armScopeKind]bool{}
	for _, id := range s.Removable {
		a, _ := tn.ARMRoleAssignment(id)
		kinds[parseARMScope(a.Scope).kind] = true
	}
	if len(kinds) != 4 {
		t.Errorf("removable assignments at %d kinds of scope, want 4 (mg, subscription, resource group, resource)", len(kinds))
	}
	if len(s.Eligibilities) != 1 || len(s.RemainingEligibilities) != 1 {
		t.Fatalf("eligibilities %q %q", s.Eligibilities, s.RemainingEligibilities)
	}
	if got := tn.ARMEligibilitySchedulesOf(departing[0]); len(got) != 1 || got[0].ID != s.Eligibilities[0] {
		t.Fatalf("eligibility of departing[0]: %+v", got)
	}

	// Over HTTP, listing each subscription for each leaver finds exactly
	// Removable; the management group assignment shows in every one.
	h := serveTenant(t, tn)
	found := map[string]int{}
	for _, scope := range s.Scopes {
		for _, p := range append(slices.Clone(departing), s.Orphan) {
			a := h.do("GET", scope+armRoleAssignments+v2022+"&"+filterQuery("principalId eq '"+p+"'"))
			for _, id := range ids(values(t, a)) {
				found[id]++
			}
		}
	}
	if got := slices.Sorted(maps.Keys(found)); !slices.Equal(got, s.Removable) {
		t.Fatalf("found %q\nwant  %q", got, s.Removable)
	}
	if found[s.ManagementGroupAssignment] != len(s.Scopes) {
		t.Fatalf("management group assignment seen %d times", found[s.ManagementGroupAssignment])
	}
	a := h.do("GET", "/subscriptions?api-version=2022-12-01")
	var subs []string
	for _, v := range values(t, a) {
		subs = append(subs, v["id"].(string))
	}
	if !slices.Equal(subs, slices.SortedFunc(slices.Values(s.Scopes), func(a, b string) int {
		return strings.Compare(strings.ToLower(a), strings.ToLower(b))
	})) {
		t.Fatalf("subscriptions %q, scopes %q", subs, s.Scopes)
	}
}

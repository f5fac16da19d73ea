package graph

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/simtenant"
)

// accessTenant serves a tenant with three role-assignable groups (and a
// plain one) whose members, owners and PIM for Groups schedules are
// spread over pages of two.
func accessTenant(t *testing.T, cfg simtenant.Config) (*listingTenant, []simtenant.Group) {
	t.Helper()
	cfg.PageSize = 2
	tn := simtenant.New(cfg)
	srv, err := tn.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	lt := &listingTenant{Tenant: tn, url: srv.URL()}
	var groups []simtenant.Group
	for i := range 4 {
		groups = append(groups, tn.AddGroup(simtenant.Group{DisplayName: fmt.Sprintf("G%d", i), IsAssignableToRole: i != 3}))
	}
	for i := range 5 {
		u := tn.AddUser(simtenant.User{UserPrincipalName: fmt.Sprintf("user%d@contoso.com", i)})
		lt.principals = append(lt.principals, job.Principal{ID: u.ID})
		for j, g := range groups {
			if (i+j)%2 == 0 {
				if err := tn.AddMember(g.ID, u.ID); err != nil {
					t.Fatal(err)
				}
			}
			if (i+j)%3 == 0 {
				if err := tn.AddOwner(g.ID, u.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		tn.AddGroupSchedule(simtenant.GroupSchedule{GroupID: groups[i%3].ID, PrincipalID: u.ID, AccessID: simtenant.AccessOwner})
		tn.AddGroupSchedule(simtenant.GroupSchedule{GroupID: groups[(i+1)%3].ID, PrincipalID: u.ID, Active: true})
	}
	return lt, groups
}

// The index answers the same, batched or not; batched, it costs the
// groups' listing, one $batch of the four first pages of each of the
// three groups, and the further pages alone, whatever the principals.
func TestGroupIndexBatchedIsTheSingleIndex(t *testing.T) {
	lt, groups := accessTenant(t, simtenant.Config{Seed: 5})
	single, err := lt.client(t, 1).Memberships().Find(t.Context(), lt.principals)
	if err != nil {
		t.Fatal(err)
	}
	lt.ResetRequests()
	batched, err := lt.client(t, 20).Memberships().Find(t.Context(), lt.principals)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(assignmentKeys(batched), assignmentKeys(single)) || len(single) == 0 {
		t.Errorf("batched:\n%s\nsingle:\n%s", strings.Join(assignmentKeys(batched), "\n"), strings.Join(assignmentKeys(single), "\n"))
	}
	if st := lt.Stats(); st.Batches != 1 || st.SubRequests != 12 {
		t.Errorf("%d batches carrying %d requests, want one carrying 12", st.Batches, st.SubRequests)
	}
	kinds := map[string]int{}
	for _, a := range single {
		if strings.HasPrefix(a.ID, groups[3].ID) {
			t.Errorf("access to a group that is not role-assignable: %+v", a)
		}
		_, kind, _ := strings.Cut(a.ID, "/")
		kinds[kind]++
	}
	for _, k := range []string{"", "owner", "eligible-owner", "active-member"} {
		if kinds[k] == 0 {
			t.Errorf("no access of kind %q in %v", k, kinds)
		}
	}
	for _, r := range lt.Requests() {
		if p := strings.ToLower(r.Path); strings.Contains(p, "/directoryobjects/") {
			t.Errorf("request to %s", r.Path)
		}
	}
}

// Without the licence for PIM for Groups, memberships and ownerships are
// still found, and the rest is unavailable.
func TestGroupIndexWithoutP2(t *testing.T) {
	lt, _ := accessTenant(t, simtenant.Config{Seed: 5, NoP2: true})
	found, err := lt.client(t, 20).Memberships().Find(t.Context(), lt.principals)
	var ue *job.UnavailableError
	if !errors.As(err, &ue) || ue.Part != "groups-pim" || !strings.Contains(ue.Reason, "AadPremiumLicenseRequired") {
		t.Fatalf("error %v, want groups-pim unavailable", err)
	}
	members, owners := 0, 0
	for _, a := range found {
		switch {
		case strings.Contains(a.ID, "/eligible-"), strings.Contains(a.ID, "/active-"):
			t.Errorf("a PIM for Groups schedule in a tenant without PIM: %+v", a)
		case strings.HasSuffix(a.ID, "/owner"):
			owners++
		default:
			members++
		}
	}
	if members == 0 || owners == 0 {
		t.Errorf("%d memberships, %d ownerships: want some of each", members, owners)
	}
	if n := lt.Stats().ByMethodStatus[http.MethodGet][http.StatusBadRequest]; n == 0 {
		t.Error("the tenant refused no PIM for Groups listing")
	}
}

// With many groups and few principals, each principal's access is listed
// by its type after a getByIds: the same assignments as the index of
// every group gives.
func TestTypedListingIsTheIndex(t *testing.T) {
	lt, _ := accessTenant(t, simtenant.Config{Seed: 5})
	for i := range 40 {
		lt.AddGroup(simtenant.Group{DisplayName: fmt.Sprintf("Other %d", i), IsAssignableToRole: true})
	}
	sp := lt.AddServicePrincipal(simtenant.ServicePrincipal{DisplayName: "app"})
	groups := lt.Groups()
	if err := lt.AddMember(groups[0].ID, sp.ID); err != nil {
		t.Fatal(err)
	}
	if err := lt.AddOwner(groups[1].ID, sp.ID); err != nil {
		t.Fatal(err)
	}
	few := append(slices.Clone(lt.principals[:2]), job.Principal{ID: sp.ID}, job.Principal{ID: groups[2].ID})
	lt.ResetRequests()
	typed, err := lt.client(t, 20).Memberships().Find(t.Context(), few)
	if err != nil {
		t.Fatal(err)
	}
	getByIDs := 0
	for _, r := range lt.Requests() {
		if strings.HasSuffix(r.Path, "/getByIds") {
			getByIDs++
		}
	}
	if getByIDs != 1 {
		t.Errorf("%d getByIds requests, want 1", getByIDs)
	}
	// Many principals (unknown ones pad the run) make the index cheaper.
	many := slices.Clone(few)
	for range 60 {
		many = append(many, job.Principal{ID: lt.NewID()})
	}
	lt.ResetRequests()
	indexed, err := lt.client(t, 20).Memberships().Find(t.Context(), many)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range lt.Requests() {
		if strings.HasSuffix(r.Path, "/getByIds") {
			t.Error("getByIds sent for a run that the index serves")
		}
	}
	if !slices.Equal(assignmentKeys(typed), assignmentKeys(indexed)) || len(typed) == 0 {
		t.Errorf("by principal:\n%s\nby group:\n%s", strings.Join(assignmentKeys(typed), "\n"), strings.Join(assignmentKeys(indexed), "\n"))
	}
	spHolds := 0
	for _, a := range typed {
		if a.PrincipalID == sp.ID {
			spHolds++
		}
	}
	if spHolds != 2 {
		t.Errorf("the service principal holds %d, want its membership and its ownership", spHolds)
	}
}

// An owner's DELETE without /$ref would delete the owner object itself:
// it never leaves the process, as a member's does not.
func TestOwnerDeleteWithoutRefIsRefused(t *testing.T) {
	for path, want := range map[string]bool{
		"/v1.0/groups/" + g1 + "/owners/" + p1:             true,
		"/v1.0/groups/" + g1 + "/owners/" + p1 + "/":       true,
		"/v1.0/groups/" + g1 + "/owners/" + p1 + "/$ref":   false,
		"/v1.0/groups/" + g1 + "/owners/" + p1 + "/%24ref": false,
		"/v1.0/groups/" + g1 + "/members/" + p1:            true,
	} {
		if got := deletesMember(path); got != want {
			t.Errorf("deletesMember(%s) = %v, want %v", path, got, want)
		}
	}
}

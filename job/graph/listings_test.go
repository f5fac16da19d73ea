package graph

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/simtenant"
)

// Listing by principal asks for no user's ownedObjects (Application: Not
// supported), and without Directory.Read.All (getByIds answers 403) it
// turns into the index of every group, with the same answer and no
// principal failed.
func TestTypedListingWithoutUsersOwnedObjectsOrDirectoryRead(t *testing.T) {
	var answers [][]string
	for _, deny := range [][]string{nil, {simtenant.PermDirectoryRead}} {
		lt, groups := accessTenant(t, simtenant.Config{Seed: 5, Deny: deny})
		for i := range 40 {
			lt.AddGroup(simtenant.Group{DisplayName: fmt.Sprintf("Other %d", i), IsAssignableToRole: true})
		}
		if err := lt.AddOwner(groups[1].ID, lt.principals[0].ID); err != nil && !strings.Contains(err.Error(), "already") {
			t.Fatal(err)
		}
		lt.ResetRequests()
		found, err := lt.client(t, 20).Memberships().Find(t.Context(), lt.principals[:2])
		if err != nil {
			t.Fatalf("deny %v: %v", deny, err)
		}
		owners := 0
		for _, a := range found {
			if strings.HasSuffix(a.ID, "/owner") {
				owners++
			}
		}
		if owners == 0 {
			t.Errorf("deny %v: no ownership found", deny)
		}
		refused := 0
		for _, r := range lt.Requests() {
			p := strings.ToLower(r.Path)
			if strings.Contains(p, "/users/") && strings.HasSuffix(p, "/ownedobjects") {
				t.Errorf("deny %v: asked for %s", deny, r.Path)
			}
			if strings.HasSuffix(p, "/getbyids") && r.Status == http.StatusForbidden {
				refused++
			}
		}
		if want := len(deny); refused != want {
			t.Errorf("deny %v: %d refused getByIds, want %d", deny, refused, want)
		}
		answers = append(answers, assignmentKeys(found))
	}
	if !slices.Equal(answers[0], answers[1]) {
		t.Errorf("with Directory.Read.All:\n%s\nwithout:\n%s", strings.Join(answers[0], "\n"), strings.Join(answers[1], "\n"))
	}
}

// Resolve: a refused `employeeId in (...)` is asked again with eq, one
// value a request, and so is every employee id after it.
func TestResolveEmployeeIDWithEqWhenInIsRefused(t *testing.T) {
	tn := simtenant.New(simtenant.Config{Seed: 9, EmployeeIDInRefused: true})
	srv, err := tn.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	lt := &listingTenant{Tenant: tn, url: srv.URL()}
	var keys []job.UserKey
	want := map[string]string{}
	for i := range 4 {
		u := tn.AddUser(simtenant.User{UserPrincipalName: fmt.Sprintf("e%d@contoso.com", i), EmployeeID: fmt.Sprintf("E%d", i)})
		keys = append(keys, job.UserKey{Kind: job.KeyEmployeeID, Value: u.EmployeeID})
		want[u.EmployeeID] = u.ID
	}
	c := lt.client(t, 20)
	check := func(keys []job.UserKey) {
		t.Helper()
		for k, res := range c.Resolve(t.Context(), keys) {
			if res.Err != nil || len(res.Users) != 1 || res.Users[0].ID != want[k.Value] {
				t.Errorf("%s: %+v", k.Value, res)
			}
		}
	}
	check(keys[:3])
	tn.ResetRequests()
	check(keys[3:])
	for _, r := range tn.Requests() {
		if strings.Contains(r.RawQuery, "+in+") || strings.Contains(r.RawQuery, "%20in%20") {
			t.Errorf("in sent after Graph refused it: %s", r.RawQuery)
		}
	}
}

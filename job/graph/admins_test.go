package graph

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
	"github.com/offboard/offboard/simtenant"
)

// adminsTenant serves a tenant with one page an answer, so that every
// listing of more than one takes several pages.
func adminsTenant(t *testing.T) (*simtenant.Tenant, *Client) {
	t.Helper()
	tn := simtenant.New(simtenant.Config{Seed: 43, PageSize: 1})
	srv, err := tn.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c, err := New(Config{Root: srv.URL(), UserAgent: "test", BatchSize: 1,
		Transport: &transport.Transport{Base: http.DefaultTransport, MaxAttempts: 2,
			Token: func(context.Context) (string, error) { return tn.Token(), nil }}})
	if err != nil {
		t.Fatal(err)
	}
	return tn, c
}

func holderKeys(hs []job.AdminHolder) []string {
	var out []string
	for _, h := range hs {
		members := slices.Clone(h.Members)
		slices.Sort(members)
		out = append(out, strings.Join([]string{h.AssignmentID, h.PrincipalID, map[bool]string{true: "group", false: "user"}[h.Group],
			strings.Join(members, ",")}, "|"))
	}
	slices.Sort(out)
	return out
}

// TestGlobalAdmins: every active Global Administrator assignment, at any
// scope and over every page; a group's with its members, over every page
// of them; not another role's, not an eligibility.
func TestGlobalAdmins(t *testing.T) {
	tn, c := adminsTenant(t)
	var want []string
	for _, scope := range []string{"/", "/administrativeUnits/00000000-0000-0000-0000-000000000001"} {
		u := tn.AddUser(simtenant.User{UserPrincipalName: "ga" + scope[len(scope)-1:] + "@contoso.com"})
		a := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: u.ID, RoleDefinitionID: simtenant.GlobalAdministrator, DirectoryScopeID: scope})
		want = append(want, a.ID+"|"+u.ID+"|user|")
	}
	grp := tn.AddGroup(simtenant.Group{DisplayName: "Tier0", IsAssignableToRole: true})
	ga := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: grp.ID, RoleDefinitionID: simtenant.GlobalAdministrator})
	var members []string
	for _, upn := range []string{"m1@contoso.com", "m2@contoso.com", "m3@contoso.com"} {
		m := tn.AddUser(simtenant.User{UserPrincipalName: upn})
		if err := tn.AddMember(grp.ID, m.ID); err != nil {
			t.Fatal(err)
		}
		members = append(members, m.ID)
	}
	slices.Sort(members)
	want = append(want, ga.ID+"|"+grp.ID+"|group|"+strings.Join(members, ","))
	// The group's members come on pages of one: its first page (999 a
	// page, as the client asks) answers with a link to them.
	tn.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: "/groups/" + grp.ID + "/members", QueryContains: "top=999", Times: 1,
		Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: `{"value":[],"@odata.nextLink":"` + c.base + `/groups/` + grp.ID + `/members?$top=1"}`})
	// Not counted: another role, and an eligibility to Global Administrator.
	other := tn.AddUser(simtenant.User{UserPrincipalName: "reader@contoso.com"})
	tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: other.ID, RoleDefinitionID: simtenant.GlobalReader})
	tn.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: other.ID, RoleDefinitionID: simtenant.GlobalAdministrator})

	got, err := c.GlobalAdmins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if g := holderKeys(got); !slices.Equal(g, want) {
		t.Errorf("holders\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(want, "\n"))
	}
	pages, memberPages := 0, 0
	for _, r := range tn.Requests() {
		switch {
		case strings.HasSuffix(r.Path, "/roleManagement/directory/roleAssignments"):
			pages++
		case strings.HasSuffix(r.Path, "/members"):
			memberPages++
		}
	}
	if pages < 3 || memberPages < 4 {
		t.Errorf("%d pages of assignments and %d of members read: the pages were not followed", pages, memberPages)
	}
}

// TestGlobalAdminsErrors: a listing that fails says which and where; a
// group id that is not a GUID is never put into a path.
func TestGlobalAdminsErrors(t *testing.T) {
	tests := []struct {
		name string
		rule func(tn *simtenant.Tenant, base, group string) simtenant.Rule
		want string
	}{
		{"assignments refused", func(*simtenant.Tenant, string, string) simtenant.Rule {
			return simtenant.Rule{Method: http.MethodGet, PathContains: "/roleAssignments", Status: http.StatusForbidden}
		}, "listing Global Administrator assignments (page 1)"},
		{"second page fails", func(*simtenant.Tenant, string, string) simtenant.Rule {
			return simtenant.Rule{Method: http.MethodGet, PathContains: "/roleAssignments", QueryContains: "skiptoken", Status: http.StatusInternalServerError}
		}, "listing Global Administrator assignments (page 2)"},
		{"members refused", func(_ *simtenant.Tenant, _, group string) simtenant.Rule {
			return simtenant.Rule{Method: http.MethodGet, PathContains: "/groups/" + group + "/members", Status: http.StatusForbidden}
		}, "listing the members of group"},
		{"group id not a GUID", func(tn *simtenant.Tenant, _, _ string) simtenant.Rule {
			return simtenant.Rule{Method: http.MethodGet, PathContains: "/roleAssignments", Status: http.StatusOK,
				Header: http.Header{"Content-Type": {"application/json"}},
				Body: `{"value":[{"id":"x","principalId":"../users","roleDefinitionId":"` + simtenant.GlobalAdministrator +
					`","principal":{"@odata.type":"#microsoft.graph.group","id":"../users"}}]}`}
		}, "is not a GUID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tn, c := adminsTenant(t)
			u := tn.AddUser(simtenant.User{UserPrincipalName: "ga@contoso.com"})
			tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: u.ID, RoleDefinitionID: simtenant.GlobalAdministrator})
			grp := tn.AddGroup(simtenant.Group{DisplayName: "Tier0", IsAssignableToRole: true})
			tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: grp.ID, RoleDefinitionID: simtenant.GlobalAdministrator})
			if err := tn.AddMember(grp.ID, u.ID); err != nil {
				t.Fatal(err)
			}
			tn.AddRule(tt.rule(tn, c.base, grp.ID))
			got, err := c.GlobalAdmins(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("holders %v, err %v: want an error saying %q", got, err, tt.want)
			}
			for _, r := range tn.Requests() {
				if strings.Contains(r.Path, "/users/") || strings.Contains(r.Path, "..") {
					t.Errorf("a request went to %s", r.Path)
				}
			}
		})
	}
}

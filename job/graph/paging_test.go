package graph

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
	"github.com/offboard/offboard/simtenant"
)

// TestSelfRepeatingNextLinkEndsEveryGraphListing (issue 24, item 5): for
// each loop that follows @odata.nextLink, a page whose nextLink is itself.
// The page is read once, and the listing fails with
// transport.ErrListingLoops. The rule runs out after 50 answers, so that a
// loop that is not bounded ends (with 49 reads) rather than hang; each
// case has a deadline besides.
func TestSelfRepeatingNextLinkEndsEveryGraphListing(t *testing.T) {
	type setup = pagingSetup
	for _, tt := range []struct {
		name string
		// path and match (in the first page's path or query) pick the
		// listing the rule answers; the looping link carries match in
		// its query.
		path  func(s setup) string
		match func(s setup) string
		list  func(ctx context.Context, s setup) error
		reads int // of the looping page: once a listing
	}{
		{"users by UPN (resolution)", fixed("/users"), fixed("gone@contoso.com"),
			func(ctx context.Context, s setup) error {
				k := job.UserKey{Kind: job.KeyUPN, Value: "gone@contoso.com"}
				return s.c.Resolve(ctx, []job.UserKey{k})[k].Err
			}, 1},
		{"users by employee id, grouped (resolution)", fixed("/users"), fixed("E-7"),
			func(ctx context.Context, s setup) error {
				k := job.UserKey{Kind: job.KeyEmployeeID, Value: "E-7"}
				res := s.c.Resolve(ctx, []job.UserKey{k, {Kind: job.KeyEmployeeID, Value: "E-8"}})
				if r := res[job.UserKey{Kind: job.KeyEmployeeID, Value: "E-8"}]; r.Err != nil {
					t.Errorf("E-8, in E-7's grouped query, was failed with it: %v", r.Err)
				}
				return res[k].Err
			}, 2}, // once in the grouped query, once in E-7's own
		{"directory role assignments", fixed("/roleManagement/directory/roleAssignments"), userID,
			func(ctx context.Context, s setup) error {
				_, err := s.c.DirectoryRoles().Find(ctx, []job.Principal{{ID: s.user}})
				return err
			}, 1},
		{"PIM eligibilities", fixed("/roleManagement/directory/roleEligibilitySchedules"), userID,
			func(ctx context.Context, s setup) error {
				_, err := s.c.Eligibilities().Find(ctx, []job.Principal{{ID: s.user}})
				return err
			}, 1},
		// The group index's listing of the role-assignable groups; every
		// listing of groups, members, owners, memberOf and group schedules
		// reads its pages with the same readAll.
		{"role-assignable groups (groups source)", fixed("/groups"), fixed("isAssignableToRole"),
			func(ctx context.Context, s setup) error {
				_, err := s.c.Memberships().Find(ctx, []job.Principal{{ID: s.user, Type: "User"}})
				return err
			}, 1},
		{"Global Administrator assignments", fixed("/roleManagement/directory/roleAssignments"), fixed(job.GlobalAdministrator),
			func(ctx context.Context, s setup) error {
				_, err := s.c.GlobalAdmins(ctx)
				return err
			}, 1},
		{"a group's members (last admin, restore)", func(s setup) string { return "/groups/" + s.grp + "/members" }, fixed("top=999"),
			func(ctx context.Context, s setup) error {
				_, err := s.c.members(ctx, s.grp)
				return err
			}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tn, c := adminsTenant(t)
			u := tn.AddUser(simtenant.User{UserPrincipalName: "held@contoso.com", EmployeeID: "E-8"})
			tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: u.ID, RoleDefinitionID: simtenant.UserAdministrator})
			tn.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: u.ID, RoleDefinitionID: simtenant.GlobalReader})
			g := tn.AddGroup(simtenant.Group{DisplayName: "Tier0", IsAssignableToRole: true})
			if err := tn.AddMember(g.ID, u.ID); err != nil {
				t.Fatal(err)
			}
			tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: g.ID, RoleDefinitionID: simtenant.GlobalAdministrator})
			s := setup{tn: tn, c: c, user: u.ID, grp: g.ID}
			path, match := tt.path(s), tt.match(s)
			marker := "loop-" + match
			loop := c.base + path + "?%24skiptoken=" + marker
			tn.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: path, QueryContains: match, Times: 50,
				Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
				Body: `{"value":[],"@odata.nextLink":"` + loop + `"}`})
			tn.ResetRequests()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			err := tt.list(ctx, s)
			if !errors.Is(err, transport.ErrListingLoops) && (err == nil || !strings.Contains(err.Error(), transport.ErrListingLoops.Error())) {
				t.Errorf("error %v, want the listing to fail: %v", err, transport.ErrListingLoops)
			}
			reads := 0
			for _, r := range tn.Requests() {
				if strings.Contains(r.RawQuery, marker) {
					reads++
				}
			}
			if reads != tt.reads {
				t.Errorf("the self-repeating page was read %d times, want %d", reads, tt.reads)
			}
		})
	}
}

// pagingSetup is what a case of TestSelfRepeatingNextLinkEndsEveryGraphListing
// lists: a user holding a role, an eligibility and a membership of grp, a
// role-assignable group holding Global Administrator.
type pagingSetup struct {
	tn   *simtenant.Tenant
	c    *Client
	user string
	grp  string
}

func fixed(v string) func(pagingSetup) string { return func(pagingSetup) string { return v } }

func userID(s pagingSetup) string { return s.user }

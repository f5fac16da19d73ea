package arm

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/job/transport"
	"github.com/offboard/offboard/simtenant"
)

// TestSelfRepeatingNextLinkEndsEveryARMListing (issue 24, item 5): for
// each loop that follows ARM's nextLink, a page whose nextLink is itself.
// The page is read once, and the listing fails with
// transport.ErrListingLoops. The rule runs out after 50 answers, so that a
// loop that is not bounded ends (with 49 reads) rather than hang; each
// case has a deadline besides.
func TestSelfRepeatingNextLinkEndsEveryARMListing(t *testing.T) {
	for _, tt := range []struct {
		name string
		// path and match (in the first page's query) pick the listing the
		// rule answers; the looping link carries match in its query.
		path, match string
		scopes      func(sub, mg string) []string
		list        func(ctx context.Context, s *Source, sub, principal string) error
	}{
		{"role assignments", "/providers/Microsoft.Authorization/roleAssignments", "principalId", nil,
			func(ctx context.Context, s *Source, sub, principal string) error {
				_, err := s.list(ctx, sub, rbac, "principalId eq '"+principal+"'", 0)
				return err
			}},
		{"eligibility schedules", "/providers/Microsoft.Authorization/roleEligibilitySchedules", "principalId", nil,
			func(ctx context.Context, s *Source, sub, principal string) error {
				_, err := s.list(ctx, sub, eligible, "principalId eq '"+principal+"'", 0)
				return err
			}},
		{"subscriptions (--azure-scopes all)", "/subscriptions", "api-version",
			func(string, string) []string { return []string{"all"} },
			func(ctx context.Context, s *Source, _, _ string) error {
				_, err := s.resolveScopes(ctx)
				return err
			}},
		{"a management group's descendants", "/descendants", "api-version",
			func(_, mg string) []string { return []string{mg} },
			func(ctx context.Context, s *Source, _, _ string) error {
				_, err := s.resolveScopes(ctx)
				return err
			}},
		{"the identity's own role assignments (check)", "/providers/Microsoft.Authorization/roleAssignments", "assignedTo", nil,
			func(ctx context.Context, s *Source, _, principal string) error {
				_, err := (&Checker{src: s}).Rights(ctx, principal)
				return err
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tn := simtenant.New(simtenant.Config{Seed: 2403})
			srv, err := tn.Start(t.Context(), "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			mgID := tn.NewID()
			mg := tn.AddManagementGroup(mgID, "")
			sub := tn.AddSubscription(simtenant.ARMSubscription{ManagementGroup: mgID}).Scope()
			principal := tn.NewID()
			tn.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: principal, Scope: sub,
				RoleDefinitionID: simtenant.ARMRoleDefinitionID(sub, simtenant.ARMReader)})
			scopes := []string{sub}
			if tt.scopes != nil {
				scopes = tt.scopes(sub, mg)
			}
			s, err := New(Config{Endpoint: srv.URL(), Credential: staticToken(tn.Token()), InsecureHTTP: true, Scopes: scopes,
				Transport: &transport.Transport{Base: http.DefaultTransport, MaxAttempts: 2}})
			if err != nil {
				t.Fatal(err)
			}
			marker := "loop-" + tt.match
			at := "" // the looping link's path, below the endpoint
			if strings.HasPrefix(tt.path, "/providers/Microsoft.Authorization/") {
				at = sub
			}
			loop := srv.URL() + at + tt.path + "?api-version=2022-04-01&%24skiptoken=" + marker
			tn.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: tt.path, QueryContains: tt.match, Times: 50,
				Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
				Body: `{"value":[],"nextLink":"` + loop + `"}`})
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			err = tt.list(ctx, s, sub, principal)
			if !errors.Is(err, transport.ErrListingLoops) && (err == nil || !strings.Contains(err.Error(), transport.ErrListingLoops.Error())) {
				t.Errorf("error %v, want the listing to fail: %v", err, transport.ErrListingLoops)
			}
			reads := 0
			for _, r := range tn.Requests() {
				if strings.Contains(r.RawQuery, marker) {
					reads++
				}
			}
			if reads != 1 {
				t.Errorf("the self-repeating page was read %d times, want once", reads)
			}
		})
	}
}

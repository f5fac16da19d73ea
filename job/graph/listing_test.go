package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
	"github.com/offboard/offboard/simtenant"
)

// listingTenant is a simulated tenant served over HTTP with principals
// that hold eligibilities and memberships, some on several pages.
type listingTenant struct {
	*simtenant.Tenant
	url        string
	principals []job.Principal
	// failing is the principal whose listings the tenant answers 500 for
	// good.
	failing string
}

func startListingTenant(t *testing.T) *listingTenant {
	t.Helper()
	// Two a page: pim listings of three or more take several pages.
	tn := simtenant.New(simtenant.Config{Seed: 41, PageSize: 2})
	srv, err := tn.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	lt := &listingTenant{Tenant: tn, url: srv.URL()}
	var groups []simtenant.Group
	for i := range 4 {
		groups = append(groups, tn.AddGroup(simtenant.Group{DisplayName: fmt.Sprintf("Tier%d Admins", i), IsAssignableToRole: i != 3}))
	}
	roles := []string{simtenant.PrivilegedRoleAdministrator, simtenant.GlobalReader, simtenant.UserAdministrator, simtenant.SecurityReader}
	for i := range 6 {
		u := tn.AddUser(simtenant.User{UserPrincipalName: fmt.Sprintf("user%d@contoso.com", i)})
		lt.principals = append(lt.principals, job.Principal{ID: u.ID})
		// user i holds i eligibilities and i%5 memberships.
		for j := range i % 5 {
			tn.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: u.ID, RoleDefinitionID: roles[j]})
			if err := tn.AddMember(groups[j%4].ID, u.ID); err != nil {
				t.Fatal(err)
			}
		}
		if i == 4 {
			// Through a group: not the principal's own.
			tn.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: u.ID, RoleDefinitionID: simtenant.GlobalReader,
				MemberType: simtenant.MemberTypeGroup, ViaGroup: groups[0].ID})
		}
		if i == 5 {
			lt.failing = u.ID
		}
	}
	// user3's memberships come on several pages: its first page (999 a
	// page, as the job asks) answers with a link to pages of one.
	u3 := lt.principals[3].ID
	tn.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: "/directoryObjects/" + u3 + "/memberOf", QueryContains: "top=999",
		Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: `{"value":[],"@odata.nextLink":"` + lt.url + `/v1.0/directoryObjects/` + u3 + `/memberOf?$top=1"}`})
	// The failing principal's listings fail for good, in or out of a batch.
	tn.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: "/roleEligibilitySchedules", QueryContains: lt.failing, Status: 500})
	tn.AddRule(simtenant.Rule{Method: http.MethodGet, PathContains: "/directoryObjects/" + lt.failing + "/memberOf", Status: 500})
	// A principal the directory does not know.
	lt.principals = append(lt.principals, job.Principal{ID: "99999999-9999-4999-8999-999999999999"})
	return lt
}

func (lt *listingTenant) client(t *testing.T, batchSize int) *Client {
	t.Helper()
	c, err := New(Config{Root: lt.url, UserAgent: "test", BatchSize: batchSize,
		Transport: &transport.Transport{Base: http.DefaultTransport, MaxAttempts: 2,
			Token: func(context.Context) (string, error) { return lt.Token(), nil }}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// getShape is a GET as the tenant received it, alone or in a batch.
func getShapes(reqs []simtenant.Request) []string {
	var out []string
	for _, r := range reqs {
		if r.Method != http.MethodGet {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s?%s accept=%q consistency=%q", r.Method, r.EscapedPath, r.RawQuery,
			r.Header.Get("Accept"), r.Header.Get("ConsistencyLevel")))
	}
	slices.Sort(out)
	return out
}

func assignmentKeys(as []job.Assignment) []string {
	var out []string
	for _, a := range as {
		out = append(out, strings.Join([]string{a.Source, a.PrincipalID, a.ID, a.RoleDefinitionID, a.Scope, a.Note, string(a.Raw)}, "|"))
	}
	slices.Sort(out)
	return out
}

// TestBatchedListingIsTheSingleListing lists the same principals one at a
// time (--graph-batch-size 1) and as one group in a $batch: each principal
// gets the same assignments, or the same error, from the same requests.
func TestBatchedListingIsTheSingleListing(t *testing.T) {
	lt := startListingTenant(t)
	single, batched := lt.client(t, 1), lt.client(t, 20)
	sources := []struct {
		single, batched job.Source
	}{
		// groups lists no principal on its own any more: its index is
		// tested in coverage_index_test.go.
		{single.Eligibilities(), batched.Eligibilities()},
	}
	for _, src := range sources {
		t.Run(src.single.Name(), func(t *testing.T) {
			if g := src.single.(job.Grouper).GroupSize(); g != 1 {
				t.Errorf("unbatched group size %d, want 1", g)
			}
			if g := src.batched.(job.Grouper).GroupSize(); g != 20 {
				t.Errorf("batched group size %d, want 20", g)
			}
			lt.ResetRequests()
			var want []job.Assignment
			wantErr := map[string]string{}
			for _, p := range lt.principals {
				found, err := src.single.Find(t.Context(), []job.Principal{p})
				if err != nil {
					wantErr[p.ID] = err.Error()
					continue
				}
				want = append(want, found...)
			}
			singleReqs := lt.Requests()
			if lt.Stats().Batches != 0 {
				t.Errorf("%d batches without batching", lt.Stats().Batches)
			}

			lt.ResetRequests()
			got, err := src.batched.Find(t.Context(), lt.principals)
			gotErr := map[string]string{}
			var le job.ListingErrors
			switch {
			case errors.As(err, &le):
				for id, e := range le {
					gotErr[id] = e.Error()
				}
			case err != nil:
				t.Fatalf("the whole group failed: %v", err)
			}
			batchedReqs := lt.Requests()

			if len(want) == 0 || len(wantErr) != 1 || wantErr[lt.failing] == "" || !strings.Contains(wantErr[lt.failing], "HTTP 500") {
				t.Fatalf("the single listing: %d assignments, errors %v: want some, and the failing principal's 500", len(want), wantErr)
			}
			if !slices.Equal(assignmentKeys(got), assignmentKeys(want)) {
				t.Errorf("batched listing:\n%s\nwant the single listing's:\n%s",
					strings.Join(assignmentKeys(got), "\n"), strings.Join(assignmentKeys(want), "\n"))
			}
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("batched errors %v, want %v", gotErr, wantErr)
			}
			if a, b := getShapes(batchedReqs), getShapes(singleReqs); !slices.Equal(a, b) {
				t.Errorf("batched GETs:\n%s\nwant the single path's:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
			}
			// The first pages of the seven principals went in one batch
			// (retried once for the failing one); the further pages alone.
			var inBatch, alone int
			for _, r := range batchedReqs {
				switch {
				case r.InBatch:
					inBatch++
				case r.Method == http.MethodGet:
					alone++
					if strings.Contains(r.RawQuery, "top=999") || strings.Contains(r.RawQuery, "principalId") && !strings.Contains(r.RawQuery, "skiptoken") {
						t.Errorf("a first page sent alone: %s?%s", r.Path, r.RawQuery)
					}
				}
			}
			if st := lt.Stats(); st.Batches != 2 || inBatch != len(lt.principals)+1 || alone == 0 {
				t.Errorf("%d batches carrying %d requests, %d GETs alone: want 2 batches (one a retry) carrying %d, and the further pages alone",
					st.Batches, inBatch, alone, len(lt.principals)+1)
			}
		})
	}
}

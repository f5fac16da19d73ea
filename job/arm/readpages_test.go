package arm

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/offboard/offboard/simtenant"
)

// staticToken hands the simulated tenant's token to azcore.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestListPageCap drives list (and so readPages) over real HTTP against
// a subscription whose role assignments and eligibilities take three
// pages of two: a cap below three stops the listing with errTooManyPages,
// a cap of three or none reads all six.
func TestListPageCap(t *testing.T) {
	tn := simtenant.New(simtenant.Config{Seed: 5, ARM: simtenant.ARMConfig{PageSize: 2}})
	srv, err := tn.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	sub := tn.AddSubscription(simtenant.ARMSubscription{})
	for range 6 {
		tn.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: tn.NewID(), Scope: sub.Scope(),
			RoleDefinitionID: simtenant.ARMRoleDefinitionID(sub.Scope(), simtenant.ARMReader)})
		tn.AddARMEligibilitySchedule(simtenant.ARMEligibilitySchedule{PrincipalID: tn.NewID(), Scope: sub.Scope(),
			RoleDefinitionID: simtenant.ARMRoleDefinitionID(sub.Scope(), simtenant.ARMReader)})
	}
	s, err := New(Config{Endpoint: srv.URL(), Credential: staticToken(tn.Token()), Transport: http.DefaultTransport,
		InsecureHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []listKind{rbac, eligible} {
		for _, tt := range []struct {
			maxPages int
			want     int // assignments; -1: errTooManyPages
		}{{0, 6}, {1, -1}, {2, -1}, {3, 6}, {4, 6}} {
			got, err := s.list(t.Context(), sub.Scope(), k, "", tt.maxPages)
			switch {
			case tt.want < 0 && !errors.Is(err, errTooManyPages):
				t.Errorf("listKind %v, at most %d pages: %d assignments, error %v; want errTooManyPages", k, tt.maxPages, len(got), err)
			case tt.want >= 0 && (err != nil || len(got) != tt.want):
				t.Errorf("listKind %v, at most %d pages: %d assignments, error %v; want %d", k, tt.maxPages, len(got), err, tt.want)
			}
		}
	}
}

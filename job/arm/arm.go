// Package arm is offboard's adapter to Azure Resource Manager: the `azure`
// source, which removes a principal's Azure RBAC role assignments and Azure
// PIM eligibilities at every scope the job is given, with armauthorization
// over the job's own transport. It needs nothing from Graph, so the
// assignments of a principal already deleted from Entra ID ("Identity not
// found") are cleaned all the same.
//
// The source lists every principal of the run at once (it is a
// job.Grouper of unbounded size): a subscription is listed once, unfiltered,
// and matched locally whenever that costs fewer requests than one filtered
// listing per principal; a management group is expanded to its descendants.
package arm

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/managementgroups/armmanagementgroups"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// Config says where ARM is and how to reach it.
type Config struct {
	// Cloud is the azcore cloud whose ARM endpoint and audience are used;
	// Endpoint, when set, replaces the endpoint (and the audience with it).
	Cloud    cloud.Configuration
	Endpoint string
	// Credential authenticates every request (azcore's bearer policy).
	Credential azcore.TokenCredential
	// Transport sends every request: the job's pacing, retrying transport.
	// azcore's own retry policy is switched off, so a request has one retry
	// budget.
	Transport http.RoundTripper
	// InsecureHTTP allows the credential over http, for a loopback endpoint.
	InsecureHTTP bool
	// Scopes are the ARM scopes to clean; "all" means every subscription the
	// identity can list. A management group stands for itself and every
	// management group and subscription below it.
	Scopes []string
	// Concurrency bounds the listings in flight (default 8).
	Concurrency int
	// PerPrincipal turns off unfiltered listing: every scope is listed
	// with one filtered request per principal (for comparisons).
	PerPrincipal bool
	// HeldUntil says until when ARM asked the requests to a scope's
	// subscription to wait (nil: never held); see Source.Lane.
	HeldUntil func(scope string) time.Time
}

// Source is the `azure` source.
type Source struct {
	assignments        *armauthorization.RoleAssignmentsClient
	eligibilities      *armauthorization.RoleEligibilitySchedulesClient
	requests           *armauthorization.RoleEligibilityScheduleRequestsClient
	assignmentRequests *armauthorization.RoleAssignmentScheduleRequestsClient
	subscriptions      *armsubscriptions.Client
	groups             *armmanagementgroups.Client
	definitions        *armauthorization.RoleDefinitionsClient
	wanted             []string
	concurrency        int
	perPrincipal       bool
	heldUntil          func(scope string) time.Time
	// cred and opts make the `keyvault` source's clients (KeyVaults).
	cred azcore.TokenCredential
	opts *azarm.ClientOptions

	once   sync.Once
	scopes []scope
	err    error
	// resolved is set once scopes holds every scope of the run (CheckID
	// reads them).
	resolved atomic.Bool

	// noEligibility is set by the first answer saying that PIM cannot
	// exist in this tenant: no eligibility request is sent after it.
	noEligibility atomic.Pointer[job.UnavailableError]
	// The run's first eligibility request goes alone (the probe): in a
	// tenant without P2 it is the only one sent.
	probeMu      sync.Mutex
	probeStarted bool
	probeDone    chan struct{}

	// holders is the groups holding roles at the scopes (groupholders.go).
	holders groupHolders
	// roleNames caches the role names a run read (kinds.go).
	roleNames roleNames
}

// scope is one ARM scope to list; group marks a management group, which
// is listed per principal (a listing there does not reach its children,
// and whether it accepts no filter is unconfirmed).
type scope struct {
	id    string
	group bool
}

var (
	_ job.Source  = (*Source)(nil)
	_ job.Grouper = (*Source)(nil)
)

// New returns the `azure` source.
func New(cfg Config) (*Source, error) {
	opts := clientOptions(cfg)
	s := &Source{wanted: cfg.Scopes, concurrency: cfg.Concurrency, perPrincipal: cfg.PerPrincipal, heldUntil: cfg.HeldUntil, probeDone: make(chan struct{}),
		cred: cfg.Credential, opts: opts}
	if s.concurrency <= 0 {
		s.concurrency = 8
	}
	var err error
	// The subscription id of the client is unused by the *ForScope and
	// *ByID calls the source makes.
	if s.assignments, err = armauthorization.NewRoleAssignmentsClient("", cfg.Credential, opts); err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	if s.eligibilities, err = armauthorization.NewRoleEligibilitySchedulesClient(cfg.Credential, opts); err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	if s.requests, err = armauthorization.NewRoleEligibilityScheduleRequestsClient(cfg.Credential, opts); err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	if s.assignmentRequests, err = armauthorization.NewRoleAssignmentScheduleRequestsClient(cfg.Credential, opts); err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	if s.subscriptions, err = armsubscriptions.NewClient(cfg.Credential, opts); err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	if s.groups, err = armmanagementgroups.NewClient(cfg.Credential, opts); err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	if s.definitions, err = armauthorization.NewRoleDefinitionsClient(cfg.Credential, opts); err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	return s, nil
}

// clientOptions are the options of every ARM client made for cfg: its
// cloud (with the endpoint in place of Resource Manager's, when given),
// its transport, and no retries of the SDK's own.
func clientOptions(cfg Config) *azarm.ClientOptions {
	c := cfg.Cloud
	if cfg.Endpoint != "" {
		c.Services = map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: cfg.Endpoint, Audience: cfg.Endpoint},
		}
	}
	return &azarm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud:                           c,
		Transport:                       &http.Client{Transport: cfg.Transport},
		Retry:                           policy.RetryOptions{MaxRetries: -1},
		InsecureAllowCredentialWithHTTP: cfg.InsecureHTTP,
	}}
}

// Name implements job.Source.
func (*Source) Name() string { return job.SourceAzure }

// GroupSize implements job.Grouper: Find takes every principal of the run
// at once, so that a subscription's unfiltered listing serves them all.
func (*Source) GroupSize() int { return 1 << 30 }

// managementGroupPrefix is how a management group's scope begins.
const managementGroupPrefix = "/providers/microsoft.management/managementgroups/"

// managementGroupID returns the id of a management-group scope.
func managementGroupID(s string) (string, bool) {
	rest, ok := strings.CutPrefix(strings.ToLower(s), managementGroupPrefix)
	if !ok || rest == "" || strings.Contains(strings.Trim(rest, "/"), "/") {
		return "", false
	}
	return strings.Trim(s[len(managementGroupPrefix):], "/"), true
}

// resolveScopes turns "all" into every subscription the identity can list,
// and a management group into itself, its descendant management groups and
// its descendant subscriptions (Microsoft.Management/managementGroups/{id}/descendants),
// once per run.
func (s *Source) resolveScopes(ctx context.Context) ([]scope, error) {
	s.once.Do(func() {
		seen := map[string]bool{}
		add := func(id string, group bool) {
			id = "/" + strings.Trim(id, "/")
			if !seen[strings.ToLower(id)] {
				seen[strings.ToLower(id)] = true
				s.scopes = append(s.scopes, scope{id: id, group: group})
			}
		}
		for _, w := range s.wanted {
			if mg, ok := managementGroupID(w); ok {
				add(w, true)
				pager, lctx := s.groups.NewGetDescendantsPager(mg, nil), transport.Listing(ctx)
				for pager.More() {
					page, err := pager.NextPage(lctx)
					if err != nil {
						s.err = fmt.Errorf("listing the descendants of management group %s: %w", mg, classify(err))
						return
					}
					for _, d := range page.Value {
						if d == nil || d.ID == nil {
							continue
						}
						_, isGroup := managementGroupID(*d.ID)
						isSub := strings.HasPrefix(strings.ToLower(*d.ID), "/subscriptions/")
						// A descendant becomes the path of a listing:
						// one not shaped like a scope is not listed.
						if (isGroup || isSub) && validScope(*d.ID) {
							add(*d.ID, isGroup)
						}
					}
				}
				continue
			}
			if !strings.EqualFold(w, "all") {
				add(w, false)
				continue
			}
			pager, lctx := s.subscriptions.NewListPager(nil), transport.Listing(ctx)
			for pager.More() {
				page, err := pager.NextPage(lctx)
				if err != nil {
					s.err = fmt.Errorf("listing subscriptions: %w", classify(err))
					return
				}
				for _, sub := range page.Value {
					if sub.ID != nil && validScope(*sub.ID) {
						add(*sub.ID, false)
					}
				}
			}
		}
		s.resolved.Store(true)
	})
	return s.scopes, s.err
}

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
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
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

// found gathers what the listings of one Find found, from many goroutines.
// Each scope lists what is at, above and below it, so an assignment on a
// management group is seen from every subscription under it: it is one
// assignment, kept once. An eligibility inherited from above is kept once
// too, at its own scope, however many listings show it.
type found struct {
	mu      sync.Mutex
	want    map[string]bool
	byID    map[string]job.Assignment
	eligKey map[string]bool
	failed  job.ListingErrors
}

func (f *found) add(a job.Assignment, eligibility bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := strings.ToLower(a.ID)
	if old, ok := f.byID[id]; ok {
		// Keep the schedule as its own scope lists it (Direct), so that
		// the journal's copy does not depend on which listing came first.
		if eligibility && inherited(old) && !inherited(a) {
			f.byID[id] = a
		}
		return
	}
	if eligibility {
		k := strings.ToLower(a.PrincipalID + "\x00" + roleOf(a.RoleDefinitionID) + "\x00" + strings.TrimRight(a.Scope, "/"))
		if f.eligKey[k] {
			return
		}
		f.eligKey[k] = true
	}
	f.byID[id] = a
}

func (f *found) fail(principal string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed[principal] = errors.Join(f.failed[principal], err)
}

// inherited reports whether an eligibility was listed from below its
// scope.
func inherited(a job.Assignment) bool {
	return bytes.Contains(a.Raw, []byte(`"memberType":"`+string(armauthorization.MemberTypeInherited)+`"`))
}

// roleOf is the role's GUID at the end of a role definition id: the same
// role is written with a subscription prefix or without.
func roleOf(roleDefinitionID string) string {
	i := strings.LastIndex(roleDefinitionID, "/")
	return roleDefinitionID[i+1:]
}

// listKind is what a listing lists.
type listKind int

const (
	rbac listKind = iota
	eligible
)

func (k listKind) String() string {
	if k == eligible {
		return "role eligibility schedules"
	}
	return "role assignments"
}

// errTooManyPages stops an unfiltered listing that would cost more than
// listing each principal.
var errTooManyPages = errors.New("the unfiltered listing is longer than one listing per principal")

// Find implements job.Source. Role assignments and eligibilities are
// listed apart: one failing never drops what the other found. A principal
// whose own listing failed is named in a job.ListingErrors; ARM saying
// that PIM cannot exist in this tenant makes the eligibility half a
// *job.UnavailableError, joined with it, and no eligibility request is sent
// after that in the run.
func (s *Source) Find(ctx context.Context, principals []job.Principal) ([]job.Assignment, error) {
	scopes, err := s.resolveScopes(ctx)
	if err != nil {
		return nil, err
	}
	f := &found{want: map[string]bool{}, byID: map[string]job.Assignment{}, eligKey: map[string]bool{}, failed: job.ListingErrors{}}
	var ids []string
	for _, p := range principals {
		if !job.IsGUID(p.ID) {
			f.failed[p.ID] = fmt.Errorf("principal id %q is not a GUID: refusing to put it in a filter", p.ID)
			continue
		}
		id := strings.ToLower(p.ID)
		if !f.want[id] {
			f.want[id] = true
			ids = append(ids, id)
		}
	}
	sem := make(chan struct{}, s.concurrency)
	var wg sync.WaitGroup
	for _, sc := range scopes {
		for _, k := range []listKind{rbac, eligible} {
			wg.Go(func() { s.listScope(ctx, sem, sc, k, ids, f) })
		}
	}
	wg.Wait()

	// A principal whose listing failed keeps what was found of it: one
	// half (role assignments, eligibilities) never hides the other.
	out := slices.Collect(maps.Values(f.byID))
	slices.SortFunc(out, func(a, b job.Assignment) int { return strings.Compare(a.ID, b.ID) })
	for i := range out {
		out[i].RoleName = s.roleNameOf(ctx, out[i].RoleDefinitionID)
	}
	var errs []error
	if u := s.noEligibility.Load(); u != nil {
		errs = append(errs, u)
	}
	if len(f.failed) > 0 {
		errs = append(errs, f.failed)
	}
	return out, errors.Join(errs...)
}

// listScope lists one kind at one scope: unfiltered once when that is
// cheaper than once per principal (never at a management group), else,
// or when the unfiltered listing is refused or runs long, per principal.
func (s *Source) listScope(ctx context.Context, sem chan struct{}, sc scope, k listKind, ids []string, f *found) {
	// With one or two principals a filtered listing each costs no more
	// than the shortest unfiltered one.
	if !sc.group && !s.perPrincipal && len(ids) > 2 {
		done, ok := s.turn(ctx, k)
		if !ok {
			return
		}
		sem <- struct{}{}
		got, err := s.list(ctx, sc.id, k, "", len(ids)-1)
		<-sem
		unavailable := k == eligible && err != nil && s.unavailable(err)
		done()
		var ae *transport.ServiceError
		switch {
		case err == nil:
			for _, c := range got {
				if f.want[c.PrincipalID] {
					f.add(c, k == eligible)
				}
			}
			return
		case unavailable:
			return
		case ctx.Err() != nil,
			errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden):
			// Listing per principal would be refused the same way.
			for _, id := range ids {
				f.fail(id, fmt.Errorf("listing %s at %s: %w", k, sc.id, err))
			}
			return
		}
		// A 400 (the unfiltered form refused), a failure that outlived
		// its retries, or a listing longer than it is worth: each
		// principal's failure is then its own.
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			done, ok := s.turn(ctx, k)
			if !ok {
				return
			}
			defer done()
			sem <- struct{}{}
			defer func() { <-sem }()
			got, err := s.list(ctx, sc.id, k, "principalId eq '"+id+"'", 0)
			switch {
			case err == nil:
				for _, c := range got {
					if c.PrincipalID == id {
						f.add(c, k == eligible)
					}
				}
			case k == eligible && s.unavailable(err):
			default:
				f.fail(id, fmt.Errorf("listing %s at %s: %w", k, sc.id, err))
			}
		})
	}
	wg.Wait()
}

// turn lets a listing of kind k go: at once for role assignments; for
// eligibilities, the run's first goes alone and the others wait for its
// answer, and none goes once the part is unavailable (ok false). done is
// called when the listing has its answer.
func (s *Source) turn(ctx context.Context, k listKind) (done func(), ok bool) {
	if k != eligible {
		return func() {}, true
	}
	s.probeMu.Lock()
	first := !s.probeStarted
	s.probeStarted = true
	s.probeMu.Unlock()
	if first {
		return func() { close(s.probeDone) }, true
	}
	select {
	case <-s.probeDone:
	case <-ctx.Done():
	}
	return func() {}, s.noEligibility.Load() == nil
}

// unavailable reports whether err says that PIM cannot exist in this
// tenant, and records it for the run when it does.
func (s *Source) unavailable(err error) bool {
	ue, ok := transport.LicenceMissing(err, PartEligibility)
	if ok {
		s.noEligibility.CompareAndSwap(nil, ue)
	}
	return ok
}

// PartEligibility names the eligibility half of the source in
// summary.json's "unavailable".
const PartEligibility = "azure-eligibility"

// list sends one listing of a kind at a scope, every page, and returns
// what it holds as assignments of their own principals (lower-case). A
// maxPages above zero stops it with errTooManyPages when more pages are
// left after that many.
func (s *Source) list(ctx context.Context, at string, k listKind, filter string, maxPages int) ([]job.Assignment, error) {
	// One listing: a page it has read, or one past the cap, is refused
	// (transport.Listing).
	ctx = transport.Listing(ctx)
	if k == rbac {
		var opts *armauthorization.RoleAssignmentsClientListForScopeOptions
		if filter != "" {
			// RoleAssignmentsClient puts $filter into the URL as it is
			// given (Azure/azure-sdk-for-go#20847).
			escaped := strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
			opts = &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: &escaped}
		}
		return readPages(ctx, s.assignments.NewListForScopePager(at, opts),
			func(p armauthorization.RoleAssignmentsClientListForScopeResponse) []*armauthorization.RoleAssignment {
				return p.Value
			}, assignment, maxPages)
	}
	var opts *armauthorization.RoleEligibilitySchedulesClientListForScopeOptions
	if filter != "" {
		// The eligibility client encodes $filter itself.
		opts = &armauthorization.RoleEligibilitySchedulesClientListForScopeOptions{Filter: &filter}
	}
	return readPages(ctx, s.eligibilities.NewListForScopePager(at, opts),
		func(p armauthorization.RoleEligibilitySchedulesClientListForScopeResponse) []*armauthorization.RoleEligibilitySchedule {
			return p.Value
		}, eligibility, maxPages)
}

// readPages reads every page of a listing and returns what keep makes of
// the values of each (values picks them out of a page). A maxPages above
// zero stops it with errTooManyPages when more pages are left after that
// many.
func readPages[P, V any](ctx context.Context, pager *runtime.Pager[P], values func(P) []V,
	keep func(V) (job.Assignment, bool), maxPages int) ([]job.Assignment, error) {
	var out []job.Assignment
	pages := 0
	for pager.More() {
		pages++
		if maxPages > 0 && pages > maxPages {
			return nil, errTooManyPages
		}
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, classify(err)
		}
		for _, v := range values(page) {
			if a, ok := keep(v); ok {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func assignment(ra *armauthorization.RoleAssignment) (job.Assignment, bool) {
	if ra == nil || ra.ID == nil || ra.Properties == nil || !job.IsGUID(transport.Deref(ra.Properties.PrincipalID)) {
		return job.Assignment{}, false
	}
	raw, _ := json.Marshal(ra)
	return job.Assignment{
		Source:           job.SourceAzure,
		Kind:             job.KindAzureRole,
		ID:               *ra.ID,
		PrincipalID:      strings.ToLower(*ra.Properties.PrincipalID),
		RoleDefinitionID: transport.Deref(ra.Properties.RoleDefinitionID),
		Scope:            transport.Deref(ra.Properties.Scope),
		Raw:              raw,
	}, true
}

// eligibility keeps an eligibility the principal holds itself: Direct at
// the scope listed, or Inherited from a scope above it, which is removed
// once, at its own scope (the schedule's scope property). One held through
// a group (Group) is removed where it comes from.
func eligibility(e *armauthorization.RoleEligibilitySchedule) (job.Assignment, bool) {
	if e == nil || e.ID == nil || e.Properties == nil || !job.IsGUID(transport.Deref(e.Properties.PrincipalID)) {
		return job.Assignment{}, false
	}
	// The same schedule is Direct from its own scope and Inherited from
	// below: what the row says must not depend on which listing came first.
	if mt := e.Properties.MemberType; mt != nil && *mt != armauthorization.MemberTypeDirect && *mt != armauthorization.MemberTypeInherited {
		return job.Assignment{}, false
	}
	raw, _ := json.Marshal(e)
	return job.Assignment{
		Source:           job.SourceAzure,
		Kind:             job.KindAzureRoleEligibility,
		ID:               *e.ID,
		PrincipalID:      strings.ToLower(*e.Properties.PrincipalID),
		RoleDefinitionID: transport.Deref(e.Properties.RoleDefinitionID),
		Scope:            transport.Deref(e.Properties.Scope),
		Note:             "eligible",
		Raw:              raw,
	}, true
}

// Remove implements job.Source. DeleteByID reports success for 200 and 204
// alike: the captured status tells removed (200) from already absent (204).
// A DELETE refused with 400 is tried once more the PIM way: an active
// assignment PIM manages may refuse a plain DELETE (what ARM answers then
// is unconfirmed, so any 400 is), and an AdminRemove
// roleAssignmentScheduleRequest at its scope removes it.
func (s *Source) Remove(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	if a.Kind == job.KindAzureRoleEligibility {
		return s.removeEligibility(ctx, a)
	}
	var resp *http.Response
	_, err := s.assignments.DeleteByID(policy.WithCaptureResponse(ctx, &resp), a.ID, nil)
	if err != nil {
		err = classify(err)
		var refused *transport.ServiceError
		if errors.As(err, &refused) && refused.Status == http.StatusBadRequest {
			return s.removeThroughPIM(ctx, a, refused)
		}
		return job.Outcome{}, err
	}
	if resp != nil && resp.StatusCode == http.StatusNoContent {
		return job.Outcome{State: job.AlreadyAbsent, Detail: "HTTP 204"}, nil
	}
	return job.Outcome{State: job.Removed}, nil
}

// removeThroughPIM removes an active assignment whose DELETE was refused
// with an AdminRemove roleAssignmentScheduleRequest at its scope. A
// refusal there keeps the DELETE's answer; a request the run cut off stays
// cut off.
func (s *Source) removeThroughPIM(ctx context.Context, a job.Assignment, refused *transport.ServiceError) (job.Outcome, error) {
	name, err := newName()
	if err != nil {
		return job.Outcome{}, err
	}
	remove := armauthorization.RequestTypeAdminRemove
	_, err = s.assignmentRequests.Create(ctx, a.Scope, name, armauthorization.RoleAssignmentScheduleRequest{
		Properties: &armauthorization.RoleAssignmentScheduleRequestProperties{
			PrincipalID:      &a.PrincipalID,
			RoleDefinitionID: &a.RoleDefinitionID,
			RequestType:      &remove,
			Justification:    &a.Justification,
		},
	}, nil)
	switch {
	case err == nil:
		return job.Outcome{State: job.Removed, Detail: "removed with a roleAssignmentScheduleRequest (AdminRemove): the plain DELETE was refused: " + refused.Error()}, nil
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return job.Outcome{}, err
	}
	return job.Outcome{}, refused
}

// removeEligibility sends an AdminRemove request at the schedule's own
// scope (an inherited one's too).
func (s *Source) removeEligibility(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	name, err := newName()
	if err != nil {
		return job.Outcome{}, err
	}
	remove := armauthorization.RequestTypeAdminRemove
	_, err = s.requests.Create(ctx, a.Scope, name, armauthorization.RoleEligibilityScheduleRequest{
		Properties: &armauthorization.RoleEligibilityScheduleRequestProperties{
			PrincipalID:      &a.PrincipalID,
			RoleDefinitionID: &a.RoleDefinitionID,
			RequestType:      &remove,
			Justification:    &a.Justification,
		},
	}, nil)
	err = classify(err)
	var ae *transport.ServiceError
	switch {
	case err == nil:
		return job.Outcome{State: job.Removed}, nil
	case errors.As(err, &ae) && ae.Code == "RoleAssignmentDoesNotExist":
		return job.Outcome{State: job.AlreadyAbsent, Detail: ae.Error()}, nil
	}
	return job.Outcome{}, err
}

// classify turns an azcore.ResponseError into the service's answer,
// ARM's own code and message read from its body, in the one way every
// service's error body is read (azcore has read the body already and left
// a copy in RawResponse).
func classify(err error) error {
	var re *azcore.ResponseError
	if err == nil || !errors.As(err, &re) {
		return err
	}
	e := &transport.ServiceError{Status: re.StatusCode, Code: re.ErrorCode}
	if re.RawResponse != nil && re.RawResponse.Body != nil {
		if body, rerr := io.ReadAll(re.RawResponse.Body); rerr == nil && len(body) > 0 {
			code, msg := transport.ErrorText(body)
			e.Code, e.Message = cmp.Or(e.Code, code), msg
		}
	}
	return e
}

// newName is a fresh GUID for a request resource's name.
func newName() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making a request name: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

package arm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

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
	ids, failed := principalIDs(principals)
	f := &found{want: map[string]bool{}, byID: map[string]job.Assignment{}, eligKey: map[string]bool{}, failed: failed}
	for _, id := range ids {
		f.want[id] = true
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
func readPages[P, V, T any](ctx context.Context, pager *runtime.Pager[P], values func(P) []V,
	keep func(V) (T, bool), maxPages int) ([]T, error) {
	var out []T
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

// principalIDs checks the principals' ids where they enter a source
// (Find): each GUID, lower case and once, in order, and a failure for
// each id that is not one, which never goes into a request.
func principalIDs(principals []job.Principal) (ids []string, failed job.ListingErrors) {
	failed = job.ListingErrors{}
	seen := map[string]bool{}
	for _, p := range principals {
		if !job.IsGUID(p.ID) {
			failed[p.ID] = fmt.Errorf("principal id %q is not a GUID: refusing to put it in a request", p.ID)
			continue
		}
		if id := strings.ToLower(p.ID); !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, failed
}

package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// groupHolders is what GroupsHoldingRoles learned, once a run.
type groupHolders struct {
	mu   sync.Mutex
	done bool
	err  error
	by   map[string][]job.Assignment // group id (lower case) → its assignments
}

// GroupsHoldingRoles answers, once a run, the groups that hold role
// assignments at the run's scopes: each group's object id (lower case)
// with its assignments (role definition id and scope), an assignment seen
// from several scopes kept once. A group's role reaches every member, so
// the `groups` source removes the run's principals' memberships of them.
//
// ARM's $filter takes atScope() and principalId eq only (Microsoft's
// reference for RoleAssignments_ListForScope): nothing selects by
// principalType, so a subscription is listed unfiltered, and a management
// group, whose unfiltered listing is unconfirmed (SERVICE_FACTS.md), with
// atScope(): what is at and above it; what is below it is listed from its
// descendants, which resolveScopes adds. The listings are the source's
// own (page caps, id checks); principalType Group is kept. Each
// assignment's Note is its role's name (one GET of each role definition;
// empty when it cannot be read: the id says which role all the same).
func (s *Source) GroupsHoldingRoles(ctx context.Context) (map[string][]job.Assignment, error) {
	h := &s.holders
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.done {
		h.by, h.err = s.listGroupHolders(ctx)
		// A listing cut off by ctx is not ARM's answer: the next call may
		// try again.
		h.done = h.err == nil || ctx.Err() == nil
	}
	return h.by, h.err
}

func (s *Source) listGroupHolders(ctx context.Context) (map[string][]job.Assignment, error) {
	scopes, err := s.resolveScopes(ctx)
	if err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		by   = map[string][]job.Assignment{}
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, s.concurrency)
	for _, sc := range scopes {
		wg.Go(func() {
			filter := ""
			if sc.group {
				filter = "atScope()"
			}
			sem <- struct{}{}
			got, err := s.list(ctx, sc.id, rbac, filter, 0)
			<-sem
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("listing the role assignments of groups at %s: %w", sc.id, err))
				return
			}
			for _, a := range got {
				if !heldByGroup(a) || seen[strings.ToLower(a.ID)] {
					continue
				}
				seen[strings.ToLower(a.ID)] = true
				by[a.PrincipalID] = append(by[a.PrincipalID], a)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, as := range by {
		slices.SortFunc(as, func(a, b job.Assignment) int { return strings.Compare(a.ID, b.ID) })
		for i, a := range as {
			as[i].Note = s.roleNameOf(ctx, a.RoleDefinitionID)
		}
	}
	return by, nil
}

// roleName reads a role definition's name, or "" when it cannot.
func (s *Source) roleName(ctx context.Context, id string) string {
	if checkRoleDefinitionID(id) != nil {
		// Not a role definition's id: it is not made a GET's path (the
		// membership's row fails on it, see CheckID).
		return ""
	}
	got, err := s.definitions.GetByID(ctx, id, nil)
	if err != nil || got.Properties == nil {
		return ""
	}
	return transport.Deref(got.Properties.RoleName)
}

// heldByGroup reports whether an assignment, as listed, is a group's.
func heldByGroup(a job.Assignment) bool {
	var ra armauthorization.RoleAssignment
	if json.Unmarshal(a.Raw, &ra) != nil || ra.Properties == nil || ra.Properties.PrincipalType == nil {
		return false
	}
	return strings.EqualFold(string(*ra.Properties.PrincipalType), string(armauthorization.PrincipalTypeGroup))
}

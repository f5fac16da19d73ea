package graph

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/directoryobjects"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// Each principal's access to the role-assignable groups, listed by its
// type: Graph has memberOf on users and service principals, not on
// directoryObjects. Ownerships come from the groups' owners, listed once:
// a user's ownedObjects is documented "Application: Not supported". A
// group cannot be a member (nor an owner) of a role-assignable group, so
// a group principal, like one getByIds does not know (deleted), holds
// none.
//
// getByIds and a user's memberOf document Directory.Read.All as their
// least privileged application permission, which the job does not
// require: when Graph refuses either (403), the index lists every
// group's access instead (byGroup), and no principal fails for it.

// getByIDsMax is how many ids one getByIds takes.
const getByIDsMax = 1000

// typedIsCheaper reports whether listing n principals' access one by one
// (a getByIds a thousand, then three first pages each, and the owners of
// every group, batched) costs fewer round trips than listing the access
// of g groups (four first pages each). Further pages are left out of
// both: they are few.
func typedIsCheaper(g, n, batchSize int) bool {
	per := max(batchSize, 1)
	perGroup := (4*g + per - 1) / per
	perPrincipal := (n+getByIDsMax-1)/getByIDsMax + (3*n+per-1)/per + (g+per-1)/per
	return perPrincipal < perGroup
}

// errByPrincipalRefused marks a listing by principal that Graph refused
// (403): getByIds and a user's memberOf need Directory.Read.All.
var errByPrincipalRefused = errors.New("listing by principal refused (it needs " + PermDirectoryRead + ")")

// refusedByPrincipal marks err when it is Graph's 403.
func refusedByPrincipal(err error) error {
	if transport.HasStatus(err, http.StatusForbidden) {
		return fmt.Errorf("%w: %w", errByPrincipalRefused, err)
	}
	return err
}

// anyRefusedByPrincipal reports whether a listing by principal was
// refused for want of Directory.Read.All.
func anyRefusedByPrincipal(failed job.ListingErrors) bool {
	for _, err := range failed {
		if errors.Is(err, errByPrincipalRefused) {
			return true
		}
	}
	return false
}

// heldBy copies the index's access of the principals.
func (x *groupIndex) heldBy(principals []job.Principal) map[string][]heldAccess {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make(map[string][]heldAccess, len(principals))
	for _, p := range principals {
		k := job.NormalizeGUID(p.ID)
		out[k] = x.held[k]
	}
	return out
}

func (x *groupIndex) unavailableErr() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.unavailable == nil {
		return nil
	}
	return x.unavailable
}

// typedPrincipals learns the principals' types (principalTypes) and
// returns those whose memberships Graph lists by type: users and service
// principals (a group principal, or one the directory does not have, is a
// member of none the job removes it from). When the types cannot be
// learnt, every principal fails with that error. failed is never nil.
func typedPrincipals(ctx context.Context, c *Client, principals []job.Principal) (listed []job.Principal, types map[string]string, failed job.ListingErrors) {
	failed = job.ListingErrors{}
	types, err := principalTypes(ctx, c, principals)
	if err != nil {
		for _, p := range principals {
			failed[p.ID] = err
		}
		return nil, nil, failed
	}
	for _, p := range principals {
		if t := types[job.NormalizeGUID(p.ID)]; t == "user" || t == "servicePrincipal" {
			listed = append(listed, p)
		}
	}
	return listed, types, failed
}

// principalTypes learns each principal's type with getByIds: "user",
// "servicePrincipal", "group", or absent for an object the directory does
// not have.
func principalTypes(ctx context.Context, c *Client, principals []job.Principal) (map[string]string, error) {
	out := map[string]string{}
	for start := 0; start < len(principals); start += getByIDsMax {
		chunk := principals[start:min(start+getByIDsMax, len(principals))]
		ids := make([]string, len(chunk))
		for i, p := range chunk {
			ids[i] = p.ID
		}
		body := directoryobjects.NewGetByIdsPostRequestBody()
		body.SetIds(ids)
		body.SetTypes([]string{"user", "servicePrincipal", "group"})
		resp, err := directoryobjects.NewGetByIdsRequestBuilderInternal(c.pathParams(), c.adapter).PostAsGetByIdsPostResponse(ctx, body, nil)
		if err != nil {
			return nil, fmt.Errorf("learning the principals' types (getByIds): %w", refusedByPrincipal(classify(err)))
		}
		for _, o := range resp.GetValue() {
			kind := strings.TrimPrefix(transport.Deref(o.GetOdataType()), "#microsoft.graph.")
			out[job.NormalizeGUID(transport.Deref(o.GetId()))] = kind
		}
	}
	return out, nil
}

// The three listings of a principal, in the order of their first pages.
const (
	listMemberOf = iota
	listMyEligible
	listMyActive
	principalListings
)

// listTyped lists the access of each principal by its type and adds it
// to the index; its ownerships come from the groups' owners (listOwners),
// which the last-owner guard needs too. A principal whose listing failed
// is named in the answer and holds nothing in the index.
func (x *groupIndex) listTyped(ctx context.Context, c *Client, principals []job.Principal) job.ListingErrors {
	listed, types, failed := typedPrincipals(ctx, c, principals)
	if len(failed) > 0 {
		return failed
	}
	if err := x.listOwners(ctx, c); err != nil {
		for _, p := range principals {
			failed[p.ID] = err
		}
		return failed
	}
	urls, answers, errs := c.firstPages(ctx, len(listed)*principalListings, func(i int) (*abstractions.RequestInformation, error) {
		p := listed[i/principalListings]
		return principalPage(ctx, c, p.ID, types[job.NormalizeGUID(p.ID)], i%principalListings)
	})
	for i, err := range errs {
		failed[listed[i/principalListings].ID] = err
	}
	x.mu.Lock()
	groupsByID, byOwner := x.groups, x.byOwner()
	x.mu.Unlock()
	held := map[string][]heldAccess{}
	var unavailable *job.UnavailableError
	for pi, p := range listed {
		if _, ok := failed[p.ID]; ok {
			continue
		}
		k := job.NormalizeGUID(p.ID)
		r := typedReader{ctx: ctx, c: c, p: p, isSP: types[k] == "servicePrincipal", groups: groupsByID, pimOff: unavailable != nil,
			at: func(l int) (string, *transport.SubAnswer) { i := pi*principalListings + l; return urls[i], answers[i] }}
		hs, ue, err := r.read(byOwner[k])
		if err != nil {
			failed[p.ID] = err
			continue
		}
		held[k] = hs
		if ue != nil {
			unavailable = ue
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for k, hs := range held {
		if _, ok := failed[principalOf(principals, k)]; !ok && len(hs) > 0 {
			x.held[k] = hs
		}
	}
	if unavailable != nil && x.unavailable == nil {
		x.unavailable = unavailable
	}
	if len(failed) == 0 {
		return nil
	}
	return failed
}

// byOwner is, for each owner (lower case), the groups it owns; x.mu is
// held.
func (x *groupIndex) byOwner() map[string][]*groupFacts {
	out := map[string][]*groupFacts{}
	for _, g := range x.sortedGroups() {
		for _, o := range g.owners {
			out[o] = append(out[o], g)
		}
	}
	return out
}

// typedReader reads one principal's access from its listings (at gives
// each one's first page), keeping what is to role-assignable groups.
type typedReader struct {
	ctx    context.Context
	c      *Client
	p      job.Principal
	isSP   bool
	groups map[string]*groupFacts
	// pimOff: PIM for Groups is known unavailable; its listings are not
	// read.
	pimOff bool
	at     func(listing int) (string, *transport.SubAnswer)
}

// read answers the principal's access: its memberships, its ownerships
// (owned), and unless PIM for Groups is off its eligibilities and active
// assignments. ue is set, with the access read so far, when the tenant
// lacks PIM for Groups' licence.
func (r typedReader) read(owned []*groupFacts) (held []heldAccess, ue *job.UnavailableError, err error) {
	ctx, c := r.ctx, r.c
	add := func(groupID, kind string, raw []byte) {
		if g := r.groups[job.NormalizeGUID(groupID)]; g != nil {
			held = append(held, heldAccess{group: g, kind: kind, raw: raw})
		}
	}
	u, first := r.at(listMemberOf)
	memberOf, err := readMemberOf(ctx, c, u, first, r.isSP)
	if err = goneIsEmpty(err); err != nil {
		return nil, nil, fmt.Errorf("listing memberships: %w", refusedByPrincipal(err))
	}
	for _, o := range memberOf {
		add(transport.Deref(o.GetId()), job.KindGroupMember, nil)
	}
	for _, g := range owned {
		add(g.id, job.KindGroupOwner, nil)
	}
	if r.pimOff {
		return held, nil, nil
	}
	u, first = r.at(listMyEligible)
	eligible, err := readAll(ctx, u, first, models.CreatePrivilegedAccessGroupEligibilityScheduleCollectionResponseFromDiscriminatorValue,
		func(ctx context.Context, u string) (models.PrivilegedAccessGroupEligibilityScheduleCollectionResponseable, error) {
			return identitygovernance.NewPrivilegedAccessGroupEligibilitySchedulesRequestBuilder(u, c.adapter).Get(ctx, nil)
		})
	if ue, ok := transport.LicenceMissing(err, PartGroupsPIM); ok {
		return held, ue, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("listing PIM for Groups eligibilities: %w", err)
	}
	u, first = r.at(listMyActive)
	active, err := readAll(ctx, u, first, models.CreatePrivilegedAccessGroupAssignmentScheduleCollectionResponseFromDiscriminatorValue,
		func(ctx context.Context, u string) (models.PrivilegedAccessGroupAssignmentScheduleCollectionResponseable, error) {
			return identitygovernance.NewPrivilegedAccessGroupAssignmentSchedulesRequestBuilder(u, c.adapter).Get(ctx, nil)
		})
	if ue, ok := transport.LicenceMissing(err, PartGroupsPIM); ok {
		return held, ue, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("listing PIM for Groups assignments: %w", err)
	}
	for _, e := range eligible {
		if direct(e.GetMemberType()) && strings.EqualFold(transport.Deref(e.GetPrincipalId()), r.p.ID) {
			add(transport.Deref(e.GetGroupId()), scheduleKind(e.GetAccessId(), false), raw(e))
		}
	}
	for _, a := range active {
		if direct(a.GetMemberType()) && strings.EqualFold(transport.Deref(a.GetPrincipalId()), r.p.ID) {
			add(transport.Deref(a.GetGroupId()), scheduleKind(a.GetAccessId(), true), raw(a))
		}
	}
	return held, nil, nil
}

// principalOf is the id, as given, of the principal with a lower-case key.
func principalOf(principals []job.Principal, key string) string {
	for _, p := range principals {
		if job.NormalizeGUID(p.ID) == key {
			return p.ID
		}
	}
	return key
}

// principalPage builds the first page of one of a principal's listings.
func principalPage(ctx context.Context, c *Client, id, kind string, k int) (*abstractions.RequestInformation, error) {
	top := int32(999)
	filter := "principalId eq '" + id + "'" // a GUID: Find checked it
	sel := []string{"id"}
	switch {
	case k == listMemberOf && kind == "servicePrincipal":
		return serviceprincipals.NewServicePrincipalsRequestBuilderInternal(c.pathParams(), c.adapter).ByServicePrincipalId(id).MemberOf().
			ToGetRequestInformation(ctx, &serviceprincipals.ItemMemberOfRequestBuilderGetRequestConfiguration{
				QueryParameters: &serviceprincipals.ItemMemberOfRequestBuilderGetQueryParameters{Select: sel, Top: &top}})
	case k == listMemberOf:
		return users.NewUsersRequestBuilderInternal(c.pathParams(), c.adapter).ByUserId(id).MemberOf().
			ToGetRequestInformation(ctx, &users.ItemMemberOfRequestBuilderGetRequestConfiguration{
				QueryParameters: &users.ItemMemberOfRequestBuilderGetQueryParameters{Select: sel, Top: &top}})
	case k == listMyEligible:
		return identitygovernance.NewPrivilegedAccessGroupEligibilitySchedulesRequestBuilderInternal(c.pathParams(), c.adapter).
			ToGetRequestInformation(ctx, &identitygovernance.PrivilegedAccessGroupEligibilitySchedulesRequestBuilderGetRequestConfiguration{
				QueryParameters: &identitygovernance.PrivilegedAccessGroupEligibilitySchedulesRequestBuilderGetQueryParameters{Filter: &filter}})
	}
	return identitygovernance.NewPrivilegedAccessGroupAssignmentSchedulesRequestBuilderInternal(c.pathParams(), c.adapter).
		ToGetRequestInformation(ctx, &identitygovernance.PrivilegedAccessGroupAssignmentSchedulesRequestBuilderGetRequestConfiguration{
			QueryParameters: &identitygovernance.PrivilegedAccessGroupAssignmentSchedulesRequestBuilderGetQueryParameters{Filter: &filter}})
}

// sortedGroups is the index's groups by id; x.mu is held.
func (x *groupIndex) sortedGroups() []*groupFacts {
	out := slices.Collect(maps.Values(x.groups))
	slices.SortFunc(out, func(a, b *groupFacts) int { return strings.Compare(a.id, b.id) })
	return out
}

// listOwners lists every group's owners, once a run (their first pages
// in $batch): in the listing by principal, they say who owns which group
// (a user's ownedObjects is not open to an application), and the
// last-owner guard reads them.
func (x *groupIndex) listOwners(ctx context.Context, c *Client) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ownersListed {
		return nil
	}
	order := x.sortedGroups()
	urls, answers, errs := c.firstPages(ctx, len(order), func(i int) (*abstractions.RequestInformation, error) {
		return firstPage(ctx, c, order[i].id, listOwners)
	})
	for i := range order {
		if err := errs[i]; err != nil {
			return err
		}
	}
	owners := make([][]string, len(order))
	for i, g := range order {
		found, err := readAll(ctx, urls[i], answers[i], models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
			func(ctx context.Context, u string) (models.DirectoryObjectCollectionResponseable, error) {
				return groups.NewItemOwnersRequestBuilder(u, c.adapter).Get(ctx, nil)
			})
		if err = goneIsEmpty(err); err != nil {
			return fmt.Errorf("the owners of group %s: %w", g.id, err)
		}
		for _, o := range found {
			if id := transport.Deref(o.GetId()); job.IsGUID(id) {
				owners[i] = append(owners[i], job.NormalizeGUID(id))
			}
		}
	}
	for i, g := range order {
		g.owners = owners[i]
	}
	x.ownersListed = true
	return nil
}

// byGroup turns the index from listing each principal's access to
// listing every group's, for the rest of the run: Graph refused a listing
// by principal (getByIds and a user's memberOf need Directory.Read.All,
// which the job does not require). Logged once.
func (x *groupIndex) byGroup(ctx context.Context, c *Client, why error) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.typed {
		return nil
	}
	c.log.Warn("Graph refused listing group access by principal: every role-assignable group's members and owners are listed instead",
		zap.Error(why))
	order := x.sortedGroups()
	for _, g := range order {
		g.owners = nil
	}
	x.held, x.unavailable = map[string][]heldAccess{}, nil
	if err := x.listAccess(ctx, c, order); err != nil {
		return err
	}
	x.typed, x.ownersListed = false, true
	return nil
}

// readMemberOf reads all of a principal's memberOf from its first page
// (first, or its URL u), as a service principal's when isSP, else as a
// user's.
func readMemberOf(ctx context.Context, c *Client, u string, first *transport.SubAnswer, isSP bool) ([]models.DirectoryObjectable, error) {
	return readAll(ctx, u, first, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
		func(ctx context.Context, u string) (models.DirectoryObjectCollectionResponseable, error) {
			if isSP {
				return serviceprincipals.NewItemMemberOfRequestBuilder(u, c.adapter).Get(ctx, nil)
			}
			return users.NewItemMemberOfRequestBuilder(u, c.adapter).Get(ctx, nil)
		})
}

package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// PartGroupsPIM names PIM for Groups in summary.json's "unavailable" when
// the tenant has no licence for it.
const PartGroupsPIM = "groups-pim"

// groupIndex is the tenant's role-assignable groups and who holds each,
// built once a run. It costs one listing of the groups (at most 500, one
// page of 999) and four first pages a group (members, owners, PIM for
// Groups eligibilities and active assignments), sent in $batch: for the
// sample tenant's three groups, two round trips in all, however many
// principals the run has. When the run's principals are few and the
// groups many, each principal's access is listed instead: a getByIds to
// learn each principal's type, then its typed memberOf and ownedObjects
// and its two PIM for Groups listings (grouptyped.go).
type groupIndex struct {
	builtOnce

	groups      map[string]*groupFacts // by lower-case id
	held        map[string][]heldAccess
	unavailable *job.UnavailableError
	// typed: each principal's access is listed by Find (grouptyped.go)
	// rather than every group's by build.
	typed bool
	// ownersListed: every group's owners are in the index.
	ownersListed bool
}

// groupFacts is what the index knows of one role-assignable group.
type groupFacts struct {
	id, name string
	dynamic  bool // groupTypes holds DynamicMembership
	synced   bool // onPremisesSyncEnabled
	// exchange names a group whose members and owners Exchange Online
	// manages and Graph cannot change ("a mail-enabled security group",
	// "a distribution list"), or is "".
	exchange string
	owners   []string
	raw      json.RawMessage
}

// heldAccess is one access of a principal to a group, of a kind (its
// name in the kinds table); raw is the PIM schedule as listed (nil: the
// group's).
type heldAccess struct {
	group *groupFacts
	kind  string
	raw   json.RawMessage
}

// get builds the index on the first call and answers it (or its failure)
// to every call of the run. The groups are listed first; then, for n
// principals, whichever costs fewer round trips: each group's access
// (listAccess), or each principal's own, by its type (typed, grouptyped.go).
func (x *groupIndex) get(ctx context.Context, c *Client, n int) (*groupIndex, error) {
	if err := x.once(ctx, func() error { return x.build(ctx, c, n) }); err != nil {
		return nil, fmt.Errorf("listing the role-assignable groups: %w", err)
	}
	return x, nil
}

// built is the index when it was built without error, or nil.
func (x *groupIndex) built() *groupIndex {
	if !x.ok() {
		return nil
	}
	return x
}

// builtOnce is how an index is built on first use; its mu also guards the
// index's data, which the build writes under it.
type builtOnce struct {
	mu   sync.Mutex
	done bool
	err  error
}

// once builds under the lock on the first call, and again on a call after
// a build that ctx cut off (a listing cut off is not the tenant's answer),
// and answers the error of the build that counted.
func (b *builtOnce) once(ctx context.Context, build func() error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		b.err = build()
		b.done = b.err == nil || ctx.Err() == nil
	}
	return b.err
}

// ok reports whether the index was built without error.
func (b *builtOnce) ok() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done && b.err == nil
}

// groupPage, memberPage and the schedule pages are the collections the
// index reads.
type page[V any] interface {
	serialization.Parsable
	GetValue() []V
	GetOdataNextLink() *string
}

// readAll reads a collection: its first page from a batch's answer (or,
// first nil, fetched with get), then every @odata.nextLink with get.
func readAll[P page[V], V any](ctx context.Context, firstURL string, first *transport.SubAnswer,
	create serialization.ParsableFactory, get func(context.Context, string) (P, error)) ([]V, error) {
	// One listing: a page it has read, or one past the cap, is refused.
	ctx = transport.Listing(ctx)
	var out []V
	next := firstURL
	for pages := 1; next != ""; pages++ {
		var p P
		var err error
		if pages == 1 && first != nil {
			p, err = readPage[P](*first, create)
		} else {
			p, err = get(ctx, next)
			err = classify(err)
		}
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", pages, err)
		}
		out = append(out, p.GetValue()...)
		next = transport.Deref(p.GetOdataNextLink())
	}
	return out, nil
}

// build lists the groups, then, unless listing each principal's access
// costs fewer round trips, their members, owners and schedules.
func (x *groupIndex) build(ctx context.Context, c *Client, n int) error {
	x.groups, x.held, x.unavailable, x.typed, x.ownersListed = map[string]*groupFacts{}, map[string][]heldAccess{}, nil, false, false
	eventual := abstractions.NewRequestHeaders()
	eventual.Add("ConsistencyLevel", "eventual")
	filter, count, top := "isAssignableToRole eq true", true, int32(999)
	list := groups.NewGroupsRequestBuilderInternal(c.pathParams(), c.adapter)
	info, err := list.ToGetRequestInformation(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		Headers: eventual,
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{
			Filter: &filter, Count: &count, Top: &top,
			Select: []string{"id", "displayName", "isAssignableToRole", "groupTypes", "onPremisesSyncEnabled", "mailEnabled", "securityEnabled"},
		},
	})
	if err != nil {
		return err
	}
	firstURL, err := info.GetUri()
	if err != nil {
		return err
	}
	found, err := readAll(ctx, firstURL.String(), nil, models.CreateGroupCollectionResponseFromDiscriminatorValue,
		func(ctx context.Context, u string) (models.GroupCollectionResponseable, error) {
			return groups.NewGroupsRequestBuilder(u, c.adapter).Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{Headers: eventual})
		})
	if err != nil {
		return err
	}
	var order []*groupFacts
	for _, g := range found {
		id := transport.Deref(g.GetId())
		if a := g.GetIsAssignableToRole(); a == nil || !*a || !job.IsGUID(id) {
			continue
		}
		f := newGroupFacts(id, g)
		if x.groups[job.NormalizeGUID(id)] == nil {
			x.groups[job.NormalizeGUID(id)] = f
			order = append(order, f)
		}
	}
	if x.typed = typedIsCheaper(len(order), n, c.batchSize); x.typed {
		return nil
	}
	x.ownersListed = true
	return x.listAccess(ctx, c, order)
}

// newGroupFacts is what the index keeps of a group Graph described.
func newGroupFacts(id string, g models.Groupable) *groupFacts {
	f := &groupFacts{id: id, name: transport.Deref(g.GetDisplayName()), raw: raw(g)}
	unified := false
	for _, t := range g.GetGroupTypes() {
		f.dynamic = f.dynamic || strings.EqualFold(t, "DynamicMembership")
		unified = unified || strings.EqualFold(t, "Unified")
	}
	if s := g.GetOnPremisesSyncEnabled(); s != nil && *s {
		f.synced = true
	}
	// Graph changes the members of security groups and Microsoft 365
	// groups only: mail-enabled without Unified is Exchange's.
	if m := g.GetMailEnabled(); m != nil && *m && !unified {
		f.exchange = "a distribution list"
		if s := g.GetSecurityEnabled(); s != nil && *s {
			f.exchange = "a mail-enabled security group"
		}
	}
	return f
}

// The four listings of a group, in the order of their first pages.
const (
	listMembers = iota
	listOwners
	listEligible
	listActive
	listings
)

// listAccess lists each group's members, owners and schedules: the first
// pages in $batch (or alone without batching), the rest alone.
func (x *groupIndex) listAccess(ctx context.Context, c *Client, order []*groupFacts) error {
	urls, answers, errs := c.firstPages(ctx, len(order)*listings, func(i int) (*abstractions.RequestInformation, error) {
		return firstPage(ctx, c, order[i/listings].id, i%listings)
	})
	for i := range len(order) * listings {
		if err := errs[i]; err != nil {
			return err
		}
	}
	for gi, g := range order {
		at := func(k int) (string, *transport.SubAnswer) { i := gi*listings + k; return urls[i], answers[i] }
		if err := x.listGroup(ctx, c, g, at); err != nil {
			return err
		}
	}
	return nil
}

// listGroup reads one group's members, owners and (unless PIM for Groups
// is known unavailable) schedules into the index, from each listing's
// first page (at).
func (x *groupIndex) listGroup(ctx context.Context, c *Client, g *groupFacts, at func(listing int) (string, *transport.SubAnswer)) error {
	u, first := at(listMembers)
	members, err := readAll(ctx, u, first, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
		func(ctx context.Context, u string) (models.DirectoryObjectCollectionResponseable, error) {
			return groups.NewItemMembersRequestBuilder(u, c.adapter).Get(ctx, nil)
		})
	if err = goneIsEmpty(err); err != nil {
		return fmt.Errorf("the members of group %s: %w", g.id, err)
	}
	for _, m := range members {
		x.add(transport.Deref(m.GetId()), g, job.KindGroupMember, nil)
	}
	u, first = at(listOwners)
	owners, err := readAll(ctx, u, first, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
		func(ctx context.Context, u string) (models.DirectoryObjectCollectionResponseable, error) {
			return groups.NewItemOwnersRequestBuilder(u, c.adapter).Get(ctx, nil)
		})
	if err = goneIsEmpty(err); err != nil {
		return fmt.Errorf("the owners of group %s: %w", g.id, err)
	}
	for _, o := range owners {
		id := transport.Deref(o.GetId())
		g.owners = append(g.owners, job.NormalizeGUID(id))
		x.add(id, g, job.KindGroupOwner, nil)
	}
	if x.unavailable != nil {
		return nil
	}
	u, first = at(listEligible)
	eligible, err := readAll(ctx, u, first, models.CreatePrivilegedAccessGroupEligibilityScheduleCollectionResponseFromDiscriminatorValue,
		func(ctx context.Context, u string) (models.PrivilegedAccessGroupEligibilityScheduleCollectionResponseable, error) {
			return identitygovernance.NewPrivilegedAccessGroupEligibilitySchedulesRequestBuilder(u, c.adapter).Get(ctx, nil)
		})
	if x.licence(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("the PIM for Groups eligibilities of group %s: %w", g.id, err)
	}
	u, first = at(listActive)
	active, err := readAll(ctx, u, first, models.CreatePrivilegedAccessGroupAssignmentScheduleCollectionResponseFromDiscriminatorValue,
		func(ctx context.Context, u string) (models.PrivilegedAccessGroupAssignmentScheduleCollectionResponseable, error) {
			return identitygovernance.NewPrivilegedAccessGroupAssignmentSchedulesRequestBuilder(u, c.adapter).Get(ctx, nil)
		})
	if x.licence(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("the PIM for Groups assignments of group %s: %w", g.id, err)
	}
	for _, e := range eligible {
		if direct(e.GetMemberType()) && strings.EqualFold(transport.Deref(e.GetGroupId()), g.id) {
			x.add(transport.Deref(e.GetPrincipalId()), g, scheduleKind(e.GetAccessId(), false), raw(e))
		}
	}
	for _, a := range active {
		if direct(a.GetMemberType()) && strings.EqualFold(transport.Deref(a.GetGroupId()), g.id) {
			x.add(transport.Deref(a.GetPrincipalId()), g, scheduleKind(a.GetAccessId(), true), raw(a))
		}
	}
	return nil
}

// firstPage builds the first page of one of a group's listings.
func firstPage(ctx context.Context, c *Client, groupID string, k int) (*abstractions.RequestInformation, error) {
	top := int32(999)
	filter := "groupId eq '" + groupID + "'" // a GUID: checked when the group was listed
	item := groups.NewGroupsRequestBuilderInternal(c.pathParams(), c.adapter).ByGroupId(groupID)
	switch k {
	case listMembers:
		return item.Members().ToGetRequestInformation(ctx, &groups.ItemMembersRequestBuilderGetRequestConfiguration{
			QueryParameters: &groups.ItemMembersRequestBuilderGetQueryParameters{Select: []string{"id"}, Top: &top},
		})
	case listOwners:
		return item.Owners().ToGetRequestInformation(ctx, &groups.ItemOwnersRequestBuilderGetRequestConfiguration{
			QueryParameters: &groups.ItemOwnersRequestBuilderGetQueryParameters{Select: []string{"id"}, Top: &top},
		})
	case listEligible:
		return identitygovernance.NewPrivilegedAccessGroupEligibilitySchedulesRequestBuilderInternal(c.pathParams(), c.adapter).
			ToGetRequestInformation(ctx, &identitygovernance.PrivilegedAccessGroupEligibilitySchedulesRequestBuilderGetRequestConfiguration{
				QueryParameters: &identitygovernance.PrivilegedAccessGroupEligibilitySchedulesRequestBuilderGetQueryParameters{Filter: &filter},
			})
	default:
		return identitygovernance.NewPrivilegedAccessGroupAssignmentSchedulesRequestBuilderInternal(c.pathParams(), c.adapter).
			ToGetRequestInformation(ctx, &identitygovernance.PrivilegedAccessGroupAssignmentSchedulesRequestBuilderGetRequestConfiguration{
				QueryParameters: &identitygovernance.PrivilegedAccessGroupAssignmentSchedulesRequestBuilderGetQueryParameters{Filter: &filter},
			})
	}
}

// add records that a principal holds an access to a group.
func (x *groupIndex) add(principalID string, g *groupFacts, kind string, raw json.RawMessage) {
	if !job.IsGUID(principalID) {
		return
	}
	k := job.NormalizeGUID(principalID)
	x.held[k] = append(x.held[k], heldAccess{group: g, kind: kind, raw: raw})
}

// licence notes a tenant without PIM for Groups and reports whether err
// says so.
func (x *groupIndex) licence(err error) bool {
	if ue, ok := transport.LicenceMissing(err, PartGroupsPIM); ok {
		x.unavailable = ue
		return true
	}
	return false
}

// goneIsEmpty takes a group deleted since it was listed as holding nothing.
func goneIsEmpty(err error) error {
	if errors.Is(err, job.ErrNotFound) {
		return nil
	}
	return err
}

// direct reports whether a schedule is the principal's own (memberType
// direct), not one it has through another group.
func direct(t *models.PrivilegedAccessGroupMemberType) bool {
	return t == nil || *t == models.DIRECT_PRIVILEGEDACCESSGROUPMEMBERTYPE
}

// scheduleKind is the kind of access a PIM for Groups schedule gives.
func scheduleKind(access *models.PrivilegedAccessGroupRelationships, active bool) string {
	owner := access != nil && *access == models.OWNER_PRIVILEGEDACCESSGROUPRELATIONSHIPS
	switch {
	case active && owner:
		return job.KindGroupActiveOwner
	case active:
		return job.KindGroupActiveMember
	case owner:
		return job.KindGroupEligibleOwner
	}
	return job.KindGroupEligibleMember
}

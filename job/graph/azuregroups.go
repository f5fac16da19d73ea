package graph

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// AzureGroups answers which groups hold Azure role assignments at the
// scopes the run cleans: each group's object id (lower case) with those
// assignments. The `azure` source implements it (arm.Source); the
// `groups` source, given one (WithAzure), removes the run's principals'
// direct memberships of those groups too: a security group holding Owner
// on a subscription hands it to every member, and removing the principal's
// own assignments leaves that.
type AzureGroups interface {
	GroupsHoldingRoles(ctx context.Context) (map[string][]job.Assignment, error)
}

// WithAzure returns the source that also removes the principals' direct
// memberships of the groups holding Azure roles, as h answers them. Such
// a membership is a `groups` row like any other (assignment id
// {group-id}, the same removal and restore), with the Azure role it
// carries as its role and scope; a role-assignable group already found
// stays one row.
func (s Memberships) WithAzure(h AzureGroups) Memberships {
	s.az = &azureIndex{holders: h}
	return s
}

// azureIndex is the groups holding Azure roles and their members, built
// once a run.
type azureIndex struct {
	holders AzureGroups

	mu     sync.Mutex
	done   bool
	err    error
	groups map[string]*azureGroup   // by lower-case id
	member map[string][]*azureGroup // principal (lower case) → its groups
}

// azureGroup is a group holding Azure roles, as Graph describes it.
type azureGroup struct {
	groupFacts
	roles []job.Assignment
}

// get builds the index on the first call and answers it to every call.
func (x *azureIndex) get(ctx context.Context, c *Client) (*azureIndex, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.done {
		x.err = x.build(ctx, c)
		x.done = x.err == nil || ctx.Err() == nil
	}
	if x.err != nil {
		return nil, fmt.Errorf("listing the groups holding Azure roles: %w", x.err)
	}
	return x, nil
}

// built is the index when it was built without error, or nil.
func (x *azureIndex) built() *azureIndex {
	if x == nil {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.done || x.err != nil {
		return nil
	}
	return x
}

// Each group holding a role costs two first pages, sent in $batch: the
// group itself (its name, groupTypes, onPremisesSyncEnabled) and its
// members.
const (
	azGroup = iota
	azMembers
	azListings
)

// build asks the holders, then each group and its members.
func (x *azureIndex) build(ctx context.Context, c *Client) error {
	x.groups, x.member = map[string]*azureGroup{}, map[string][]*azureGroup{}
	held, err := x.holders.GroupsHoldingRoles(ctx)
	if err != nil {
		return err
	}
	var ids []string
	for id := range held {
		if job.IsGUID(id) {
			ids = append(ids, job.NormalizeGUID(id))
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	infos := make([]*abstractions.RequestInformation, len(ids)*azListings)
	subs := make([]transport.SubRequest, len(infos))
	answers := make([]*transport.SubAnswer, len(infos))
	var idx []int
	top := int32(999)
	for gi, id := range ids {
		item := groups.NewGroupsRequestBuilderInternal(c.pathParams(), c.adapter).ByGroupId(id)
		if infos[gi*azListings+azGroup], err = item.ToGetRequestInformation(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{
				Select: []string{"id", "displayName", "groupTypes", "onPremisesSyncEnabled"},
			},
		}); err != nil {
			return err
		}
		if infos[gi*azListings+azMembers], err = item.Members().ToGetRequestInformation(ctx, &groups.ItemMembersRequestBuilderGetRequestConfiguration{
			QueryParameters: &groups.ItemMembersRequestBuilderGetQueryParameters{Select: []string{"id"}, Top: &top},
		}); err != nil {
			return err
		}
		if c.batchSize > 1 {
			for k := range azListings {
				i := gi*azListings + k
				if subs[i], err = c.subRequest(infos[i]); err != nil {
					return err
				}
				idx = append(idx, i)
			}
		}
	}
	if c.batchSize > 1 && len(idx) > 0 {
		for i, a := range c.sendBatch(ctx, subs, idx) {
			if a.Err == nil {
				answers[i] = &a
			}
			// No answer of its own (the batch failed as a whole): the
			// request goes alone.
		}
	}
	for gi, id := range ids {
		var g models.Groupable
		if first := answers[gi*azListings+azGroup]; first != nil {
			g, err = readPage[models.Groupable](*first, models.CreateGroupFromDiscriminatorValue)
		} else {
			g, err = groups.NewGroupsRequestBuilderInternal(c.pathParams(), c.adapter).ByGroupId(id).Get(ctx, &groups.GroupItemRequestBuilderGetRequestConfiguration{
				QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{
					Select: []string{"id", "displayName", "groupTypes", "onPremisesSyncEnabled"},
				},
			})
			err = classify(err)
		}
		if errors.Is(err, job.ErrNotFound) {
			continue // deleted since ARM listed its assignment: no member holds it
		}
		if err != nil {
			return fmt.Errorf("group %s: %w", id, err)
		}
		f := &azureGroup{groupFacts: groupFacts{id: id, name: deref(g.GetDisplayName()), raw: raw(g)}, roles: held[id]}
		for _, t := range g.GetGroupTypes() {
			f.dynamic = f.dynamic || strings.EqualFold(t, "DynamicMembership")
		}
		if s := g.GetOnPremisesSyncEnabled(); s != nil && *s {
			f.synced = true
		}
		u, err := infos[gi*azListings+azMembers].GetUri()
		if err != nil {
			return err
		}
		members, err := readAll(ctx, u.String(), answers[gi*azListings+azMembers], models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
			func(ctx context.Context, u string) (models.DirectoryObjectCollectionResponseable, error) {
				return groups.NewItemMembersRequestBuilder(u, c.adapter).Get(ctx, nil)
			})
		if err = goneIsEmpty(err); err != nil {
			return fmt.Errorf("the members of group %s: %w", id, err)
		}
		x.groups[id] = f
		for _, m := range members {
			if mid := deref(m.GetId()); job.IsGUID(mid) {
				k := job.NormalizeGUID(mid)
				x.member[k] = append(x.member[k], f)
			}
		}
	}
	return nil
}

// findAzure adds to out the principals' memberships of the groups holding
// Azure roles; a membership already in out (a role-assignable group's)
// stays one row, its note naming the Azure roles too. When the groups
// cannot be listed, every principal's listing has failed: nothing of
// theirs is planned from a partial answer.
func (s Memberships) findAzure(ctx context.Context, principals []job.Principal, out []job.Assignment, failed job.ListingErrors) ([]job.Assignment, job.ListingErrors) {
	x, err := s.az.get(ctx, s.c)
	if err != nil {
		if failed == nil {
			failed = job.ListingErrors{}
		}
		for _, p := range principals {
			failed[p.ID] = errors.Join(failed[p.ID], err)
		}
		return out, failed
	}
	at := map[string]int{}
	for i, a := range out {
		if _, kind, err := splitAssignmentID(a.ID, a.PrincipalID); err == nil && kind == kindMember {
			at[job.NormalizeGUID(a.PrincipalID)+" "+job.NormalizeGUID(a.ID)] = i
		}
	}
	for _, p := range principals {
		if _, ok := failed[p.ID]; ok {
			continue
		}
		for _, g := range x.member[job.NormalizeGUID(p.ID)] {
			note := azureNote(g)
			if i, ok := at[job.NormalizeGUID(p.ID)+" "+g.id]; ok {
				out[i].Note += "; " + note
				if out[i].RoleDefinitionID == "" {
					out[i].RoleDefinitionID, out[i].Scope = g.roles[0].RoleDefinitionID, g.roles[0].Scope
				}
				continue
			}
			a := job.Assignment{
				Source:      job.SourceGroups,
				ID:          assignmentID(g.id, kindMember),
				PrincipalID: p.ID,
				Note:        note,
				Raw:         g.raw,
			}
			if len(g.roles) > 0 {
				a.RoleDefinitionID, a.Scope = g.roles[0].RoleDefinitionID, g.roles[0].Scope
			}
			out = append(out, a)
		}
	}
	return out, failed
}

// azureNote says which group a membership is of and what it carries.
func azureNote(g *azureGroup) string {
	held := make([]string, len(g.roles))
	for i, r := range g.roles {
		held[i] = r.RoleDefinitionID + " at " + r.Scope
	}
	return "member of group " + g.name + " (" + g.id + "), which holds " + strings.Join(held, " and ")
}

// checkAzure skips the planned memberships of groups holding Azure roles
// whose members the cloud cannot change, as Check does for role-assignable
// groups, with the same details.
func (s Memberships) checkAzure(items []*job.Item) {
	x := s.az.built()
	if x == nil {
		return
	}
	for _, it := range items {
		if it.Source != job.SourceGroups || it.State != job.Planned {
			continue
		}
		groupID, kind, err := splitAssignmentID(it.AssignmentID, it.PrincipalID)
		if err != nil || kind != kindMember {
			continue
		}
		g := x.groups[job.NormalizeGUID(groupID)]
		switch {
		case g == nil:
		case g.dynamic:
			it.State, it.Detail = job.Skipped, "dynamic-membership: group "+g.name+"'s members follow its membership rule; change the rule or the principal's attributes"
		case g.synced:
			it.State, it.Detail = job.Skipped, "on-premises-synced: group "+g.name+"'s members are managed in the on-premises directory"
		}
	}
}

package graph

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// AzureGroups answers which groups hold Azure role assignments at the
// scopes the run cleans: each group's object id (lower case) with those
// assignments, each one's Note its role's name when known. The `azure`
// source implements it (arm.Source); the `groups` source, given one
// (WithAzure), removes the run's principals' direct memberships of those
// groups too: a security group holding Owner on a subscription hands it to
// every member, and removing the principal's own assignments leaves that.
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

// azureIndex is the groups holding Azure roles and who is in them, built
// once a run. Like groupIndex it chooses how to learn the memberships:
// each group's members (two first pages a group: the group, for its name,
// groupTypes and onPremisesSyncEnabled, and its members), or, when the
// run's principals are fewer, each principal's typed memberOf (a getByIds
// a thousand, one first page each, then one GET of each group it is in).
type azureIndex struct {
	holders AzureGroups

	builtOnce
	held map[string][]job.Assignment // group (lower case) → its Azure roles
	// refused is, for a group every one of whose Azure roles ARM listed
	// with ids the holders' check refuses, why (its roles in held are
	// those refused ones, so that its members are still learned and
	// their rows fail); refusedRows holds the rows made for them.
	refused     map[string]error
	refusedRows map[string]error // principal + " " + group (lower case)
	typed       bool
	groups      map[string]*azureGroup   // by lower-case id
	member      map[string][]*azureGroup // principal (lower case) → its groups
}

// azureGroup is a group holding Azure roles, as Graph describes it.
type azureGroup struct {
	groupFacts
	roles []job.Assignment
}

// get builds the index on the first call, for n principals, and answers
// it to every call.
func (x *azureIndex) get(ctx context.Context, c *Client, n int) (*azureIndex, error) {
	if err := x.once(ctx, func() error { return x.build(ctx, c, n) }); err != nil {
		return nil, fmt.Errorf("listing the groups holding Azure roles: %w", err)
	}
	return x, nil
}

// built is the index when it was built without error, or nil.
func (x *azureIndex) built() *azureIndex {
	if x == nil || !x.ok() {
		return nil
	}
	return x
}

// typedAzureIsCheaper reports whether learning n principals' memberships
// of g groups from their memberOf (a getByIds a thousand, a first page
// each, then a GET of each group they are in, at most min(g, n)) costs
// fewer round trips than each group and its members (two first pages a
// group). Further pages are left out: a large group's members make the
// principals' side cheaper still.
func typedAzureIsCheaper(g, n, batchSize int) bool {
	per := max(batchSize, 1)
	perGroup := (2*g + per - 1) / per
	perPrincipal := (n+getByIDsMax-1)/getByIDsMax + (n+per-1)/per + (min(g, n)+per-1)/per
	return perPrincipal < perGroup
}

// build asks the holders, then, unless the principals' memberOf is
// cheaper (listTyped, at Find), each group and its members.
func (x *azureIndex) build(ctx context.Context, c *Client, n int) error {
	x.held, x.groups, x.member = map[string][]job.Assignment{}, map[string]*azureGroup{}, map[string][]*azureGroup{}
	x.refused, x.refusedRows = map[string]error{}, map[string]error{}
	held, err := x.holders.GroupsHoldingRoles(ctx)
	if err != nil {
		return err
	}
	var ids []string
	refused := map[string][]job.Assignment{}
	for id, roles := range held {
		if job.IsGUID(id) && len(roles) > 0 {
			k := job.NormalizeGUID(id)
			if x.held[k] == nil && refused[k] == nil {
				ids = append(ids, k)
			}
			// A role ARM listed with ids the `azure` source would refuse
			// (an assignment outside the run's scopes, a role definition
			// id that is not one) does not make the group one to leave,
			// nor does it reach a row's role and scope.
			for _, r := range roles {
				if err := x.check(r); err != nil {
					refused[k] = append(refused[k], r)
					x.refused[k] = errors.Join(x.refused[k], err)
					continue
				}
				x.held[k] = append(x.held[k], r)
			}
		}
	}
	for k, roles := range refused {
		if x.held[k] == nil {
			x.held[k] = roles
		} else {
			delete(x.refused, k)
		}
	}
	slices.Sort(ids)
	if x.typed = typedAzureIsCheaper(len(ids), n, c.batchSize); x.typed {
		return nil
	}
	return x.describe(ctx, c, ids, true)
}

// Each group described costs one or two first pages, sent in $batch:
// the group itself and, when asked, its members.
const (
	azGroup = iota
	azMembers
	azListings
)

// describe learns each group's name, groupTypes and onPremisesSyncEnabled
// (one GET, $select) and, withMembers, its members, and adds them to the
// index. A group deleted since ARM listed its assignment is left out: no
// one holds its roles any more.
func (x *azureIndex) describe(ctx context.Context, c *Client, ids []string, withMembers bool) error {
	infos := make([]*abstractions.RequestInformation, len(ids)*azListings)
	subs := make([]transport.SubRequest, len(infos))
	answers := make([]*transport.SubAnswer, len(infos))
	var idx []int
	top := int32(999)
	groupQuery := &groups.GroupItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupItemRequestBuilderGetQueryParameters{
			Select: []string{"id", "displayName", "groupTypes", "onPremisesSyncEnabled", "mailEnabled", "securityEnabled"},
		},
	}
	var err error
	for gi, id := range ids {
		item := groups.NewGroupsRequestBuilderInternal(c.pathParams(), c.adapter).ByGroupId(id)
		if infos[gi*azListings+azGroup], err = item.ToGetRequestInformation(ctx, groupQuery); err != nil {
			return err
		}
		if infos[gi*azListings+azMembers], err = item.Members().ToGetRequestInformation(ctx, &groups.ItemMembersRequestBuilderGetRequestConfiguration{
			QueryParameters: &groups.ItemMembersRequestBuilderGetQueryParameters{Select: []string{"id"}, Top: &top},
		}); err != nil {
			return err
		}
		for k := range azListings {
			i := gi*azListings + k
			if c.batchSize <= 1 || (k == azMembers && !withMembers) {
				continue
			}
			if subs[i], err = c.subRequest(infos[i]); err != nil {
				return err
			}
			idx = append(idx, i)
		}
	}
	if c.batchSize > 1 && len(idx) > 0 {
		for i, a := range c.sendBatch(ctx, subs, idx) {
			// Without an answer of its own (the batch failed as a
			// whole), the request goes alone.
			if a.Err == nil {
				answers[i] = &a
			}
		}
	}
	for gi, id := range ids {
		i := gi * azListings
		var members *abstractions.RequestInformation
		if withMembers {
			members = infos[i+azMembers]
		}
		if err := x.addGroup(ctx, c, id, groupQuery, answers[i+azGroup], members, answers[i+azMembers]); err != nil {
			return err
		}
	}
	return nil
}

// addGroup reads a group (from its answer in a batch, else alone) and,
// when members is its members' first page, its members, into the index.
// A group deleted since ARM listed its assignment is left out.
func (x *azureIndex) addGroup(ctx context.Context, c *Client, id string, query *groups.GroupItemRequestBuilderGetRequestConfiguration,
	first *transport.SubAnswer, members *abstractions.RequestInformation, membersFirst *transport.SubAnswer) error {
	var g models.Groupable
	var err error
	if first != nil {
		g, err = readPage[models.Groupable](*first, models.CreateGroupFromDiscriminatorValue)
	} else {
		g, err = groups.NewGroupsRequestBuilderInternal(c.pathParams(), c.adapter).ByGroupId(id).Get(ctx, query)
		err = classify(err)
	}
	if errors.Is(err, job.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("group %s: %w", id, err)
	}
	f := &azureGroup{groupFacts: *newGroupFacts(id, g), roles: x.held[id]}
	x.groups[id] = f
	if members == nil {
		return nil
	}
	u, err := members.GetUri()
	if err != nil {
		return err
	}
	found, err := readAll(ctx, u.String(), membersFirst, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
		func(ctx context.Context, u string) (models.DirectoryObjectCollectionResponseable, error) {
			return groups.NewItemMembersRequestBuilder(u, c.adapter).Get(ctx, nil)
		})
	if err = goneIsEmpty(err); err != nil {
		return fmt.Errorf("the members of group %s: %w", id, err)
	}
	for _, m := range found {
		if mid := transport.Deref(m.GetId()); job.IsGUID(mid) {
			k := job.NormalizeGUID(mid)
			x.member[k] = append(x.member[k], f)
		}
	}
	return nil
}

// listTyped learns the principals' memberships of the groups holding
// Azure roles from their typed memberOf (users and service principals: a
// group principal, or one the directory does not have, is in none that
// the job removes it from), then describes the groups they are in. A
// principal whose listing failed is named in the answer.
func (x *azureIndex) listTyped(ctx context.Context, c *Client, principals []job.Principal) job.ListingErrors {
	x.mu.Lock()
	defer x.mu.Unlock()
	listed, types, failed := typedPrincipals(ctx, c, principals)
	if anyRefusedByPrincipal(failed) {
		return x.byGroup(ctx, c, principals, failed)
	}
	if len(failed) > 0 {
		return failed
	}
	urls, answers, errs := c.firstPages(ctx, len(listed), func(i int) (*abstractions.RequestInformation, error) {
		p := listed[i]
		return principalPage(ctx, c, p.ID, types[job.NormalizeGUID(p.ID)], listMemberOf)
	})
	for i, err := range errs {
		failed[listed[i].ID] = err
	}
	for i, a := range answers {
		// Without an answer of its own (the batch failed as a whole),
		// the request goes alone.
		if a != nil && a.Err != nil {
			answers[i] = nil
		}
	}
	in := map[string][]string{} // principal (lower case) → its groups holding roles
	var want []string
	for i, p := range listed {
		if _, ok := failed[p.ID]; ok {
			continue
		}
		isSP := types[job.NormalizeGUID(p.ID)] == "servicePrincipal"
		memberOf, err := readMemberOf(ctx, c, urls[i], answers[i], isSP)
		if err = goneIsEmpty(err); err != nil {
			failed[p.ID] = fmt.Errorf("listing memberships: %w", refusedByPrincipal(err))
			continue
		}
		k := job.NormalizeGUID(p.ID)
		for _, o := range memberOf {
			id := transport.Deref(o.GetId())
			if !job.IsGUID(id) || x.held[job.NormalizeGUID(id)] == nil {
				continue
			}
			id = job.NormalizeGUID(id)
			in[k] = append(in[k], id)
			if _, known := x.groups[id]; !known && !slices.Contains(want, id) {
				want = append(want, id)
			}
		}
	}
	if anyRefusedByPrincipal(failed) {
		return x.byGroup(ctx, c, principals, failed)
	}
	slices.Sort(want)
	if err := x.describe(ctx, c, want, false); err != nil {
		for k := range in {
			failed[principalOf(principals, k)] = err
		}
		return failed
	}
	for k, ids := range in {
		x.member[k] = nil
		for _, id := range ids {
			if g := x.groups[id]; g != nil {
				x.member[k] = append(x.member[k], g)
			}
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return failed
}

// byGroup learns every group's members instead, for the rest of the run:
// Graph refused the listing by principal (getByIds and a user's memberOf
// need Directory.Read.All, which the job does not require). x.mu is held.
// Logged once; a principal fails only when the groups cannot be listed.
func (x *azureIndex) byGroup(ctx context.Context, c *Client, principals []job.Principal, why error) job.ListingErrors {
	c.log.Warn("Graph refused listing memberships by principal: the members of every group holding Azure roles are listed instead",
		zap.Error(why))
	x.groups, x.member = map[string]*azureGroup{}, map[string][]*azureGroup{}
	if err := x.describe(ctx, c, slices.Sorted(maps.Keys(x.held)), true); err != nil {
		failed := job.ListingErrors{}
		for _, p := range principals {
			failed[p.ID] = err
		}
		return failed
	}
	x.typed = false
	return nil
}

// check asks the holders (the `azure` source) whether a role they listed
// has the ids they issue.
func (x *azureIndex) check(role job.Assignment) error {
	if c, ok := x.holders.(job.IDChecker); ok {
		return c.CheckID(role)
	}
	return nil
}

// refusedRow is why the membership row of a principal in a group was
// refused: every Azure role of the group came with ids the holders
// refuse. Nil for any other row.
func (x *azureIndex) refusedRow(principalID, groupID string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.refusedRows[job.NormalizeGUID(principalID)+" "+job.NormalizeGUID(groupID)]
}

// memberships copies the index's groups of a principal.
func (x *azureIndex) memberships(principalID string) []*azureGroup {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.member[job.NormalizeGUID(principalID)])
}

// findAzure adds to out the principals' memberships of the groups holding
// Azure roles; a membership already in out (a role-assignable group's)
// stays one row, its note naming the Azure roles too. When the groups
// cannot be listed, every principal's listing has failed: nothing of
// theirs is planned from a partial answer.
func (s Memberships) findAzure(ctx context.Context, principals []job.Principal, out []job.Assignment, failed job.ListingErrors) ([]job.Assignment, job.ListingErrors) {
	x, err := s.az.get(ctx, s.c, len(principals))
	if err == nil && x.typed {
		for id, e := range x.listTyped(ctx, s.c, principals) {
			if failed == nil {
				failed = job.ListingErrors{}
			}
			failed[id] = errors.Join(failed[id], e)
		}
	}
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
		if a.Kind == job.KindGroupMember {
			at[job.NormalizeGUID(a.PrincipalID)+" "+job.NormalizeGUID(a.ID)] = i
		}
	}
	for _, p := range principals {
		if _, ok := failed[p.ID]; ok {
			continue
		}
		for _, g := range x.memberships(p.ID) {
			refused := x.refusedGroup(g.id)
			if i, ok := at[job.NormalizeGUID(p.ID)+" "+g.id]; ok {
				// The row the role-assignable group gave, its scope
				// as a run of `groups` alone says it.
				if refused == nil {
					out[i].Note += ", " + azureHolds(g)
				}
				continue
			}
			if refused != nil {
				x.refuseRow(p.ID, g.id, refused)
			}
			a := job.Assignment{
				Source:      job.SourceGroups,
				Kind:        job.KindAzureGroupMember,
				ID:          assignmentID(g.id, job.KindAzureGroupMember),
				PrincipalID: p.ID,
				RoleName:    g.name,
				Note:        "member of group " + g.name + " (" + g.id + "), " + azureHolds(g),
				Raw:         g.raw,
			}
			if len(g.roles) > 0 {
				a.RoleDefinitionID, a.Scope = g.roles[0].RoleDefinitionID, g.roles[0].Scope
			}
			out = append(out, a)
		}
	}
	// What Find answers holds nothing of a principal it names as failed.
	out = slices.DeleteFunc(out, func(a job.Assignment) bool { _, f := failed[a.PrincipalID]; return f })
	return out, failed
}

// refusedGroup is why every Azure role of a group was refused, or nil.
func (x *azureIndex) refusedGroup(groupID string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.refused[groupID]
}

// refuseRow records that the membership row of a principal in a group is
// refused, and why.
func (x *azureIndex) refuseRow(principalID, groupID string, err error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.refusedRows[job.NormalizeGUID(principalID)+" "+job.NormalizeGUID(groupID)] = err
}

// azureHolds says which Azure roles a group holds, and where.
func azureHolds(g *azureGroup) string {
	held := make([]string, len(g.roles))
	for i, r := range g.roles {
		role := r.RoleDefinitionID
		if r.Note != "" {
			role = r.Note + " (" + role + ")"
		}
		held[i] = role + " at " + r.Scope
	}
	return "which holds " + strings.Join(held, " and ")
}

// checkAzure skips the planned memberships of groups holding Azure roles
// whose members the cloud cannot change, as Check does for role-assignable
// groups, with the same details.
func (s Memberships) checkAzure(items []*job.Item) error {
	x := s.az.built()
	if x == nil {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, it := range items {
		if it.Source != job.SourceGroups || it.State != job.Planned {
			continue
		}
		if it.Kind != job.KindGroupMember && it.Kind != job.KindAzureGroupMember {
			continue
		}
		if g := x.groups[job.NormalizeGUID(groupOf(it.AssignmentID))]; g != nil {
			if why := g.fixed(it.Kind); why != "" {
				if err := it.Step(job.Guarded, job.Words{"reason": why}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

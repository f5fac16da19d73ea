package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/identitygovernance"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/offboard/offboard/job"
)

// Memberships is the `groups` source: everything that makes a
// role-assignable group's roles reachable for a principal. Its direct
// memberships and ownerships of those groups (an owner can add anyone to
// the group, itself included), and its PIM for Groups eligibilities and
// active assignments, member and owner (an eligible member is not in
// members until it activates). Other groups are left alone. A group cannot
// be a member of a role-assignable group, so every such membership is
// direct.
//
// Graph has no memberOf on directoryObjects, and a principal's ownerships
// and PIM for Groups schedules would each take one more request a
// principal: the source lists the tenant's role-assignable groups (at most
// 500) once, with their members, owners and schedules, and matches the
// principals against that index (groupindex.go).
//
// Assignment ids, one kind each, so that report rows and reruns stay
// unique: {group-id} for a membership, {group-id}/owner for an ownership,
// {group-id}/eligible-member and {group-id}/eligible-owner for PIM for
// Groups eligibilities, {group-id}/active-member and {group-id}/active-owner
// for its active assignments.
type Memberships struct {
	c *Client
	// idx is built by the first Find and shared by every copy of the
	// source, its guard included.
	idx *groupIndex
	// az, when set (WithAzure), is the groups holding Azure roles.
	az *azureIndex
}

var (
	_ job.Source       = Memberships{}
	_ job.Grouper      = Memberships{}
	_ job.BatchRemover = Memberships{}
	_ job.Guard        = Memberships{}
)

// Memberships returns the `groups` source.
func (c *Client) Memberships() Memberships { return Memberships{c: c, idx: &groupIndex{}} }

// Name implements job.Source.
func (Memberships) Name() string { return job.SourceGroups }

// GroupSize implements job.Grouper: every principal of the run comes in
// one Find, which learns how many there are before it chooses how to list
// (groupIndex.get); its requests go in batches of the client's size all
// the same.
func (s Memberships) GroupSize() int { return maxPrincipals }

// maxPrincipals is more principals than a run holds.
const maxPrincipals = 1 << 30

// groupAccess is what sets a kind of access to a group apart (its entry
// in the kinds table, kinds.go).
type groupAccess struct {
	// suffix follows "{group-id}/" in the kind's assignment ids, so that
	// report rows and reruns stay unique ("" for a membership: the id is
	// the group's).
	suffix string
	// ref: the access is a reference in the group's members or owners
	// (removed with DELETE …/$ref, restored with POST …/$ref); else a PIM
	// for Groups schedule (adminRemove, adminAssign).
	ref bool
	// owner: an ownership (PIM for Groups' accessId owner); else a
	// membership.
	owner bool
	// eligible: a PIM for Groups eligibility; else an active assignment.
	eligible bool
	// note begins the row's note, before the group's name.
	note string
}

// groupAccessOf is the kind's groupAccess, and whether the kind is one of
// access to a group.
func groupAccessOf(kind string) (groupAccess, bool) {
	acc, ok := accessOf(kind)
	return acc.group, ok && acc.Source == job.SourceGroups
}

// assignmentID is the id of a kind of access to a group.
func assignmentID(groupID, kind string) string {
	g, _ := groupAccessOf(kind)
	if g.suffix == "" {
		return groupID
	}
	return groupID + "/" + g.suffix
}

// groupOf is the group an assignment id of the `groups` source names: the
// id's first segment (what kind of access it is, its Kind says).
func groupOf(id string) string {
	group, _, _ := strings.Cut(id, "/")
	return group
}

// checkGroupAccess checks an access to a group: the group and the
// principal are GUIDs (both go into a request's path or body), and the id
// is the one its kind gives that group.
func checkGroupAccess(a job.Assignment) error {
	group := groupOf(a.ID)
	if !job.IsGUID(group) || !job.IsGUID(a.PrincipalID) {
		return fmt.Errorf("group %q or member %q is not a GUID", group, a.PrincipalID)
	}
	if a.ID != assignmentID(group, a.Kind) {
		return fmt.Errorf("assignment %q is not the id of a %s", a.ID, a.Kind)
	}
	return nil
}

// Find implements job.Source: the principals' access to role-assignable
// groups, from the index. A tenant without PIM for Groups (no P2 licence)
// answers the rest with a *job.UnavailableError for the part "groups-pim".
func (s Memberships) Find(ctx context.Context, principals []job.Principal) ([]job.Assignment, error) {
	if err := checkPrincipals(principals); err != nil {
		return nil, err
	}
	idx, err := s.idx.get(ctx, s.c, len(principals))
	if err != nil {
		return nil, err
	}
	var failed job.ListingErrors
	if idx.typed {
		failed = idx.listTyped(ctx, s.c, principals)
		if anyRefusedByPrincipal(failed) {
			// Without Directory.Read.All: every group's access instead,
			// and no principal fails for it.
			if err := idx.byGroup(ctx, s.c, failed); err != nil {
				return nil, fmt.Errorf("listing the role-assignable groups: %w", err)
			}
			failed = nil
		}
	}
	held := idx.heldBy(principals)
	var out []job.Assignment
	for _, p := range principals {
		if _, ok := failed[p.ID]; ok {
			continue
		}
		for _, h := range held[job.NormalizeGUID(p.ID)] {
			raw := h.raw
			if raw == nil {
				raw = h.group.raw
			}
			out = append(out, job.Assignment{
				Source:      s.Name(),
				Kind:        h.kind,
				ID:          assignmentID(h.group.id, h.kind),
				PrincipalID: p.ID,
				RoleName:    h.group.name,
				Scope:       job.GroupScope(h.group.id),
				Note:        kindNote(h.kind, h.group.name),
				Raw:         raw,
			})
		}
	}
	if s.az != nil {
		out, failed = s.findAzure(ctx, principals, out, failed)
	}
	var errs []error
	if len(failed) > 0 {
		errs = append(errs, failed)
	}
	if u := idx.unavailableErr(); u != nil {
		errs = append(errs, u)
	}
	return out, errors.Join(errs...)
}

// kindNote says in words what an access is.
func kindNote(kind, name string) string {
	g, _ := groupAccessOf(kind)
	note := g.note + name
	if !g.ref {
		note += " (PIM for Groups)"
	}
	return note
}

// Remove implements job.Source.
func (s Memberships) Remove(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	info, err := s.removal(ctx, a)
	if err != nil {
		return job.Outcome{}, err
	}
	return groupOutcome(classify(s.c.adapter.SendNoContent(ctx, info, abstractions.ErrorMappings{
		"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue,
	})))
}

// BatchSize implements job.BatchRemover.
func (s Memberships) BatchSize() int { return s.c.batchSize }

// RemoveBatch implements job.BatchRemover: the removals go in batches.
func (s Memberships) RemoveBatch(ctx context.Context, as []job.Assignment) []job.BatchResult {
	return s.c.removeBatch(ctx, as, func(a job.Assignment) (*abstractions.RequestInformation, error) {
		return s.removal(ctx, a)
	}, groupOutcome)
}

// groupOutcome classifies the answer to a removal of any kind: 404 for a
// reference that is gone, 400 RoleAssignmentDoesNotExist for a PIM
// schedule that is.
func groupOutcome(err error) (job.Outcome, error) {
	if out, err2 := deleteOutcome(err); err2 == nil {
		return out, nil
	}
	return scheduleOutcome(err)
}

// removal builds the request that removes an access of its kind.
func (s Memberships) removal(ctx context.Context, a job.Assignment) (*abstractions.RequestInformation, error) {
	g, ok := groupAccessOf(a.Kind)
	switch {
	case !ok:
		return nil, fmt.Errorf("%q: %q is no kind of group access", a.ID, a.Kind)
	case g.ref && g.owner:
		return s.ownerRef(ctx, groupOf(a.ID), a.PrincipalID)
	case g.ref:
		return s.memberRef(ctx, groupOf(a.ID), a.PrincipalID)
	}
	return s.scheduleRequest(ctx, groupOf(a.ID), g, a, true)
}

// memberRef is the one place that builds the removal of a membership,
// sent alone or in a batch. It always addresses the reference,
// .../members/{id}/$ref: without /$ref Graph deletes the member object
// itself. The SDK offers no DELETE on .../members/{id}, and memberGuard
// (sendBatch, for a batch) refuses one before it leaves the process.
func (s Memberships) memberRef(ctx context.Context, groupID, memberID string) (*abstractions.RequestInformation, error) {
	return groups.NewGroupsRequestBuilderInternal(s.c.pathParams(), s.c.adapter).
		ByGroupId(groupID).Members().ByDirectoryObjectId(memberID).Ref().ToDeleteRequestInformation(ctx, nil)
}

// ownerRef builds the removal of an ownership: .../owners/{id}/$ref, the
// reference, never the owner object.
func (s Memberships) ownerRef(ctx context.Context, groupID, ownerID string) (*abstractions.RequestInformation, error) {
	return groups.NewGroupsRequestBuilderInternal(s.c.pathParams(), s.c.adapter).
		ByGroupId(groupID).Owners().ByDirectoryObjectId(ownerID).Ref().ToDeleteRequestInformation(ctx, nil)
}

// scheduleRequest builds a PIM for Groups schedule request: adminRemove
// (remove) or adminAssign with the schedule the journal recorded, resumed
// at now.
func (s Memberships) scheduleRequest(ctx context.Context, groupID string, g groupAccess, a job.Assignment, remove bool) (*abstractions.RequestInformation, error) {
	action := models.ADMINREMOVE_SCHEDULEREQUESTACTIONS
	var info models.RequestScheduleable
	if !remove {
		action = models.ADMINASSIGN_SCHEDULEREQUESTACTIONS
		sched, err := eligibilitySchedule(a.Raw)
		if err != nil {
			return nil, err
		}
		if sched, _, err = sched.Resume(time.Now()); err != nil {
			return nil, err
		}
		info = requestSchedule(sched)
	}
	access := models.MEMBER_PRIVILEGEDACCESSGROUPRELATIONSHIPS
	if g.owner {
		access = models.OWNER_PRIVILEGEDACCESSGROUPRELATIONSHIPS
	}
	principal := a.PrincipalID
	fill := func(req groupScheduleRequest) {
		req.SetAction(&action)
		req.SetAccessId(&access)
		req.SetGroupId(&groupID)
		req.SetPrincipalId(&principal)
		req.SetJustification(&a.Justification)
		if info != nil {
			req.SetScheduleInfo(info)
		}
	}
	if g.eligible {
		req := models.NewPrivilegedAccessGroupEligibilityScheduleRequest()
		fill(req)
		return identitygovernance.NewPrivilegedAccessGroupEligibilityScheduleRequestsRequestBuilderInternal(s.c.pathParams(), s.c.adapter).
			ToPostRequestInformation(ctx, req, nil)
	}
	req := models.NewPrivilegedAccessGroupAssignmentScheduleRequest()
	fill(req)
	return identitygovernance.NewPrivilegedAccessGroupAssignmentScheduleRequestsRequestBuilderInternal(s.c.pathParams(), s.c.adapter).
		ToPostRequestInformation(ctx, req, nil)
}

// groupScheduleRequest is what PIM for Groups' schedule requests, of
// eligibilities and of active assignments, have in common.
type groupScheduleRequest interface {
	SetAction(*models.ScheduleRequestActions)
	SetAccessId(*models.PrivilegedAccessGroupRelationships)
	SetGroupId(*string)
	SetPrincipalId(*string)
	SetJustification(*string)
	SetScheduleInfo(models.RequestScheduleable)
}

// requestSchedule is a schedule as a request's scheduleInfo.
func requestSchedule(sched job.Schedule) models.RequestScheduleable {
	info := models.NewRequestSchedule()
	info.SetStartDateTime(&sched.Start)
	expiration := models.NewExpirationPattern()
	kind := models.NOEXPIRATION_EXPIRATIONPATTERNTYPE
	if !sched.End.IsZero() {
		kind = models.AFTERDATETIME_EXPIRATIONPATTERNTYPE
		expiration.SetEndDateTime(&sched.End)
	}
	expiration.SetTypeEscaped(&kind)
	info.SetExpiration(expiration)
	return info
}

// Check implements job.Guard for what Graph lets through but the job must
// not do: remove every owner of a group (the owner rows are skipped,
// last-owner), or change the members of a group whose membership is not
// the cloud's to change (dynamic, or synced from on premises: skipped,
// the detail saying which). It decides from the index the listing built;
// without one (the source's listing failed) there is nothing planned of it.
func (s Memberships) Check(_ context.Context, items []*job.Item) (string, error) {
	if err := s.checkAzure(items); err != nil {
		return "", err
	}
	idx := s.idx.built()
	if idx == nil {
		return "", nil
	}
	ownerRows := map[string][]*job.Item{} // group → its planned owner removals
	for _, it := range items {
		if it.Source != job.SourceGroups || it.State != job.Planned {
			continue
		}
		g := idx.groups[job.NormalizeGUID(groupOf(it.AssignmentID))]
		if g == nil {
			continue
		}
		switch why := g.fixed(it.Kind); {
		case why != "":
			if err := it.Step(job.Guarded, job.Words{"reason": why}); err != nil {
				return "", err
			}
		case it.Kind == job.KindGroupOwner:
			ownerRows[g.id] = append(ownerRows[g.id], it)
		}
	}
	for id, rows := range ownerRows {
		g := idx.groups[job.NormalizeGUID(id)]
		leaving := map[string]bool{}
		for _, it := range rows {
			leaving[job.NormalizeGUID(it.PrincipalID)] = true
		}
		stays := false
		for _, o := range g.owners {
			stays = stays || !leaving[o]
		}
		if stays {
			continue
		}
		for _, it := range rows {
			if err := it.Step(job.Guarded, job.Words{"reason": job.HeldLastOwner}); err != nil {
				return "", err
			}
		}
	}
	return "", nil
}

// fixed says why Graph cannot change a kind of access to the group, and
// where it is changed instead, or "": a dynamic group's members follow
// its rule, a synced group's are the on-premises directory's, and a
// mail-enabled security group's or a distribution list's members and
// owners are Exchange Online's.
func (g *groupFacts) fixed(kind string) string {
	acc, _ := groupAccessOf(kind)
	member := acc.ref && !acc.owner
	switch {
	case g.exchange != "" && acc.ref:
		what := "members"
		if acc.owner {
			what = "owners"
		}
		return job.HeldMailEnabled + ": group " + g.name + " is " + g.exchange + ", whose " + what +
			" Graph cannot change: remove the principal in Exchange Online (the Exchange admin center, or Remove-DistributionGroupMember / Set-DistributionGroup -ManagedBy)"
	case member && g.dynamic:
		return job.HeldDynamicMembership + ": group " + g.name + "'s members follow its membership rule; change the rule or the principal's attributes"
	case member && g.synced:
		return job.HeldOnPremisesSynced + ": group " + g.name + "'s members are managed in the on-premises directory"
	}
	return ""
}

// memberGuard refuses, before it leaves the process, any DELETE of a
// group member or owner that does not address the reference (/$ref): that
// request would delete the user or service principal itself.
type memberGuard struct {
	next http.RoundTripper
}

// errMemberDelete is what memberGuard answers instead of sending.
var errMemberDelete = errors.New("refusing DELETE .../members/{id} without /$ref: Graph would delete the member object itself")

func (g memberGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodDelete && deletesMember(req.URL.EscapedPath()) {
		return nil, errMemberDelete
	}
	return g.next.RoundTrip(req)
}

// deletesMember reports whether a path is .../groups/{g}/members/{m}
// (any case, any trailing slash) rather than .../members/{m}/$ref; or
// .../owners/{m} of a group, an application or a service principal.
func deletesMember(escapedPath string) bool {
	p := strings.ToLower(strings.TrimRight(escapedPath, "/"))
	segs := strings.Split(p, "/")
	for i := 0; i+3 < len(segs); i++ {
		// An application's or a service principal's owner too (apps).
		owned := (segs[i] == "applications" || segs[i] == "serviceprincipals") && segs[i+2] == "owners"
		if segs[i] == "groups" && (segs[i+2] == "members" || segs[i+2] == "owners") || owned {
			rest := segs[i+4:]
			return !(len(rest) == 1 && (rest[0] == "$ref" || rest[0] == "%24ref"))
		}
	}
	return false
}

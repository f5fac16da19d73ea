package simtenant

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Every path to a group's roles besides a direct membership: ownership
// (an owner can add anyone, itself included), PIM for Groups eligibilities
// and active assignments (an eligible member is not in members until it
// activates), and the listings a client needs to find them: the tenant's
// groups with an advanced query, directoryObjects/getByIds, and the
// group's owners. Dynamic and on-premises-synced groups refuse changes to
// their members.

// Access ids of a PIM for Groups schedule (privilegedAccessGroupRelationships).
const (
	AccessMember = "member"
	AccessOwner  = "owner"
)

const (
	groupPIMPath               = "/v1.0/identityGovernance/privilegedAccess/group"
	groupEligibilitiesPath     = groupPIMPath + "/eligibilitySchedules"
	groupAssignmentsPath       = groupPIMPath + "/assignmentSchedules"
	groupEligibilityReqsPath   = groupPIMPath + "/eligibilityScheduleRequests"
	groupAssignmentReqsPath    = groupPIMPath + "/assignmentScheduleRequests"
	codeLicenceRequired        = "AadPremiumLicenseRequired"
	messageLicenceRequired     = "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license."
	messageMemberOfSegment     = "Resource not found for the segment 'memberOf'."
	messageLastOwner           = "The last owner of a group cannot be removed."
	messageOwnerAlready        = "One or more added object references already exist for the following modified properties: 'owners'."
	messageGetByIdsLimit       = "Too many ids: getByIds takes at most 1000."
	messageGroupPIMNeedsFilter = "The request needs a $filter on groupId or principalId."
)

// ErrAlreadyOwner: the ownership exists already.
var ErrAlreadyOwner = errors.New("simtenant: already an owner")

// GroupSchedule is a PIM for Groups schedule: the eligibility (Active
// false) or the active assignment (Active true) of a principal's
// membership or ownership (AccessID) of a group. An active one is also in
// the group's members or owners: adding it adds that, removing it with an
// adminRemove request removes that too. A DELETE of the membership's
// $ref leaves the schedule (what PIM then does is *unconfirmed*).
type GroupSchedule struct {
	ID            string
	GroupID       string
	PrincipalID   string
	AccessID      string // AccessMember (default) or AccessOwner
	Active        bool
	StartDateTime time.Time  // Config.Now when zero
	EndDateTime   *time.Time // nil: no expiry
}

// fixedMembers is Graph's refusal of a change to the members of a dynamic,
// on-premises-synced or Exchange-managed group, or "". The messages are
// *unconfirmed* for the dynamic case; the synced one is what Graph
// answers for an object mastered on premises; the mail-enabled one is
// what users report Graph answering (400 Request_BadRequest) to adding a
// member to a mail-enabled security group (microsoftgraph/microsoft-graph-docs
// issue 14827), and is *unconfirmed* for a removal and for an owner.
func fixedMembers(g Group) string {
	switch {
	case exchangeManaged(g):
		return messageExchangeManaged
	case g.Dynamic:
		return "The members of a group with dynamic membership cannot be changed: they follow its membership rule."
	case g.OnPremisesSynced:
		return "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration."
	}
	return ""
}

// messageExchangeManaged is Graph's refusal of a change to a mail-enabled
// security group or a distribution list.
const messageExchangeManaged = "Cannot Update a mail-enabled security groups and or distribution list."

// exchangeManaged reports whether Exchange Online, not Graph, changes the
// group's members and owners: mailEnabled without Unified.
func exchangeManaged(g Group) bool {
	return g.Mail == MailSecurity || g.Mail == MailDistribution
}

func groupTypes(g Group) []string {
	types := []string{}
	if g.Mail == MailUnified {
		types = append(types, "Unified")
	}
	if g.Dynamic {
		types = append(types, "DynamicMembership")
	}
	return types
}

// mailEnabled and securityEnabled are the group's properties by its kind.
func mailEnabled(g Group) bool { return g.Mail != "" }

func securityEnabled(g Group) bool {
	switch g.Mail {
	case MailDistribution:
		return false
	case MailUnified:
		return g.IsAssignableToRole
	}
	return true
}

func onPremisesSyncEnabled(g Group) any {
	if g.OnPremisesSynced {
		return true
	}
	return nil
}

// AddOwner makes a user or service principal an owner of a group. It
// fails with ErrNotFound or ErrAlreadyOwner; a group cannot own a group
// (ErrNesting).
func (t *Tenant) AddOwner(groupID, ownerID string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addOwnerLocked(groupID, ownerID)
}

func (t *Tenant) addOwnerLocked(groupID, ownerID string) error {
	gk, ok := strings.ToLower(groupID), strings.ToLower(ownerID)
	if _, found := t.groups[gk]; !found {
		return fmt.Errorf("%w: group %s", ErrNotFound, groupID)
	}
	if _, found := t.objectIDLocked(ok); !found {
		return fmt.Errorf("%w: owner %s", ErrNotFound, ownerID)
	}
	if _, isGroup := t.groups[ok]; isGroup {
		return fmt.Errorf("%w: group %s as owner of group %s", ErrNesting, ownerID, groupID)
	}
	if t.owners.members[gk][ok] {
		return fmt.Errorf("%w: %s of group %s", ErrAlreadyOwner, ownerID, groupID)
	}
	t.owners.add(gk, ok)
	return nil
}

// RemoveOwner ends an ownership and reports whether it existed. Graph
// does not stop the removal of a group's last owner: the client must.
func (t *Tenant) RemoveOwner(groupID, ownerID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.owners.remove(strings.ToLower(groupID), strings.ToLower(ownerID))
}

// Owners returns the ids of a group's owners, sorted.
func (t *Tenant) Owners(groupID string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.idsLocked(t.owners.membersOf(strings.ToLower(groupID)))
}

// OwnedGroups returns the ids of the groups an object owns, sorted.
func (t *Tenant) OwnedGroups(objectID string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.idsLocked(t.owners.groupsOf(strings.ToLower(objectID)))
}

// AddGroupSchedule adds a PIM for Groups schedule; an empty ID is derived
// from the seed and the schedule's group, principal, access and kind. An
// active one also makes the principal a member or owner (when it is not
// yet).
func (t *Tenant) AddGroupSchedule(s GroupSchedule) GroupSchedule {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addGroupScheduleLocked(s)
}

func (t *Tenant) addGroupScheduleLocked(s GroupSchedule) GroupSchedule {
	s.AccessID = strings.ToLower(s.AccessID)
	if s.AccessID == "" {
		s.AccessID = AccessMember
	}
	if s.StartDateTime.IsZero() {
		s.StartDateTime = t.cfg.Now().UTC()
	}
	if s.ID == "" {
		s.ID = guidFromHash(hash64(t.cfg.Seed, "groupSchedule", t.tenantID, strings.ToLower(s.GroupID),
			strings.ToLower(s.PrincipalID), s.AccessID, fmt.Sprint(s.Active)))
	}
	t.groupPIM[s.ID] = s
	if s.Active {
		if s.AccessID == AccessOwner {
			_ = t.addOwnerLocked(s.GroupID, s.PrincipalID)
		} else {
			_ = t.addMemberLocked(s.GroupID, s.PrincipalID)
		}
	}
	return s
}

// GroupSchedules returns every PIM for Groups schedule, sorted by id.
func (t *Tenant) GroupSchedules() []GroupSchedule {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedValues(t.groupPIM)
}

// findGroupScheduleLocked finds the schedule of a kind for a group,
// principal and access.
func (t *Tenant) findGroupScheduleLocked(active bool, groupID, principalID, access string) (GroupSchedule, bool) {
	for _, id := range slices.Sorted(maps.Keys(t.groupPIM)) {
		s := t.groupPIM[id]
		if s.Active == active && strings.EqualFold(s.GroupID, groupID) &&
			strings.EqualFold(s.PrincipalID, principalID) && strings.EqualFold(s.AccessID, access) {
			return s, true
		}
	}
	return GroupSchedule{}, false
}

func (t *Tenant) addGroupAccessRoutes() {
	t.handle(http.MethodGet, "/v1.0/groups", t.listGroups)
	t.handle(http.MethodPost, "/v1.0/directoryObjects/getByIds", t.getByIDs)
	t.handle(http.MethodGet, "/v1.0/groups/{id}/owners",
		t.listGroupObjects("owners", &t.owners, slices.Concat(userProps(), servicePrincipalProps())))
	t.handle(http.MethodGet, "/v1.0/users/{id}/ownedObjects", t.listOwnedObjects("users"))
	t.handle(http.MethodGet, "/v1.0/servicePrincipals/{id}/ownedObjects", t.listOwnedObjects("servicePrincipals"))
	t.handle(http.MethodPost, "/v1.0/groups/{id}/owners/$ref", t.addOwnerRef)
	t.handle(http.MethodDelete, "/v1.0/groups/{id}/owners/{owner}/$ref", t.removeOwnerRef)
	t.handle(http.MethodGet, groupEligibilitiesPath, t.listGroupSchedules(false))
	t.handle(http.MethodGet, groupAssignmentsPath, t.listGroupSchedules(true))
	t.handle(http.MethodPost, groupEligibilityReqsPath, t.postGroupScheduleRequest(false))
	t.handle(http.MethodPost, groupAssignmentReqsPath, t.postGroupScheduleRequest(true))
}

// memberOfSegment answers GET /directoryObjects/{id}/memberOf: the base
// type has no memberOf, and Graph says so with 400.
func (t *Tenant) memberOfSegment(c *call) {
	c.badRequest(messageMemberOfSegment)
}

// listGroups serves GET /groups. Its $filter (isAssignableToRole eq true
// among others) is an advanced query: ConsistencyLevel: eventual and
// $count=true, or 400.
func (t *Tenant) listGroups(c *call) {
	oq, ok := t.parseObjectQuery(c, groupProps(), groupType, "groups")
	if !ok {
		return
	}
	t.mu.Lock()
	entries := t.entriesLocked(slices.Sorted(maps.Keys(t.groups)))
	t.mu.Unlock()
	t.serveObjects(c, "groups", oq, entries)
}

// isGetByIDs reports whether a path is directoryObjects/getByIds: a read,
// throttled as one, though sent as a POST.
func isGetByIDs(path string) bool {
	return strings.EqualFold(strings.TrimRight(path, "/"), "/v1.0/directoryObjects/getByIds")
}

// getByIDs serves POST /directoryObjects/getByIds: each object of ids
// that exists (and is of one of types, when given) with its @odata.type;
// a deleted or unknown id is left out. At most 1,000 ids.
func (t *Tenant) getByIDs(c *call) {
	var body struct {
		IDs   []string `json:"ids"`
		Types []string `json:"types"`
	}
	if !c.decodeJSON(&body) {
		return
	}
	if len(body.IDs) > 1000 {
		c.badRequest(messageGetByIdsLimit)
		return
	}
	types := map[string]bool{}
	for _, ty := range body.Types {
		types[strings.ToLower(strings.TrimPrefix(ty, "microsoft.graph."))] = true
	}
	out := []map[string]any{}
	t.mu.Lock()
	for _, id := range body.IDs {
		e, ok := t.dirEntryLocked(strings.ToLower(id))
		if !ok {
			continue
		}
		if len(types) > 0 && !types[strings.ToLower(strings.TrimPrefix(e.kind, "microsoft.graph."))] {
			continue
		}
		out = append(out, e.render(nil))
	}
	t.mu.Unlock()
	c.ok(map[string]any{"@odata.context": graphContext("directoryObjects"), "value": out})
}

// listOwnedObjects serves GET /users/{id}/ownedObjects and
// /servicePrincipals/{id}/ownedObjects: the groups the object owns (the
// tenant models no other owned object); 404 for an object of another
// type.
func (t *Tenant) listOwnedObjects(kind string) func(*call) {
	return func(c *call) {
		key, ok := t.resolveParam(c, kind)
		if !ok {
			return
		}
		oq, ok := t.parseObjectQuery(c, groupProps(), "microsoft.graph.directoryObject", "ownedObjects\x00"+key)
		if !ok {
			return
		}
		t.mu.Lock()
		entries := t.entriesLocked(t.owners.groupsOf(key))
		t.mu.Unlock()
		t.serveObjects(c, "directoryObjects", oq, entries)
	}
}

// addOwnerRef serves POST /groups/{id}/owners/$ref: 204; 400 when the
// ownership exists or the object is a group; 404 for an unknown group or
// object.
func (t *Tenant) addOwnerRef(c *call) {
	gid := c.param("id")
	oid, ok := readRef(c)
	if !ok {
		return
	}
	err := t.AddOwner(gid, oid)
	switch {
	case err == nil:
		c.noContent()
	case errors.Is(err, ErrNotFound):
		if _, ok := t.Group(gid); !ok {
			c.notFound(gid)
		} else {
			c.notFound(oid)
		}
	case errors.Is(err, ErrAlreadyOwner):
		c.error(http.StatusBadRequest, "Request_BadRequest", messageOwnerAlready)
	default:
		c.error(http.StatusBadRequest, "Request_BadRequest", "A group cannot be an owner of a group.")
	}
}

// removeOwnerRef serves DELETE /groups/{id}/owners/{owner}/$ref: 204; 404
// when the group does not exist or the object is not an owner; 400 for a
// group's last owner that is a user ("once owners are assigned to a group,
// the last owner (a user object) of the group cannot be removed", Graph's
// reference; the code and message are *unconfirmed*).
func (t *Tenant) removeOwnerRef(c *call) {
	gid, oid := c.param("id"), c.param("owner")
	gk, ok := strings.ToLower(gid), strings.ToLower(oid)
	t.mu.Lock()
	group, groupExists := t.groups[gk]
	owner := t.owners.members[gk][ok]
	_, isUser := t.users[ok]
	last := owner && isUser && len(t.owners.members[gk]) == 1
	exchange := groupExists && exchangeManaged(group)
	if owner && !last && !exchange {
		t.owners.remove(gk, ok)
	}
	t.mu.Unlock()
	switch {
	case exchange:
		c.error(http.StatusBadRequest, "Request_BadRequest", messageExchangeManaged)
	case !groupExists:
		c.notFound(gid)
	case !owner:
		c.notFound(oid)
	case last:
		c.error(http.StatusBadRequest, "Request_BadRequest", messageLastOwner)
	default:
		c.noContent()
	}
}

// groupScheduleSpec is what the PIM for Groups schedules accept: $filter
// with eq on groupId, principalId and accessId. Graph needs one of groupId
// and principalId.
func groupScheduleSpec(active bool) collectionSpec {
	name, typeName := "eligibilitySchedules", "microsoft.graph.privilegedAccessGroupEligibilitySchedule"
	if active {
		name, typeName = "assignmentSchedules", "microsoft.graph.privilegedAccessGroupAssignmentSchedule"
	}
	return collectionSpec{
		name:     "group/" + name,
		typeName: typeName,
		props: []string{"id", "groupId", "principalId", "accessId", "memberType", "status", "scheduleInfo",
			"createdDateTime", "modifiedDateTime", "createdUsing"},
		filter: filterSyntax{ops: []string{"eq"}, props: []string{"groupId", "principalId", "accessId"}},
	}
}

func (s GroupSchedule) prop(name string) string {
	switch name {
	case "groupId":
		return s.GroupID
	case "principalId":
		return s.PrincipalID
	case "accessId":
		return s.AccessID
	}
	return ""
}

func (t *Tenant) groupScheduleJSON(s GroupSchedule, sel selection) map[string]any {
	all := map[string]any{
		"id":               s.ID,
		"groupId":          s.GroupID,
		"principalId":      s.PrincipalID,
		"accessId":         s.AccessID,
		"memberType":       "direct",
		"status":           "Provisioned",
		"scheduleInfo":     scheduleInfoJSON(s.StartDateTime, s.EndDateTime),
		"createdDateTime":  graphTime(s.StartDateTime),
		"modifiedDateTime": nil,
		"createdUsing":     s.ID,
	}
	if s.Active {
		all["assignmentType"] = "assigned"
	}
	return pick(all, sel)
}

// listGroupSchedules serves GET group/eligibilitySchedules (active false)
// and group/assignmentSchedules: filtered, sorted by id, paged.
func (t *Tenant) listGroupSchedules(active bool) func(*call) {
	spec := groupScheduleSpec(active)
	return func(c *call) {
		if t.cfg.NoP2 {
			c.error(http.StatusBadRequest, codeLicenceRequired, messageLicenceRequired)
			return
		}
		lq, err := t.parseListQuery(c, spec, true)
		if err != nil {
			c.queryFailed(err)
			return
		}
		scoped := false
		for _, cl := range lq.filter {
			scoped = scoped || cl.prop == "groupId" || cl.prop == "principalId"
		}
		if !scoped {
			c.badRequest(messageGroupPIMNeedsFilter)
			return
		}
		t.mu.Lock()
		body := listBody{Context: graphContext("identityGovernance/privilegedAccess/group/" + strings.TrimPrefix(spec.name, "group/")),
			Value: []map[string]any{}}
		last, more := "", false
		for _, id := range slices.Sorted(maps.Keys(t.groupPIM)) {
			s := t.groupPIM[id]
			if s.Active != active || !lq.filter.matches(s.prop) || (lq.after != "" && id <= lq.after) {
				continue
			}
			if len(body.Value) == lq.size {
				more = true
				break
			}
			body.Value = append(body.Value, t.groupScheduleJSON(s, lq.sel))
			last = id
		}
		t.mu.Unlock()
		if more {
			body.NextLink = nextLink(c.r, t.skipToken(last, lq.tokenKey))
		}
		c.ok(body)
	}
}

// groupScheduleRequest is the body of a PIM for Groups schedule request.
type groupScheduleRequest struct {
	Action        string           `json:"action"`
	AccessID      string           `json:"accessId"`
	GroupID       string           `json:"groupId"`
	PrincipalID   string           `json:"principalId"`
	Justification string           `json:"justification"`
	ScheduleInfo  *requestSchedule `json:"scheduleInfo"`
}

// postGroupScheduleRequest serves POST group/eligibilityScheduleRequests
// (active false) and group/assignmentScheduleRequests: adminRemove ends
// the matching schedule (201 Revoked; 400 RoleAssignmentDoesNotExist when
// there is none), adminAssign creates one (201 Provisioned; 400
// RoleAssignmentExists). That PIM for Groups answers with the codes of PIM
// for roles is *unconfirmed*.
func (t *Tenant) postGroupScheduleRequest(active bool) func(*call) {
	kind := "eligibilityScheduleRequests"
	if active {
		kind = "assignmentScheduleRequests"
	}
	return func(c *call) {
		if t.cfg.NoP2 {
			c.error(http.StatusBadRequest, codeLicenceRequired, messageLicenceRequired)
			return
		}
		var r groupScheduleRequest
		if !c.decodeJSON(&r) {
			return
		}
		// The roles' request, with the group standing in for role and
		// scope, checks the action and the principal.
		sr := scheduleRequest{Action: r.Action, PrincipalID: r.PrincipalID, RoleDefinitionID: r.GroupID,
			DirectoryScopeID: r.GroupID, ScheduleInfo: r.ScheduleInfo}
		if msg := sr.check(); msg != "" {
			c.badRequest(strings.ReplaceAll(strings.ReplaceAll(msg, "'roleDefinitionId'", "'groupId'"), "'directoryScopeId'", "'groupId'"))
			return
		}
		if r.Action = sr.Action; !isGUID(r.GroupID) {
			c.badRequest("Invalid value for property 'groupId': '" + r.GroupID + "'.")
			return
		}
		access, ok := lookupFold([]string{AccessMember, AccessOwner}, r.AccessID)
		if !ok {
			c.badRequest("Invalid value for property 'accessId': '" + r.AccessID + "'.")
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		group, groupOK := t.groups[strings.ToLower(r.GroupID)]
		if !groupOK {
			c.notFound(r.GroupID)
			return
		}
		if _, ok := t.objectIDLocked(strings.ToLower(r.PrincipalID)); !ok {
			c.notFound(r.PrincipalID)
			return
		}
		target, found := t.findGroupScheduleLocked(active, group.ID, r.PrincipalID, access)
		now := t.cfg.Now()
		var body map[string]any
		switch sr.Action {
		case actionRemove:
			if !found {
				c.error(http.StatusBadRequest, codeAssignmentMissing, messageAssignmentMissing)
				return
			}
			delete(t.groupPIM, target.ID)
			if active {
				if access == AccessOwner {
					t.owners.remove(strings.ToLower(group.ID), strings.ToLower(r.PrincipalID))
				} else {
					t.removeMemberLocked(strings.ToLower(group.ID), strings.ToLower(r.PrincipalID))
				}
			}
			body = t.groupRequestJSON(kind, "Revoked", r, access, target)
		case actionAssign:
			if found {
				c.error(http.StatusBadRequest, codeAssignmentExists, messageAssignmentExists)
				return
			}
			start, end, msg := sr.schedule(now)
			if msg != "" {
				c.badRequest(msg)
				return
			}
			s := t.addGroupScheduleLocked(GroupSchedule{GroupID: group.ID, PrincipalID: r.PrincipalID, AccessID: access,
				Active: active, StartDateTime: start, EndDateTime: end})
			body = t.groupRequestJSON(kind, "Provisioned", r, access, s)
		}
		body["@odata.context"] = graphContext("identityGovernance/privilegedAccess/group/" + kind + "/$entity")
		c.created(body)
	}
}

func (t *Tenant) groupRequestJSON(kind, status string, r groupScheduleRequest, access string, s GroupSchedule) map[string]any {
	now := graphTime(t.cfg.Now())
	return map[string]any{
		"id":                guidFromHash(hash64(t.cfg.Seed, kind, s.ID, r.Action, now)),
		"status":            status,
		"action":            r.Action,
		"accessId":          access,
		"groupId":           s.GroupID,
		"principalId":       s.PrincipalID,
		"createdDateTime":   now,
		"completedDateTime": now,
		"targetScheduleId":  s.ID,
		"justification":     nullable(r.Justification),
		"scheduleInfo":      scheduleInfoJSON(s.StartDateTime, s.EndDateTime),
	}
}

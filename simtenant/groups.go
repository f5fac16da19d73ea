package simtenant

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Errors of the membership methods, for errors.Is.
var (
	// ErrNotFound: the group or the member does not exist.
	ErrNotFound = errors.New("simtenant: no such object")
	// ErrAlreadyMember: the membership exists already.
	ErrAlreadyMember = errors.New("simtenant: already a member")
	// ErrNesting: a group cannot be a member of a role-assignable group
	// (Graph refuses), nor of itself.
	ErrNesting = errors.New("simtenant: group nesting refused")
)

// membership holds direct group memberships in both directions, by
// lower-case object id. Members are sorted lazily: paging through a large
// group sorts it once, not once per added member.
type membership struct {
	members  map[string]map[string]bool // group → members
	memberOf map[string]map[string]bool // member → groups
	sorted   map[string][]string        // group → its members, sorted; absent when stale
}

func newMembership() membership {
	return membership{
		members:  map[string]map[string]bool{},
		memberOf: map[string]map[string]bool{},
		sorted:   map[string][]string{},
	}
}

func (m *membership) add(group, member string) {
	if m.members[group] == nil {
		m.members[group] = map[string]bool{}
	}
	if m.memberOf[member] == nil {
		m.memberOf[member] = map[string]bool{}
	}
	m.members[group][member] = true
	m.memberOf[member][group] = true
	delete(m.sorted, group)
}

func (m *membership) remove(group, member string) bool {
	if !m.members[group][member] {
		return false
	}
	delete(m.members[group], member)
	delete(m.memberOf[member], group)
	if len(m.members[group]) == 0 {
		delete(m.members, group)
	}
	if len(m.memberOf[member]) == 0 {
		delete(m.memberOf, member)
	}
	delete(m.sorted, group)
	return true
}

// membersOf returns a group's member keys, sorted. The slice is shared:
// callers must not change it.
func (m *membership) membersOf(group string) []string {
	if s, ok := m.sorted[group]; ok {
		return s
	}
	s := slices.Sorted(maps.Keys(m.members[group]))
	m.sorted[group] = s
	return s
}

// groupsOf returns the keys of the groups a member belongs to, sorted.
func (m *membership) groupsOf(member string) []string {
	return slices.Sorted(maps.Keys(m.memberOf[member]))
}

// objectIDLocked returns the id of the user, service principal or group
// with a lower-case key, as it was created.
func (t *Tenant) objectIDLocked(key string) (string, bool) {
	if u, ok := t.users[key]; ok {
		return u.ID, true
	}
	if sp, ok := t.sps[key]; ok {
		return sp.ID, true
	}
	if g, ok := t.groups[key]; ok {
		return g.ID, true
	}
	return "", false
}

// Groups returns every group sorted by id.
func (t *Tenant) Groups() []Group {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedValues(t.groups)
}

// AddMember makes a user, service principal or group a direct member of a
// group. It fails with ErrNotFound when either does not exist,
// ErrAlreadyMember, or ErrNesting for a group put into a role-assignable
// group (Graph: "Nesting is currently not supported for groups that can be
// assigned to a role.") or into itself. Group-type eligibilities the new
// member inherits are not derived: add them with AddEligibility
// (MemberType "Group", ViaGroup).
func (t *Tenant) AddMember(groupID, memberID string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addMemberLocked(groupID, memberID)
}

func (t *Tenant) addMemberLocked(groupID, memberID string) error {
	gk, mk := strings.ToLower(groupID), strings.ToLower(memberID)
	g, ok := t.groups[gk]
	if !ok {
		return fmt.Errorf("%w: group %s", ErrNotFound, groupID)
	}
	if _, ok := t.objectIDLocked(mk); !ok {
		return fmt.Errorf("%w: member %s", ErrNotFound, memberID)
	}
	if _, isGroup := t.groups[mk]; isGroup && (g.IsAssignableToRole || gk == mk) {
		return fmt.Errorf("%w: group %s into group %s", ErrNesting, memberID, groupID)
	}
	if t.members.members[gk][mk] {
		return fmt.Errorf("%w: %s of group %s", ErrAlreadyMember, memberID, groupID)
	}
	t.members.add(gk, mk)
	return nil
}

// RemoveMember ends a direct membership and reports whether it existed.
// The member's Group-type eligibilities that came through the group
// (ViaGroup) go with it, as they do in PIM.
func (t *Tenant) RemoveMember(groupID, memberID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.removeMemberLocked(strings.ToLower(groupID), strings.ToLower(memberID))
}

func (t *Tenant) removeMemberLocked(gk, mk string) bool {
	if !t.members.remove(gk, mk) {
		return false
	}
	t.dropInheritedLocked(gk, mk)
	return true
}

// Members returns the ids of a group's direct members, sorted.
func (t *Tenant) Members(groupID string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.idsLocked(t.members.membersOf(strings.ToLower(groupID)))
}

// MemberOf returns the ids of the groups an object is a direct member of,
// sorted.
func (t *Tenant) MemberOf(objectID string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.idsLocked(t.members.groupsOf(strings.ToLower(objectID)))
}

func (t *Tenant) idsLocked(keys []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		id, ok := t.objectIDLocked(k)
		if !ok {
			id = k
		}
		out = append(out, id)
	}
	return out
}

// DeleteObject deletes a user, service principal or group, as Graph's
// DELETE of the object does, and reports whether it existed. Its
// memberships go with it (both ways) along with the Group-type
// eligibilities they carried; its role assignments and Direct
// eligibilities stay, like the orphans real tenants have.
func (t *Tenant) DeleteObject(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.deleteObjectLocked(id)
}

func (t *Tenant) deleteObjectLocked(id string) bool {
	key := strings.ToLower(id)
	if _, ok := t.objectIDLocked(key); !ok {
		return false
	}
	if u, ok := t.users[key]; ok {
		delete(t.upns, strings.ToLower(u.UserPrincipalName))
	}
	delete(t.users, key)
	delete(t.sps, key)
	delete(t.groups, key)
	for _, g := range t.members.groupsOf(key) {
		t.removeMemberLocked(g, key)
	}
	for _, m := range slices.Clone(t.members.membersOf(key)) {
		t.removeMemberLocked(key, m)
	}
	for _, g := range t.owners.groupsOf(key) {
		t.owners.remove(g, key)
	}
	for _, o := range slices.Clone(t.owners.membersOf(key)) {
		t.owners.remove(key, o)
	}
	return true
}

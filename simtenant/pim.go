package simtenant

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Member types of an eligibility (unifiedRoleEligibilitySchedule.memberType).
// Only a Direct eligibility belongs to its principal; Group and Inherited
// ones are removed where they come from.
const (
	MemberTypeDirect    = "Direct"
	MemberTypeGroup     = "Group"
	MemberTypeInherited = "Inherited"
)

// EligibilitySchedule is a PIM eligible assignment of an Entra role
// (unifiedRoleEligibilitySchedule).
//
// A Group-type eligibility is one a user holds through membership of a
// role-assignable group that is itself eligible: its PrincipalID is the
// user, ViaGroup the group. The tenant does not derive these from
// memberships; whoever builds the tenant adds them. Ending the membership
// (RemoveMember, DELETE .../members/{id}/$ref) removes them.
type EligibilitySchedule struct {
	ID               string
	PrincipalID      string
	RoleDefinitionID string
	DirectoryScopeID string     // "/" when empty
	AppScopeID       string     // usually empty (JSON null)
	MemberType       string     // MemberTypeDirect (default), MemberTypeGroup or MemberTypeInherited
	Status           string     // "Provisioned" (default)
	StartDateTime    time.Time  // Config.Now when zero
	EndDateTime      *time.Time // nil: no expiry
	CreatedUsing     string     // id of the request that made it; ID when empty
	ViaGroup         string     // for MemberTypeGroup: the group it comes through (never sent over HTTP)
}

// pimState holds eligibilities and the marks of PIM-made active
// assignments. Guarded by Tenant.mu.
type pimState struct {
	eligibilities map[string]EligibilitySchedule // by id
	ids           []string                       // sorted ids; rebuilt when stale
	stale         bool
	revoked       map[string]time.Time       // revoked by a request, listed until then (Config.RevokedLinger)
	byPrincipal   map[string]map[string]bool // ids by lower-case principal id
	managed       map[string]bool            // role assignment ids made through PIM
	requests      map[string]int             // schedule requests seen per key, for repeatable request ids
}

func newPIMState() pimState {
	return pimState{
		eligibilities: map[string]EligibilitySchedule{},
		revoked:       map[string]time.Time{},
		byPrincipal:   map[string]map[string]bool{},
		managed:       map[string]bool{},
		requests:      map[string]int{},
	}
}

// sortedIDs returns every eligibility id, lingering revoked ones included,
// sorted.
func (p *pimState) sortedIDs() []string {
	if p.stale {
		p.ids = slices.Sorted(maps.Keys(p.eligibilities))
		p.stale = false
	}
	return p.ids
}

func (p *pimState) remove(id string) bool {
	e, ok := p.eligibilities[id]
	if !ok {
		return false
	}
	p.unindex(e)
	delete(p.eligibilities, id)
	delete(p.revoked, id)
	if i, found := slices.BinarySearch(p.ids, id); !p.stale && found {
		p.ids = slices.Delete(p.ids, i, i+1)
	}
	return true
}

// index and unindex keep byPrincipal in step with eligibilities.
func (p *pimState) index(e EligibilitySchedule) {
	key := strings.ToLower(e.PrincipalID)
	if p.byPrincipal[key] == nil {
		p.byPrincipal[key] = map[string]bool{}
	}
	p.byPrincipal[key][e.ID] = true
}

func (p *pimState) unindex(e EligibilitySchedule) {
	key := strings.ToLower(e.PrincipalID)
	delete(p.byPrincipal[key], e.ID)
	if len(p.byPrincipal[key]) == 0 {
		delete(p.byPrincipal, key)
	}
}

// purgeRevokedLocked drops revoked eligibilities whose linger has passed.
func (t *Tenant) purgeRevokedLocked() {
	now := t.cfg.Now()
	for id, until := range t.pim.revoked {
		if !now.Before(until) {
			t.pim.remove(id)
		}
	}
}

// AddEligibility adds or replaces an eligibility and returns it, with
// defaults filled in: a GUID id (like Graph's schedule ids), "/" scope,
// MemberTypeDirect, status "Provisioned", StartDateTime now, CreatedUsing
// the id. Neither the principal nor the role has to exist.
func (t *Tenant) AddEligibility(e EligibilitySchedule) EligibilitySchedule {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e.ID == "" {
		e.ID = t.newGUIDLocked()
	}
	return t.addEligibilityLocked(e)
}

func (t *Tenant) addEligibilityLocked(e EligibilitySchedule) EligibilitySchedule {
	if e.DirectoryScopeID == "" && e.AppScopeID == "" {
		e.DirectoryScopeID = "/"
	}
	if e.MemberType == "" {
		e.MemberType = MemberTypeDirect
	}
	if e.Status == "" {
		e.Status = "Provisioned"
	}
	if e.StartDateTime.IsZero() {
		e.StartDateTime = t.cfg.Now().UTC().Truncate(time.Second)
	}
	if e.CreatedUsing == "" {
		e.CreatedUsing = e.ID
	}
	if old, ok := t.pim.eligibilities[e.ID]; !ok {
		t.pim.stale = true
	} else {
		t.pim.unindex(old)
	}
	delete(t.pim.revoked, e.ID)
	t.pim.eligibilities[e.ID] = e
	t.pim.index(e)
	return e
}

// RemoveEligibility deletes an eligibility at once (no linger) and
// reports whether it existed.
func (t *Tenant) RemoveEligibility(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pim.remove(id)
}

// Eligibility returns one live eligibility by id: not one that a request
// revoked and that is only still listed.
func (t *Tenant) Eligibility(id string) (EligibilitySchedule, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.purgeRevokedLocked()
	e, ok := t.pim.eligibilities[id]
	if !ok || t.isRevokedLocked(id) {
		return EligibilitySchedule{}, false
	}
	return e, true
}

// Eligibilities returns every live eligibility sorted by id. Revoked ones
// that still linger in the HTTP listing (Config.RevokedLinger) are left
// out: their permission is gone.
func (t *Tenant) Eligibilities() []EligibilitySchedule {
	return t.eligibilitiesWhere(func(EligibilitySchedule) bool { return true })
}

// EligibilitiesOf returns the live eligibilities of one principal (id
// compared case-insensitively), whatever their member type, sorted by id.
func (t *Tenant) EligibilitiesOf(principalID string) []EligibilitySchedule {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.purgeRevokedLocked()
	// From the index, not a scan of every eligibility (nor a sort of
	// them all each time one was added): Generate asks this of every
	// principal and group.
	var out []EligibilitySchedule
	for _, id := range slices.Sorted(maps.Keys(t.pim.byPrincipal[strings.ToLower(principalID)])) {
		if !t.isRevokedLocked(id) {
			out = append(out, t.pim.eligibilities[id])
		}
	}
	return out
}

func (t *Tenant) eligibilitiesWhere(keep func(EligibilitySchedule) bool) []EligibilitySchedule {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.purgeRevokedLocked()
	var out []EligibilitySchedule
	for _, id := range t.pim.sortedIDs() {
		if e := t.pim.eligibilities[id]; !t.isRevokedLocked(id) && keep(e) {
			out = append(out, e)
		}
	}
	return out
}

func (t *Tenant) isRevokedLocked(id string) bool {
	_, ok := t.pim.revoked[id]
	return ok
}

// revokeLocked ends an eligibility as an adminRemove request does: gone
// at once, or listed for Config.RevokedLinger more.
func (t *Tenant) revokeLocked(id string) {
	if t.cfg.RevokedLinger <= 0 {
		t.pim.remove(id)
		return
	}
	t.pim.revoked[id] = t.cfg.Now().Add(t.cfg.RevokedLinger)
}

// dropInheritedLocked removes the Group-type eligibilities a member held
// through a group (both lower-case keys), when the membership ends.
func (t *Tenant) dropInheritedLocked(groupKey, memberKey string) {
	for id, e := range t.pim.eligibilities {
		if e.MemberType == MemberTypeGroup &&
			strings.EqualFold(e.ViaGroup, groupKey) && strings.EqualFold(e.PrincipalID, memberKey) {
			t.pim.remove(id)
		}
	}
}

// MarkPIMManaged marks an existing active assignment as made through PIM
// (an adminAssign roleAssignmentScheduleRequest), which matters with
// Config.PIMManagedDeleteRefused. It reports whether the assignment
// exists. Removing the assignment clears the mark.
func (t *Tenant) MarkPIMManaged(assignmentID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.assignments[assignmentID]; !ok {
		return false
	}
	t.pim.managed[assignmentID] = true
	return true
}

// IsPIMManaged reports whether an assignment is marked as made through PIM.
func (t *Tenant) IsPIMManaged(assignmentID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pim.managed[assignmentID]
}

// requestIDLocked is the id of a schedule request: a GUID derived from the
// seed, what the request is about and how many such requests came before,
// so that it does not depend on how concurrent requests interleave.
func (t *Tenant) requestIDLocked(parts ...string) string {
	key := strings.ToLower(strings.Join(parts, "\x00"))
	n := t.pim.requests[key]
	t.pim.requests[key] = n + 1
	return guidFromHash(hash64(t.cfg.Seed, "scheduleRequest", key, strconv.Itoa(n)))
}

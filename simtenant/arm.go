package simtenant

// Azure Resource Manager. The same server that answers Graph under /v1.0
// answers ARM paths (/subscriptions/..., /providers/...): management
// groups, subscriptions and resource groups as a tree of scopes, Azure
// role assignments, and Azure PIM eligibilities. The model lives here; the
// pipeline stages ARM answers differently (auth, throttling, unknown
// routes) in arm_server.go; the endpoints in arm_roles.go, arm_pim.go and
// arm_subscriptions.go.

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Built-in Azure role definitions (the role's GUID; ARMRoleDefinitionID
// gives the id ARM writes in an assignment).
const (
	ARMOwner                   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	ARMContributor             = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	ARMReader                  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	ARMUserAccessAdministrator = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
)

// builtinARMRoles maps the built-in roles' GUIDs to their names. A function
// so no state is shared between tenants.
func builtinARMRoles() map[string]string {
	return map[string]string{
		ARMOwner:                   "Owner",
		ARMContributor:             "Contributor",
		ARMReader:                  "Reader",
		ARMUserAccessAdministrator: "User Access Administrator",
	}
}

// Path pieces ARM ids are made of.
const (
	armAuthorization      = "/providers/Microsoft.Authorization"
	armRoleAssignments    = armAuthorization + "/roleAssignments"
	armRoleDefinitions    = armAuthorization + "/roleDefinitions"
	armEligibilities      = armAuthorization + "/roleEligibilitySchedules"
	armEligibilityRequest = armAuthorization + "/roleEligibilityScheduleRequests"
	armManagementGroups   = "/providers/Microsoft.Management/managementGroups/"
)

// ARMConfig shapes the Azure Resource Manager side of a tenant
// (Config.ARM). The zero value gives ARM's documented limits.
type ARMConfig struct {
	// PageSize is the number of items in one page of an ARM list answer
	// (default 100).
	PageSize int
	// Token buckets, refilling Rate per second and holding at most Burst:
	// reads (GET) 25 and 250, deletes 10 and 200, writes (PUT) 10 and 200
	// by default. Each subscription has its own three buckets; requests
	// outside any subscription (management groups, GET /subscriptions, the
	// root scope) share a tenant-level set with the same figures. A
	// negative rate turns that kind of throttling off.
	ReadRate    float64
	ReadBurst   int
	DeleteRate  float64
	DeleteBurst int
	WriteRate   float64
	WriteBurst  int
	// FilterRequired makes role assignment and eligibility listings
	// without a $filter answer 400 InvalidFilterParameter (whether every
	// scope accepts an unfiltered listing is *unconfirmed*); a client then
	// lists with one filter per principal. RequireARMFilter changes it on
	// a running tenant.
	FilterRequired bool
}

func (c ARMConfig) withDefaults() ARMConfig {
	if c.PageSize <= 0 {
		c.PageSize = 100
	}
	c.ReadRate = cmp.Or(c.ReadRate, 25)
	c.DeleteRate = cmp.Or(c.DeleteRate, 10)
	c.WriteRate = cmp.Or(c.WriteRate, 10)
	if c.ReadBurst <= 0 {
		c.ReadBurst = 250
	}
	if c.DeleteBurst <= 0 {
		c.DeleteBurst = 200
	}
	if c.WriteBurst <= 0 {
		c.WriteBurst = 200
	}
	return c
}

// ARMSubscription is an Azure subscription.
type ARMSubscription struct {
	ID              string // a GUID; generated when empty
	DisplayName     string // defaults to "Subscription {ID}"
	State           string // "Enabled" when empty; stored and shown, not enforced
	ManagementGroup string // the parent management group's id; "" is the tenant root group
}

// Scope is the subscription's ARM scope, /subscriptions/{ID}.
func (s ARMSubscription) Scope() string { return "/subscriptions/" + s.ID }

// ARMRoleAssignment is an Azure role assignment. ID is always derived:
// Scope + "/providers/Microsoft.Authorization/roleAssignments/" + Name.
type ARMRoleAssignment struct {
	ID               string
	Name             string // a GUID; generated when empty
	Scope            string // "/", a management group, subscription, resource group or resource scope
	RoleDefinitionID string // a role's GUID is expanded by ARMRoleDefinitionID
	PrincipalID      string // need not exist in Graph ("Identity not found")
	PrincipalType    string // User (default), Group, ServicePrincipal, ForeignGroup or Device
	Condition        string
	ConditionVersion string // "2.0" when a Condition is given without one
	Description      string
	CreatedOn        time.Time // default: the tenant's clock
	UpdatedOn        time.Time // default: CreatedOn
	CreatedBy        string    // default: the caller's object id
	UpdatedBy        string    // default: CreatedBy
	// PIMManaged marks an active assignment made through PIM: a plain
	// DELETE of it is refused (400) and it is removed with an AdminRemove
	// roleAssignmentScheduleRequest. What ARM really answers such a
	// DELETE is *unconfirmed* (SERVICE_FACTS.md); this models the stricter
	// possibility.
	PIMManaged bool
}

// ARMEligibilitySchedule is an Azure PIM eligibility. ID is always derived:
// Scope + "/providers/Microsoft.Authorization/roleEligibilitySchedules/" +
// Name.
type ARMEligibilitySchedule struct {
	ID               string
	Name             string // a GUID; generated when empty
	Scope            string
	RoleDefinitionID string // a role's GUID is expanded by ARMRoleDefinitionID
	PrincipalID      string
	PrincipalType    string    // User by default
	MemberType       string    // Direct (default), Group or Inherited; only Direct ones can be removed at their scope
	Status           string    // Provisioned by default
	StartDateTime    time.Time // default: the tenant's clock
	EndDateTime      time.Time // zero: no expiration (JSON null)
	RequestID        string    // the roleEligibilityScheduleRequestId, when a request made it
	CreatedOn        time.Time // default: StartDateTime
}

// armState is the ARM half of the tenant's data, guarded by Tenant.mu.
// Every map is keyed by lower-case id or scope: ARM compares both
// case-insensitively.
type armState struct {
	cfg           ARMConfig
	root          string                            // the tenant root group's id (the tenant id)
	mgs           map[string]string                 // management group → its parent ("" for the root)
	mgIDs         map[string]string                 // management group → id as added
	subs          map[string]ARMSubscription        //
	rgs           map[string]string                 // resource group scope → scope as added
	roles         map[string]string                 // role GUID → name
	assignments   map[string]ARMRoleAssignment      // by id
	byPrincipal   map[string]map[string]bool        // principal → assignment ids
	eligibilities map[string]ARMEligibilitySchedule // by id
	requests      map[string]armScheduleRequest     // eligibility schedule requests by id
	buckets       map[string]*armBuckets            // by subscription; "" is the tenant level
	vaults        map[string]KeyVault               // Key Vaults by id (arm_keyvault.go)
}

// registerARM sets up the ARM state and routes. New calls it once the
// tenant id is known; it draws no ids, so Graph's ids stay as they were.
func (t *Tenant) registerARM() {
	t.arm = armState{
		cfg:           t.cfg.ARM.withDefaults(),
		root:          t.tenantID,
		mgs:           map[string]string{strings.ToLower(t.tenantID): ""},
		mgIDs:         map[string]string{strings.ToLower(t.tenantID): t.tenantID},
		subs:          map[string]ARMSubscription{},
		rgs:           map[string]string{},
		roles:         builtinARMRoles(),
		assignments:   map[string]ARMRoleAssignment{},
		byPrincipal:   map[string]map[string]bool{},
		eligibilities: map[string]ARMEligibilitySchedule{},
		requests:      map[string]armScheduleRequest{},
		buckets:       map[string]*armBuckets{},
		vaults:        map[string]KeyVault{},
	}
	t.addARMRoutes()
}

// RequireARMFilter sets ARMConfig.FilterRequired.
func (t *Tenant) RequireARMFilter(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.arm.cfg.FilterRequired = on
}

// ManagementGroupScope is the ARM scope of a management group.
func ManagementGroupScope(id string) string { return armManagementGroups + id }

// ARMRoleDefinitionID is the id ARM writes for a role in an assignment at
// scope: /subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{role}
// inside a subscription, /providers/Microsoft.Authorization/roleDefinitions/{role}
// elsewhere.
func ARMRoleDefinitionID(scope, roleGUID string) string {
	if s := parseARMScope(scope); s.sub != "" {
		return "/subscriptions/" + s.sub + armRoleDefinitions + "/" + roleGUID
	}
	return armRoleDefinitions + "/" + roleGUID
}

// RootManagementGroup is the scope of the tenant root group, which every
// management group and subscription sits under.
func (t *Tenant) RootManagementGroup() string { return ManagementGroupScope(t.tenantID) }

// AddManagementGroup adds a management group under parentID ("" or
// unknown: the tenant root group) and returns its scope. An empty id is
// generated. Re-adding one moves it.
func (t *Tenant) AddManagementGroup(id, parentID string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id == "" {
		id = t.newGUIDLocked()
	}
	t.addManagementGroupLocked(id, parentID)
	return ManagementGroupScope(id)
}

func (t *Tenant) addManagementGroupLocked(id, parentID string) {
	key := strings.ToLower(id)
	if key == strings.ToLower(t.arm.root) {
		return
	}
	parent := strings.ToLower(parentID)
	if _, ok := t.arm.mgs[parent]; !ok || parent == key {
		parent = strings.ToLower(t.arm.root)
	}
	t.arm.mgs[key] = parent
	t.arm.mgIDs[key] = id
}

// AddSubscription adds or replaces a subscription and returns it. Its
// management group is added under the root when unknown.
func (t *Tenant) AddSubscription(s ARMSubscription) ARMSubscription {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s.ID == "" {
		s.ID = t.newGUIDLocked()
	}
	s.DisplayName = cmp.Or(s.DisplayName, "Subscription "+s.ID)
	s.State = cmp.Or(s.State, "Enabled")
	if s.ManagementGroup != "" {
		if _, ok := t.arm.mgs[strings.ToLower(s.ManagementGroup)]; !ok {
			t.addManagementGroupLocked(s.ManagementGroup, "")
		}
	}
	t.arm.subs[strings.ToLower(s.ID)] = s
	return s
}

// ARMSubscriptions returns the subscriptions sorted by id.
func (t *Tenant) ARMSubscriptions() []ARMSubscription {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedValues(t.arm.subs)
}

// AddResourceGroup adds a resource group and returns its scope,
// /subscriptions/{s}/resourceGroups/{name}. The subscription is not
// checked: requests at the scope answer 404 until it exists.
func (t *Tenant) AddResourceGroup(subscriptionID, name string) string {
	scope := "/subscriptions/" + subscriptionID + "/resourceGroups/" + name
	t.mu.Lock()
	defer t.mu.Unlock()
	t.arm.rgs[strings.ToLower(scope)] = scope
	return scope
}

// AddARMRoleDefinition adds a custom Azure role, so that PUT requests may
// name it; it returns the role's GUID (generated when empty).
func (t *Tenant) AddARMRoleDefinition(roleGUID, roleName string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if roleGUID == "" {
		roleGUID = t.newGUIDLocked()
	}
	t.arm.roles[strings.ToLower(roleGUID)] = roleName
	return roleGUID
}

// AddARMRoleAssignment adds or replaces an Azure role assignment and
// returns it with its defaults filled in. Neither the scope nor the
// principal has to exist. It panics on an empty Scope: there is no sensible
// default, and a test that forgets one should fail loudly.
func (t *Tenant) AddARMRoleAssignment(a ARMRoleAssignment) ARMRoleAssignment {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addARMRoleAssignmentLocked(a)
}

func (t *Tenant) addARMRoleAssignmentLocked(a ARMRoleAssignment) ARMRoleAssignment {
	a.Scope = normalScope(a.Scope, "role assignment")
	if a.Name == "" {
		a.Name = t.newGUIDLocked()
	}
	a.ID = armChildID(a.Scope, armRoleAssignments, a.Name)
	if isGUID(a.RoleDefinitionID) {
		a.RoleDefinitionID = ARMRoleDefinitionID(a.Scope, a.RoleDefinitionID)
	}
	a.PrincipalType = cmp.Or(a.PrincipalType, "User")
	if a.Condition != "" {
		a.ConditionVersion = cmp.Or(a.ConditionVersion, "2.0")
	}
	if a.CreatedOn.IsZero() {
		a.CreatedOn = t.cfg.Now()
	}
	if a.UpdatedOn.IsZero() {
		a.UpdatedOn = a.CreatedOn
	}
	a.CreatedBy = cmp.Or(a.CreatedBy, t.callerID)
	a.UpdatedBy = cmp.Or(a.UpdatedBy, a.CreatedBy)
	key := strings.ToLower(a.ID)
	t.removeARMRoleAssignmentLocked(key)
	t.arm.assignments[key] = a
	pk := strings.ToLower(a.PrincipalID)
	if t.arm.byPrincipal[pk] == nil {
		t.arm.byPrincipal[pk] = map[string]bool{}
	}
	t.arm.byPrincipal[pk][key] = true
	return a
}

// normalScope trims a trailing slash (the root scope stays "/") and panics
// on an empty scope.
func normalScope(scope, what string) string {
	if scope == "" {
		panic("simtenant: ARM " + what + " without a Scope")
	}
	if scope == "/" {
		return scope
	}
	return "/" + strings.Trim(scope, "/")
}

// armChildID is the id of a child resource at a scope; the root scope
// adds no slash of its own.
func armChildID(scope, collection, name string) string {
	return strings.TrimSuffix(scope, "/") + collection + "/" + name
}

// RemoveARMRoleAssignment deletes an assignment by id (compared
// case-insensitively) and reports whether it existed.
func (t *Tenant) RemoveARMRoleAssignment(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.removeARMRoleAssignmentLocked(strings.ToLower(id))
}

func (t *Tenant) removeARMRoleAssignmentLocked(key string) bool {
	a, ok := t.arm.assignments[key]
	if !ok {
		return false
	}
	delete(t.arm.assignments, key)
	pk := strings.ToLower(a.PrincipalID)
	delete(t.arm.byPrincipal[pk], key)
	if len(t.arm.byPrincipal[pk]) == 0 {
		delete(t.arm.byPrincipal, pk)
	}
	return true
}

// ARMRoleAssignment finds an assignment by id, case-insensitively.
func (t *Tenant) ARMRoleAssignment(id string) (ARMRoleAssignment, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.arm.assignments[strings.ToLower(id)]
	return a, ok
}

// ARMRoleAssignments returns every Azure role assignment sorted by id
// (case-insensitively).
func (t *Tenant) ARMRoleAssignments() []ARMRoleAssignment {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedValues(t.arm.assignments)
}

// ARMRoleAssignmentsOf returns a principal's Azure role assignments (direct
// ones only, not through groups) sorted by id.
func (t *Tenant) ARMRoleAssignmentsOf(principalID string) []ARMRoleAssignment {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []ARMRoleAssignment
	for _, key := range slices.Sorted(maps.Keys(t.arm.byPrincipal[strings.ToLower(principalID)])) {
		out = append(out, t.arm.assignments[key])
	}
	return out
}

// AddARMEligibilitySchedule adds or replaces an Azure PIM eligibility and
// returns it with its defaults filled in. It panics on an empty Scope.
func (t *Tenant) AddARMEligibilitySchedule(e ARMEligibilitySchedule) ARMEligibilitySchedule {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addARMEligibilityLocked(e)
}

func (t *Tenant) addARMEligibilityLocked(e ARMEligibilitySchedule) ARMEligibilitySchedule {
	e.Scope = normalScope(e.Scope, "eligibility schedule")
	if e.Name == "" {
		e.Name = t.newGUIDLocked()
	}
	e.ID = armChildID(e.Scope, armEligibilities, e.Name)
	if isGUID(e.RoleDefinitionID) {
		e.RoleDefinitionID = ARMRoleDefinitionID(e.Scope, e.RoleDefinitionID)
	}
	e.PrincipalType = cmp.Or(e.PrincipalType, "User")
	e.MemberType = cmp.Or(e.MemberType, "Direct")
	e.Status = cmp.Or(e.Status, "Provisioned")
	if e.StartDateTime.IsZero() {
		e.StartDateTime = t.cfg.Now()
	}
	if e.CreatedOn.IsZero() {
		e.CreatedOn = e.StartDateTime
	}
	t.arm.eligibilities[strings.ToLower(e.ID)] = e
	return e
}

// RemoveARMEligibilitySchedule deletes an eligibility by id and reports
// whether it existed.
func (t *Tenant) RemoveARMEligibilitySchedule(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := strings.ToLower(id)
	_, ok := t.arm.eligibilities[key]
	delete(t.arm.eligibilities, key)
	return ok
}

// ARMEligibilitySchedules returns every Azure PIM eligibility sorted by id.
func (t *Tenant) ARMEligibilitySchedules() []ARMEligibilitySchedule {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedValues(t.arm.eligibilities)
}

// ARMEligibilitySchedulesOf returns a principal's Azure PIM eligibilities
// sorted by id.
func (t *Tenant) ARMEligibilitySchedulesOf(principalID string) []ARMEligibilitySchedule {
	var out []ARMEligibilitySchedule
	for _, e := range t.ARMEligibilitySchedules() {
		if strings.EqualFold(e.PrincipalID, principalID) {
			out = append(out, e)
		}
	}
	return out
}

// armScopeKind tells the levels of the scope tree apart.
type armScopeKind int

const (
	armScopeInvalid armScopeKind = iota
	armScopeRoot
	armScopeManagementGroup
	armScopeSubscription
	armScopeResourceGroup
	armScopeResource
)

// armScope is a parsed scope; the names are as written.
type armScope struct {
	kind armScopeKind
	path string // without a trailing slash; "/" for the root
	mg   string
	sub  string
	rg   string
}

// key is the scope compared case-insensitively.
func (s armScope) key() string { return strings.ToLower(s.path) }

// parseARMScope reads "/", /providers/Microsoft.Management/managementGroups/{mg},
// /subscriptions/{s}, .../resourceGroups/{rg}, and resources below a
// resource group (.../providers/{namespace}/{type}/{name}, nested
// {type}/{name} pairs allowed). Anything else is armScopeInvalid.
func parseARMScope(scope string) armScope {
	trimmed := strings.Trim(scope, "/")
	s := armScope{path: "/" + trimmed}
	if trimmed == "" {
		s.kind = armScopeRoot
		return s
	}
	segs := strings.Split(trimmed, "/")
	if slices.Contains(segs, "") {
		return armScope{}
	}
	is := func(i int, word string) bool { return strings.EqualFold(segs[i], word) }
	switch {
	case len(segs) == 4 && is(0, "providers") && is(1, "Microsoft.Management") && is(2, "managementGroups"):
		s.kind, s.mg = armScopeManagementGroup, segs[3]
	case len(segs) == 2 && is(0, "subscriptions"):
		s.kind, s.sub = armScopeSubscription, segs[1]
	case len(segs) == 4 && is(0, "subscriptions") && is(2, "resourceGroups"):
		s.kind, s.sub, s.rg = armScopeResourceGroup, segs[1], segs[3]
	case len(segs) >= 8 && len(segs)%2 == 0 && is(0, "subscriptions") && is(2, "resourceGroups") && is(4, "providers"):
		s.kind, s.sub, s.rg = armScopeResource, segs[1], segs[3]
	default:
		return armScope{}
	}
	return s
}

// ancestorsLocked returns the keys of the scopes above s, nearest first,
// ending with the root scope "/".
func (st *armState) ancestorsLocked(s armScope) []string {
	var out []string
	mg := ""
	switch s.kind {
	case armScopeResource:
		// Parent resources of a nested resource, then its resource group.
		segs := strings.Split(strings.Trim(s.key(), "/"), "/")
		for n := len(segs) - 2; n >= 8; n -= 2 {
			out = append(out, "/"+strings.Join(segs[:n], "/"))
		}
		out = append(out, "/"+strings.Join(segs[:4], "/"))
		fallthrough
	case armScopeResourceGroup:
		out = append(out, "/subscriptions/"+strings.ToLower(s.sub))
		fallthrough
	case armScopeSubscription:
		mg = strings.ToLower(st.root)
		if sub, ok := st.subs[strings.ToLower(s.sub)]; ok && sub.ManagementGroup != "" {
			mg = strings.ToLower(sub.ManagementGroup)
		}
	case armScopeManagementGroup:
		mg = st.mgs[strings.ToLower(s.mg)]
	}
	// Walk up the management groups; the bound guards against a cycle.
	for i := 0; mg != "" && i < 64; i++ {
		out = append(out, strings.ToLower(armManagementGroups)+mg)
		mg = st.mgs[mg]
	}
	if s.kind != armScopeRoot && s.kind != armScopeInvalid {
		out = append(out, "/")
	}
	return out
}

// visibleFromLocked returns whether something at a scope shows in a
// listing at scope at: ARM lists what is at, above and (unless atOrAbove,
// the atScope() filter) below the scope.
//
// A listing at a management group shows only what is at and
// above it: that it includes its subscriptions' and resource groups'
// assignments is not documented, and Microsoft's answer to a user is to
// enumerate the children (issue 17), so the stricter reading is modelled.
func (st *armState) visibleFromLocked(at armScope, atOrAbove bool) func(scope string) bool {
	if at.kind == armScopeManagementGroup {
		atOrAbove = true
	}
	above := map[string]bool{at.key(): true}
	for _, k := range st.ancestorsLocked(at) {
		above[k] = true
	}
	return func(scope string) bool {
		s := parseARMScope(scope)
		if above[s.key()] {
			return true
		}
		return !atOrAbove && slices.Contains(st.ancestorsLocked(s), at.key())
	}
}

// checkScopeLocked answers whether the scope a request names exists, with
// the 404 ARM gives when it does not. Resources are not modelled: any
// resource under an existing resource group exists.
func (st *armState) checkScopeLocked(s armScope) (code, message string, ok bool) {
	switch s.kind {
	case armScopeInvalid:
		return "InvalidResourceType", fmt.Sprintf("The scope '%s' is not valid.", s.path), false
	case armScopeManagementGroup:
		if _, found := st.mgs[strings.ToLower(s.mg)]; !found {
			return "ManagementGroupNotFound", fmt.Sprintf("The management group '%s' could not be found.", s.mg), false
		}
	case armScopeSubscription, armScopeResourceGroup, armScopeResource:
		if _, found := st.subs[strings.ToLower(s.sub)]; !found {
			return "SubscriptionNotFound", fmt.Sprintf("The subscription '%s' could not be found.", s.sub), false
		}
		rg := "/subscriptions/" + strings.ToLower(s.sub) + "/resourcegroups/" + strings.ToLower(s.rg)
		if _, found := st.rgs[rg]; s.kind != armScopeSubscription && !found {
			return "ResourceGroupNotFound", fmt.Sprintf("Resource group '%s' could not be found.", s.rg), false
		}
	}
	return "", "", true
}

// roleGUID returns the role GUID at the end of a role definition id (or a
// bare GUID), lower-case.
func roleGUID(roleDefinitionID string) (string, bool) {
	id := strings.ToLower(roleDefinitionID)
	if isGUID(id) {
		return id, true
	}
	prefix, guid, ok := cutLast(id, "/")
	if !ok || !isGUID(guid) || !strings.HasSuffix(prefix, strings.ToLower(armRoleDefinitions)) {
		return "", false
	}
	return guid, true
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// principalTypeLocked is the type of a directory object for ARM, and
// whether it exists in the directory.
func (t *Tenant) principalTypeLocked(id string) (string, bool) {
	key := strings.ToLower(id)
	if _, ok := t.users[key]; ok {
		return "User", true
	}
	if _, ok := t.sps[key]; ok {
		return "ServicePrincipal", true
	}
	if _, ok := t.groups[key]; ok {
		return "Group", true
	}
	return "", false
}

// principalTypeOf is principalTypeLocked for callers without the lock.
func (t *Tenant) principalTypeOf(id string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.principalTypeLocked(id)
}

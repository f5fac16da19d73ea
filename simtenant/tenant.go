package simtenant

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Role template ids of the built-in Entra roles the simulated tenant knows.
// For built-in roles the roleDefinitionId of an assignment is the template id.
const (
	GlobalAdministrator           = "62e90394-69f5-4237-9190-012177145e10"
	UserAdministrator             = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	PrivilegedRoleAdministrator   = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	SecurityReader                = "5d6b6bb7-de71-4623-b4af-96380a352509"
	HelpdeskAdministrator         = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
	ApplicationAdministrator      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	CloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
	GlobalReader                  = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	GroupsAdministrator           = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	ExchangeAdministrator         = "29232cdf-9323-42fd-ade2-1d097af3e4de"
)

// builtinRoles returns the role definitions every tenant starts with. A
// function rather than a package variable so no state is shared between
// tenants.
func builtinRoles() []RoleDefinition {
	return []RoleDefinition{
		{ID: GlobalAdministrator, DisplayName: "Global Administrator", TemplateID: GlobalAdministrator},
		{ID: UserAdministrator, DisplayName: "User Administrator", TemplateID: UserAdministrator},
		{ID: PrivilegedRoleAdministrator, DisplayName: "Privileged Role Administrator", TemplateID: PrivilegedRoleAdministrator},
		{ID: SecurityReader, DisplayName: "Security Reader", TemplateID: SecurityReader},
		{ID: HelpdeskAdministrator, DisplayName: "Helpdesk Administrator", TemplateID: HelpdeskAdministrator},
		{ID: ApplicationAdministrator, DisplayName: "Application Administrator", TemplateID: ApplicationAdministrator},
		{ID: CloudApplicationAdministrator, DisplayName: "Cloud Application Administrator", TemplateID: CloudApplicationAdministrator},
		{ID: GlobalReader, DisplayName: "Global Reader", TemplateID: GlobalReader},
		{ID: GroupsAdministrator, DisplayName: "Groups Administrator", TemplateID: GroupsAdministrator},
		{ID: ExchangeAdministrator, DisplayName: "Exchange Administrator", TemplateID: ExchangeAdministrator},
	}
}

// User is a directory user. UserType is "Member" or "Guest"; a guest's UPN
// has the form alice_contoso.com#EXT#@fabrikam.onmicrosoft.com and its Mail
// is the external address. Mail and EmployeeID (what HR provisioning
// writes) are not unique: two users may share one, as in Entra.
type User struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	UserType          string
	Mail              string
	EmployeeID        string
}

// ServicePrincipal is an application's identity in the tenant.
type ServicePrincipal struct {
	ID          string
	DisplayName string
	AppID       string
}

// Group is a directory group; only role-assignable groups
// (IsAssignableToRole) can hold Entra roles.
type Group struct {
	ID                 string
	DisplayName        string
	IsAssignableToRole bool
	// Dynamic: groupTypes holds DynamicMembership; members follow a rule
	// and cannot be added or removed. OnPremisesSynced: the group is
	// mastered on premises (onPremisesSyncEnabled); its members cannot be
	// changed in the cloud. Graph refuses a role-assignable group that is
	// dynamic; the tenant takes any combination, so that a client's
	// defences can be tested (group_access.go).
	Dynamic          bool
	OnPremisesSynced bool
	// Mail is what kind of mail-enabled group it is: "" a security group
	// (mailEnabled false, securityEnabled true), or MailSecurity,
	// MailDistribution, MailUnified. Graph changes the members and
	// owners of security and Microsoft 365 groups only: a mail-enabled
	// security group or a distribution list is managed in Exchange
	// Online, and Graph refuses the change (fixedMembers).
	Mail string
}

// The kinds of mail-enabled group (Group.Mail), as groupTypes,
// mailEnabled and securityEnabled tell them apart.
const (
	MailSecurity     = "mail-enabled-security" // [] true true
	MailDistribution = "distribution"          // [] true false
	MailUnified      = "unified"               // ["Unified"] true, securityEnabled as IsAssignableToRole
)

// RoleDefinition is an Entra role. Built-in roles have ID == TemplateID.
type RoleDefinition struct {
	ID          string
	DisplayName string
	TemplateID  string
}

// RoleAssignment is an active (unified RBAC) directory role assignment.
// DirectoryScopeID is "/" for the whole tenant or
// "/administrativeUnits/{id}"; AppScopeID is usually empty (JSON null).
type RoleAssignment struct {
	ID               string
	PrincipalID      string
	RoleDefinitionID string
	DirectoryScopeID string
	AppScopeID       string
}

// Request is one entry of the request log. Status is what was answered: 0
// while the request is still being served, and for a connection reset or a
// client that went away before an answer.
type Request struct {
	At          time.Time   // arrival, by Config.Now
	Method      string      //
	Path        string      // percent-decoded, as r.URL.Path
	EscapedPath string      // as sent on the wire
	RawQuery    string      //
	Header      http.Header // as received, Authorization included
	Body        []byte      // after gzip decoding
	Status      int         //
	// InBatch marks a sub-request of a $batch: its method, path, headers
	// and body are the sub-request's own, logged after the batch itself.
	InBatch bool
}

// Stats counts answered requests. ResetRequests clears it with the log.
//
// A $batch is one round trip but carries up to 20 requests, each served
// (throttled, faulted, routed) as a standalone one: Requests counts round
// trips (a batch once), and every other counter but Batches and
// BatchesByStatus counts the requests the service acted on, standalone or
// inside a batch (a batch's envelope not at all), so that
// ByMethodStatus["DELETE"][429] over ByMethod["DELETE"] is the share of
// removals throttled however they were sent.
type Stats struct {
	Requests        int                    `json:"requests"`          // HTTP requests that arrived (round trips; a batch counts once)
	ByStatus        map[int]int            `json:"by_status"`         // answers per status code (0: reset or abandoned)
	ByMethod        map[string]int         `json:"by_method"`         // requests per method, sub-requests included
	ByMethodStatus  map[string]map[int]int `json:"by_method_status"`  // e.g. ByMethodStatus["DELETE"][429]
	Throttled       int                    `json:"throttled"`         // 429s served by the throttle (not by rules)
	Faults          int                    `json:"faults"`            // answers chosen by Config.FaultRate
	Ruled           int                    `json:"ruled"`             // requests a rule answered, delayed or reset
	Batches         int                    `json:"batches"`           // $batch requests
	SubRequests     int                    `json:"sub_requests"`      // requests inside them
	BatchesByStatus map[int]int            `json:"batches_by_status"` // what the $batch requests themselves were answered
	Cut             int                    `json:"cut"`               // answers a CutAnswer rule cut off mid-body
}

// Config shapes a tenant. The zero value gives a quiet tenant with Graph's
// documented limits.
type Config struct {
	// Seed makes ids, generated data and injected faults repeatable.
	Seed uint64
	// TenantID overrides the tenant id derived from Seed.
	TenantID string
	// PageSize is the default page size of list answers (default 100, at
	// most 999, like Graph).
	PageSize int
	// ReadRU is the read budget in resource units per ReadWindow (default
	// 8000 per 10 s, Graph's figure for tenants over 500 users). Negative
	// turns read throttling off.
	ReadRU     int
	ReadWindow time.Duration
	// WriteRate is the sustained writes per second (default 20) and
	// WriteBurst the bucket size (default 3000): 3,000 per 150 s. A
	// negative WriteRate turns write throttling off.
	WriteRate  float64
	WriteBurst int
	// Latency is added to every answer, plus a uniform random extra in
	// [0, Jitter). Waits use real timers (or SleepUntil) and end when the
	// request does.
	Latency time.Duration
	Jitter  time.Duration
	// LimitSignal (0..1) is the share of admitted Graph writes, made
	// while more than 0.8 of the write budget is used, whose answer
	// carries x-ms-throttle-limit-percentage (profile.go). 0: never.
	LimitSignal float64
	// FaultRate (0..1) is the share of requests answered 500/502/503/504,
	// chosen by hashing the request and how often it was seen, so the same
	// Seed and the same requests give the same faults in any interleaving.
	FaultRate float64
	// LegacyErrors makes every error use the older
	// {"odata.error":{...}} shape.
	LegacyErrors bool
	// ARM shapes the Azure Resource Manager side (arm.go).
	ARM ARMConfig
	// PIMManagedDeleteRefused makes a plain DELETE of a role assignment
	// made through PIM (MarkPIMManaged) answer 400 instead of 204. What
	// Graph really answers is *unconfirmed*; this models the stricter
	// possibility so a client can be tested against it.
	PIMManagedDeleteRefused bool
	// NoP2 models a tenant without Entra ID P2 or Governance (most
	// tenants): PIM endpoints answer 400 AadPremiumLicenseRequired. On
	// Graph: every PIM path (realtenant.go); on ARM:
	// roleEligibilitySchedules, roleEligibilityScheduleRequests and
	// roleAssignmentScheduleRequests (arm_pim.go, arm_mgmt.go).
	NoP2 bool
	// RevokedLinger is how long an eligibility revoked by an adminRemove
	// request stays listed (PIM keeps removed entries visible for a while;
	// the permission is gone at once). Default 0: it leaves at once.
	RevokedLinger time.Duration
	// Deny withholds Graph application permissions from the caller: its
	// token's roles claim lacks them, and the calls that need one are
	// answered 403 Authorization_RequestDenied (realtenant.go).
	Deny []string
	// EmployeeIDInRefused makes GET /users answer a $filter with `in` on
	// employeeId 400 Request_UnsupportedQuery (eq still works). Graph's
	// user reference lists `in` for employeeId, its filter table for
	// directory objects leaves it unstated: a client must be ready for
	// the refusal (graph_users.go).
	EmployeeIDInRefused bool
	// Now is the clock for throttling, the request log and violation
	// checks (default time.Now).
	Now func() time.Time
	// SleepUntil, when set, is how latency and a rule's Delay pass: it
	// returns when Now reaches t, or with ctx's error when ctx (the
	// request's) ends first. Set with Now, it runs the tenant on a test's
	// virtual clock (job.Clock's SleepUntil fits). Default: real timers.
	SleepUntil func(ctx context.Context, t time.Time) error
}

// withDefaults fills in the zero fields of c.
func (c Config) withDefaults() Config {
	if c.PageSize <= 0 {
		c.PageSize = 100
	}
	c.PageSize = min(c.PageSize, maxPageSize)
	if c.ReadRU == 0 {
		c.ReadRU = 8000
	}
	if c.ReadWindow <= 0 {
		c.ReadWindow = 10 * time.Second
	}
	if c.WriteRate == 0 {
		c.WriteRate = 20
	}
	if c.WriteBurst <= 0 {
		c.WriteBurst = 3000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

const maxPageSize = 999

// Tenant is a simulated Entra tenant. All methods are safe for concurrent
// use; one mutex guards all state, which keeps reasoning simple and is far
// from a bottleneck at the request rates Graph allows.
type Tenant struct {
	cfg         Config
	tenantID    string
	callerID    string
	callerAppID string
	token       string
	roles       []string // the token's roles claim: the permissions granted
	routes      []route  // built by New, read-only afterwards
	// delay holds an answer back for its latency; nil: (*call).wait.
	// Tests replace it to see each latency without sleeping.
	delay func(c *call, d time.Duration) bool

	mu            sync.Mutex
	ids           *rand.Rand // object ids, in the order objects are created
	jitter        *rand.Rand
	users         map[string]User        // by lower-case id
	deleted       map[string]deletedUser // soft-deleted users by lower-case id (graph_deleted.go)
	upns          map[string]string
	sps           map[string]ServicePrincipal
	groups        map[string]Group
	roleDefs      map[string]RoleDefinition
	assignments   map[string]RoleAssignment // by id (case-sensitive, like Graph's)
	assignmentIDs []string                  // sorted, for stable paging
	byPrincipal   map[string][]string       // assignment ids by lower-case principal id, for filtered listings
	ghosts        map[string]bool
	rules         []*ruleState
	seen          map[string]int       // times each request reached fault injection
	retryAfter    map[string]time.Time // earliest time a request answered with Retry-After may come back
	graphRead     *bucket
	graphWrite    *bucket
	log           []Request
	logDropped    int // entries ResetRequests removed, so in-flight requests find theirs
	inFlight      int // requests (sub-requests included) begun and not yet finished
	stats         Stats
	violations    []string
	requestSeq    uint64
	members       membership               // group memberships (groups.go)
	owners        membership               // group owners (group_access.go)
	groupPIM      map[string]GroupSchedule // PIM for Groups schedules by id (group_access.go)
	pim           pimState                 // eligibilities and PIM-managed assignments (pim.go)
	arm           armState                 // Azure Resource Manager (arm.go)
	apps          appState                 // applications, app roles, their owners and assignments (apps.go)
}

// New returns a tenant holding the built-in role definitions and the calling
// application's service principal (CallerID), whose token is Token().
func New(cfg Config) *Tenant {
	cfg = cfg.withDefaults()
	t := &Tenant{
		cfg:         cfg,
		ids:         rand.New(rand.NewPCG(cfg.Seed, 0x73696d74656e616e)), // "simtenan"
		jitter:      rand.New(rand.NewPCG(cfg.Seed, 0x6a6974746572)),     // "jitter"
		users:       map[string]User{},
		upns:        map[string]string{},
		sps:         map[string]ServicePrincipal{},
		groups:      map[string]Group{},
		roleDefs:    map[string]RoleDefinition{},
		assignments: map[string]RoleAssignment{},
		byPrincipal: map[string][]string{},
		ghosts:      map[string]bool{},
		seen:        map[string]int{},
		retryAfter:  map[string]time.Time{},
		members:     newMembership(),
		owners:      newMembership(),
		groupPIM:    map[string]GroupSchedule{},
		pim:         newPIMState(),
		apps:        newAppState(),
		graphRead:   newBucket(cfg.ReadRU, cfg.ReadWindow),
		graphWrite:  newRateBucket(cfg.WriteRate, cfg.WriteBurst),
	}
	t.resetStatsLocked()
	t.tenantID = cmp.Or(cfg.TenantID, t.newGUIDLocked())
	t.callerID = t.newGUIDLocked()
	t.callerAppID = t.newGUIDLocked()
	t.sps[t.callerID] = ServicePrincipal{ID: t.callerID, DisplayName: "offboard", AppID: t.callerAppID}
	for _, d := range builtinRoles() {
		t.roleDefs[strings.ToLower(d.ID)] = d
	}
	t.roles = defaultRoles(cfg.Deny)
	t.token = makeToken(t.tenantID, t.callerID, t.callerAppID, t.roles)
	t.addGraphRoleRoutes()
	t.addGraphRoleDefinitionRoutes()
	t.addGraphUserRoutes()
	t.addDeletedItemRoutes()
	t.addGraphPIMRoutes()
	t.addGraphGroupRoutes()
	t.addGroupAccessRoutes()
	t.addAppRoutes()
	t.registerARM()
	return t
}

// TenantID is the tenant's id (the token's tid claim).
func (t *Tenant) TenantID() string { return t.tenantID }

// CallerID is the object id of the service principal the job runs as (the
// token's oid claim).
func (t *Tenant) CallerID() string { return t.callerID }

// CallerAppID is the application (client) id of the caller (the token's appid).
func (t *Tenant) CallerAppID() string { return t.callerAppID }

// Token is the only bearer token the tenant accepts.
func (t *Tenant) Token() string { return t.token }

// Now is the tenant's clock (Config.Now).
func (t *Tenant) Now() time.Time { return t.cfg.Now() }

// newGUIDLocked draws a random (version 4) GUID from the tenant's seeded
// source, so a tenant built the same way gets the same ids.
func (t *Tenant) newGUIDLocked() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := t.ids.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// NewID returns a fresh GUID from the tenant's seeded source.
func (t *Tenant) NewID() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.newGUIDLocked()
}

// AddUser adds or replaces a user and returns it. An empty ID is generated;
// an empty UserType is "Guest" for #EXT# UPNs and "Member" otherwise.
func (t *Tenant) AddUser(u User) User {
	t.mu.Lock()
	defer t.mu.Unlock()
	if u.ID == "" {
		u.ID = t.newGUIDLocked()
	}
	if u.UserType == "" {
		u.UserType = "Member"
		if strings.Contains(strings.ToUpper(u.UserPrincipalName), "#EXT#") {
			u.UserType = "Guest"
		}
	}
	key := strings.ToLower(u.ID)
	if old, ok := t.users[key]; ok {
		delete(t.upns, strings.ToLower(old.UserPrincipalName))
	}
	t.users[key] = u
	if u.UserPrincipalName != "" {
		t.upns[strings.ToLower(u.UserPrincipalName)] = key
	}
	return u
}

// AddServicePrincipal adds or replaces a service principal; empty ID and
// AppID are generated.
func (t *Tenant) AddServicePrincipal(sp ServicePrincipal) ServicePrincipal {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sp.ID == "" {
		sp.ID = t.newGUIDLocked()
	}
	if sp.AppID == "" {
		sp.AppID = t.newGUIDLocked()
	}
	t.sps[strings.ToLower(sp.ID)] = sp
	return sp
}

// AddGroup adds or replaces a group; an empty ID is generated.
func (t *Tenant) AddGroup(g Group) Group {
	t.mu.Lock()
	defer t.mu.Unlock()
	if g.ID == "" {
		g.ID = t.newGUIDLocked()
	}
	t.groups[strings.ToLower(g.ID)] = g
	return g
}

// AddRoleDefinition adds or replaces a (custom) role definition.
func (t *Tenant) AddRoleDefinition(d RoleDefinition) RoleDefinition {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d.ID == "" {
		d.ID = t.newGUIDLocked()
	}
	t.roleDefs[strings.ToLower(d.ID)] = d
	return d
}

// RoleDefinitions returns the tenant's role definitions sorted by id.
func (t *Tenant) RoleDefinitions() []RoleDefinition {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]RoleDefinition, 0, len(t.roleDefs))
	for _, d := range t.roleDefs {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b RoleDefinition) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// AddRoleAssignment adds or replaces an assignment and returns it. An empty
// ID is generated in Graph's style (see assignmentID); an empty
// DirectoryScopeID is "/". Neither the principal nor the role has to exist:
// assignments of deleted principals exist in real tenants too.
func (t *Tenant) AddRoleAssignment(a RoleAssignment) RoleAssignment {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addAssignmentLocked(a)
}

func (t *Tenant) addAssignmentLocked(a RoleAssignment) RoleAssignment {
	if a.DirectoryScopeID == "" {
		a.DirectoryScopeID = "/"
	}
	if a.ID == "" {
		a.ID = t.freeAssignmentIDLocked(a.RoleDefinitionID, a.PrincipalID)
	}
	if old, ok := t.assignments[a.ID]; ok {
		t.unindexLocked(old)
	} else {
		i, _ := slices.BinarySearch(t.assignmentIDs, a.ID)
		t.assignmentIDs = slices.Insert(t.assignmentIDs, i, a.ID)
	}
	t.assignments[a.ID] = a
	t.indexLocked(a)
	return a
}

// indexLocked and unindexLocked keep byPrincipal in step with assignments.
func (t *Tenant) indexLocked(a RoleAssignment) {
	key := strings.ToLower(a.PrincipalID)
	t.byPrincipal[key] = append(t.byPrincipal[key], a.ID)
}

func (t *Tenant) unindexLocked(a RoleAssignment) {
	key := strings.ToLower(a.PrincipalID)
	ids := slices.DeleteFunc(t.byPrincipal[key], func(id string) bool { return id == a.ID })
	if len(ids) == 0 {
		delete(t.byPrincipal, key)
		return
	}
	t.byPrincipal[key] = ids
}

// principalCandidatesLocked narrows a listing to the assignments of the
// principals a `principalId eq` or `principalId in (...)` clause names,
// sorted by id, so that listing a few principals among 100,000 assignments
// does not read them all. ok is false when no clause narrows the listing.
// Every candidate must still pass the whole filter.
func (t *Tenant) principalCandidatesLocked(f filter) (ids []string, ok bool) {
	for _, c := range f {
		if c.prop != "principalId" || c.op != "eq" && c.op != "in" {
			continue
		}
		var out []string
		for _, v := range c.values {
			out = append(out, t.byPrincipal[strings.ToLower(v)]...)
		}
		slices.Sort(out)
		return slices.Compact(out), true
	}
	return nil, false
}

// freeAssignmentIDLocked picks the first unused id of the series
// base-1, base-2, ...: Graph's ids for one role and principal end in -1, and
// the series keeps several scopes of the same pair apart.
func (t *Tenant) freeAssignmentIDLocked(roleID, principalID string) string {
	base := assignmentIDBase(roleID, principalID)
	for n := 1; ; n++ {
		id := fmt.Sprintf("%s-%d", base, n)
		if _, taken := t.assignments[id]; !taken {
			return id
		}
	}
}

// RemoveRoleAssignment deletes an assignment (and its ghost mark); it
// reports whether it existed.
func (t *Tenant) RemoveRoleAssignment(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.removeAssignmentLocked(id)
}

func (t *Tenant) removeAssignmentLocked(id string) bool {
	a, ok := t.assignments[id]
	if !ok {
		return false
	}
	t.unindexLocked(a)
	delete(t.assignments, id)
	delete(t.ghosts, id)
	delete(t.pim.managed, id)
	if i, found := slices.BinarySearch(t.assignmentIDs, id); found {
		t.assignmentIDs = slices.Delete(t.assignmentIDs, i, i+1)
	}
	return true
}

// RoleAssignment returns one assignment by id, ghosts included.
func (t *Tenant) RoleAssignment(id string) (RoleAssignment, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.assignments[id]
	return a, ok
}

// RoleAssignments returns every assignment, ghosts included, sorted by id.
func (t *Tenant) RoleAssignments() []RoleAssignment {
	return t.roleAssignmentsWhere(func(RoleAssignment) bool { return true })
}

// RoleAssignmentsOf returns the assignments held by one principal (id
// compared case-insensitively), ghosts included, sorted by id.
func (t *Tenant) RoleAssignmentsOf(principalID string) []RoleAssignment {
	t.mu.Lock()
	defer t.mu.Unlock()
	// From the index, not a scan: Generate asks this of every principal.
	ids := slices.Sorted(slices.Values(t.byPrincipal[strings.ToLower(principalID)]))
	out := make([]RoleAssignment, 0, len(ids))
	for _, id := range ids {
		out = append(out, t.assignments[id])
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (t *Tenant) roleAssignmentsWhere(keep func(RoleAssignment) bool) []RoleAssignment {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []RoleAssignment
	for _, id := range t.assignmentIDs {
		if a := t.assignments[id]; keep(a) {
			out = append(out, a)
		}
	}
	return out
}

// MarkGhost makes an existing assignment a ghost: still listed, but GET and
// DELETE by id answer 404, as when one replica has not yet seen a removal
// that another has. The first DELETE of a ghost (404) lets the replicas
// converge: the assignment leaves the listing too. It reports whether the
// assignment exists.
func (t *Tenant) MarkGhost(assignmentID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.assignments[assignmentID]; !ok {
		return false
	}
	t.ghosts[assignmentID] = true
	return true
}

// IsGhost reports whether an assignment is marked as a ghost.
func (t *Tenant) IsGhost(assignmentID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ghosts[assignmentID]
}

// User finds a user by object id or by UPN, both case-insensitively.
func (t *Tenant) User(idOrUPN string) (User, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.userLocked(idOrUPN)
}

func (t *Tenant) userLocked(idOrUPN string) (User, bool) {
	key := strings.ToLower(idOrUPN)
	if u, ok := t.users[key]; ok {
		return u, true
	}
	if id, ok := t.upns[key]; ok {
		return t.users[id], true
	}
	return User{}, false
}

// Users returns every user sorted by id.
func (t *Tenant) Users() []User {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedValues(t.users)
}

// ServicePrincipal finds a service principal by object id.
func (t *Tenant) ServicePrincipal(id string) (ServicePrincipal, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sp, ok := t.sps[strings.ToLower(id)]
	return sp, ok
}

// ServicePrincipals returns every service principal sorted by id.
func (t *Tenant) ServicePrincipals() []ServicePrincipal {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedValues(t.sps)
}

// Group finds a group by object id.
func (t *Tenant) Group(id string) (Group, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.groups[strings.ToLower(id)]
	return g, ok
}

// sortedValues returns a map's values ordered by key, for stable output.
func sortedValues[V any](m map[string]V) []V {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]V, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

// Requests returns a copy of the request log in arrival order.
func (t *Tenant) Requests() []Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.log)
}

// ResetRequests clears the request log and Stats, e.g. after a test's setup.
// Requests still being served when it is called are not counted afterwards.
func (t *Tenant) ResetRequests() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.logDropped += len(t.log)
	t.log = nil
	t.resetStatsLocked()
}

func (t *Tenant) resetStatsLocked() {
	t.stats = Stats{
		ByStatus:        map[int]int{},
		ByMethod:        map[string]int{},
		ByMethodStatus:  map[string]map[int]int{},
		BatchesByStatus: map[int]int{},
	}
}

// Stats returns a copy of the counters.
func (t *Tenant) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.stats
	s.ByStatus = maps.Clone(t.stats.ByStatus)
	s.ByMethod = maps.Clone(t.stats.ByMethod)
	s.BatchesByStatus = maps.Clone(t.stats.BatchesByStatus)
	s.ByMethodStatus = make(map[string]map[int]int, len(t.stats.ByMethodStatus))
	for m, byStatus := range t.stats.ByMethodStatus {
		s.ByMethodStatus[m] = maps.Clone(byStatus)
	}
	return s
}

// InFlight is how many requests, sub-requests of a $batch included, are
// being served: arrived and not yet answered, cut off or abandoned. Once
// the client is gone, it falls to zero when the tenant has done all it
// will do.
func (t *Tenant) InFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.inFlight
}

// Violations returns what the client did against the job's contract, in the
// order it was seen (see violation).
func (t *Tenant) Violations() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.violations)
}

// violation records a breach of the contract by the client: tests fail on a
// non-empty Violations() instead of each re-deriving the rule from the log.
func (t *Tenant) violation(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.violationLocked(format, args...)
}

func (t *Tenant) violationLocked(format string, args ...any) {
	t.violations = append(t.violations, fmt.Sprintf(format, args...))
}

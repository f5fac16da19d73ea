package simtenant

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Applications, service principals' app roles, their owners and the app
// roles assigned to principals: what the job's `apps` source reads and
// removes. GET /applications and GET /servicePrincipals take $select,
// $expand=owners and $top, and page with $skiptoken; an expanded owners
// list holds at most 20 objects and no nextLink, and a page with $expand
// holds at most 100 objects (Graph's known issue 13635 and what is
// reported of it; the page cap is *unconfirmed*). Graph lets an
// application's or service principal's last owner go: the client keeps it.

// Microsoft Graph's service principal: its appId and the ids of some of
// its application permissions (app roles), as in every tenant.
const (
	MicrosoftGraphAppID          = "00000003-0000-0000-c000-000000000000"
	AppRoleRoleManagementRWDir   = "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8" // RoleManagement.ReadWrite.Directory
	AppRoleDirectoryReadAll      = "7ab1d382-f21e-4acd-a863-ba3e13f7da61" // Directory.Read.All
	AppRoleUserReadAll           = "df021288-bdef-4463-88db-98f22de89214" // User.Read.All
	AppRoleApplicationRWAll      = "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9" // Application.ReadWrite.All
	PermApplicationWrite         = "Application.ReadWrite.All"
	PermAppRoleAssignment        = "AppRoleAssignment.ReadWrite.All"
	applicationType              = "microsoft.graph.application"
	appRoleAssignmentType        = "microsoft.graph.appRoleAssignment"
	expandedObjectsMax           = 20
	expandPageMax                = 100
	messageAppRoleExists         = "Permission being assigned already exists on the object."
	messageAppRoleNotFound       = "Permission being assigned was not found on application '%s'."
	messageAppRolePrincipalWrong = "The principalId in the request body must be the object the request is addressed to."
)

// ErrAlreadyAssigned: the principal holds that app role of that resource
// already.
var ErrAlreadyAssigned = errors.New("simtenant: app role already assigned")

// Application is an application object (an app registration).
type Application struct {
	ID          string
	AppID       string
	DisplayName string
}

// AppRole is a role a service principal (a resource) defines: an
// application permission when AllowedMemberTypes holds "Application", a
// role for users and groups when it holds "User".
type AppRole struct {
	ID                 string
	Value              string
	DisplayName        string
	AllowedMemberTypes []string
}

// AppRoleAssignment is an app role of a resource service principal granted
// to a user, a group or a service principal. PrincipalType is "User",
// "Group" or "ServicePrincipal" (derived from the principal when empty).
type AppRoleAssignment struct {
	ID            string
	PrincipalID   string
	PrincipalType string
	ResourceID    string
	AppRoleID     string
}

// appState is the tenant's applications, the app roles of its service
// principals, the owners of both and the app role assignments.
type appState struct {
	apps        map[string]Application       // by lower-case id
	roles       map[string][]AppRole         // by lower-case service principal id
	owners      membership                   // owned object (application or service principal) → owners
	assignments map[string]AppRoleAssignment // by id
}

func newAppState() appState {
	return appState{apps: map[string]Application{}, roles: map[string][]AppRole{}, owners: newMembership(),
		assignments: map[string]AppRoleAssignment{}}
}

// AddApplication adds or replaces an application; empty ID and AppID are
// generated.
func (t *Tenant) AddApplication(a Application) Application {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.ID == "" {
		a.ID = t.newGUIDLocked()
	}
	if a.AppID == "" {
		a.AppID = t.newGUIDLocked()
	}
	t.apps.apps[strings.ToLower(a.ID)] = a
	return a
}

// Applications returns every application sorted by id.
func (t *Tenant) Applications() []Application {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedValues(t.apps.apps)
}

// SetAppRoles sets the app roles a service principal defines; an empty
// role ID is derived from the principal and the value.
func (t *Tenant) SetAppRoles(spID string, roles []AppRole) {
	t.mu.Lock()
	defer t.mu.Unlock()
	roles = slices.Clone(roles)
	for i := range roles {
		if roles[i].ID == "" {
			roles[i].ID = guidFromHash(hash64(t.cfg.Seed, "appRole", strings.ToLower(spID), roles[i].Value))
		}
	}
	t.apps.roles[strings.ToLower(spID)] = roles
}

// AppRoles returns the app roles a service principal defines.
func (t *Tenant) AppRoles(spID string) []AppRole {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.apps.roles[strings.ToLower(spID)])
}

// AddMicrosoftGraph adds Microsoft Graph's service principal (appId
// 00000003-0000-0000-c000-000000000000) with some of its application
// permissions, or returns the one there is.
func (t *Tenant) AddMicrosoftGraph() ServicePrincipal {
	for _, sp := range t.ServicePrincipals() {
		if sp.AppID == MicrosoftGraphAppID {
			return sp
		}
	}
	sp := t.AddServicePrincipal(ServicePrincipal{ID: guidFromHash(hash64(t.cfg.Seed, "microsoftGraph", t.tenantID)),
		DisplayName: "Microsoft Graph", AppID: MicrosoftGraphAppID})
	app := []string{"Application"}
	t.SetAppRoles(sp.ID, []AppRole{
		{ID: AppRoleRoleManagementRWDir, Value: "RoleManagement.ReadWrite.Directory", DisplayName: "Read and write all directory RBAC settings", AllowedMemberTypes: app},
		{ID: AppRoleDirectoryReadAll, Value: "Directory.Read.All", DisplayName: "Read directory data", AllowedMemberTypes: app},
		{ID: AppRoleUserReadAll, Value: "User.Read.All", DisplayName: "Read all users' full profiles", AllowedMemberTypes: app},
		{ID: AppRoleApplicationRWAll, Value: "Application.ReadWrite.All", DisplayName: "Read and write all applications", AllowedMemberTypes: app},
	})
	return sp
}

// appObjectLocked reports whether a lower-case key is an application
// (app true) or a service principal.
func (t *Tenant) appObjectLocked(key string) (app, ok bool) {
	if _, found := t.apps.apps[key]; found {
		return true, true
	}
	_, found := t.sps[key]
	return false, found
}

// AddAppOwner makes a user or service principal an owner of an
// application or a service principal. It fails with ErrNotFound or
// ErrAlreadyOwner.
func (t *Tenant) AddAppOwner(objectID, ownerID string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addAppOwnerLocked(objectID, ownerID)
}

func (t *Tenant) addAppOwnerLocked(objectID, ownerID string) error {
	ok, ow := strings.ToLower(objectID), strings.ToLower(ownerID)
	if _, found := t.appObjectLocked(ok); !found {
		return fmt.Errorf("%w: application or service principal %s", ErrNotFound, objectID)
	}
	_, isUser := t.users[ow]
	_, isSP := t.sps[ow]
	if !isUser && !isSP {
		return fmt.Errorf("%w: owner %s", ErrNotFound, ownerID)
	}
	if t.apps.owners.members[ok][ow] {
		return fmt.Errorf("%w: %s of %s", ErrAlreadyOwner, ownerID, objectID)
	}
	t.apps.owners.add(ok, ow)
	return nil
}

// AppOwners returns the ids of an application's or service principal's
// owners, sorted.
func (t *Tenant) AppOwners(objectID string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.idsLocked(t.apps.owners.membersOf(strings.ToLower(objectID)))
}

// OwnedApps returns the ids of the applications and service principals an
// object owns, sorted.
func (t *Tenant) OwnedApps(ownerID string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, k := range t.apps.owners.groupsOf(strings.ToLower(ownerID)) {
		if a, ok := t.apps.apps[k]; ok {
			out = append(out, a.ID)
		} else if sp, ok := t.sps[k]; ok {
			out = append(out, sp.ID)
		}
	}
	slices.Sort(out)
	return out
}

// AddAppRoleAssignment grants an app role; an empty ID is derived from the
// principal, resource and role (a 43-character base64url text, as Graph's
// ids look), an empty PrincipalType from the principal. It fails with
// ErrNotFound for an unknown principal or resource, ErrAlreadyAssigned for
// a grant that exists.
func (t *Tenant) AddAppRoleAssignment(a AppRoleAssignment) (AppRoleAssignment, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addAppRoleAssignmentLocked(a)
}

func (t *Tenant) addAppRoleAssignmentLocked(a AppRoleAssignment) (AppRoleAssignment, error) {
	pk := strings.ToLower(a.PrincipalID)
	switch {
	case a.PrincipalType != "":
	case t.users[pk].ID != "":
		a.PrincipalType = "User"
	case t.sps[pk].ID != "":
		a.PrincipalType = "ServicePrincipal"
	case t.groups[pk].ID != "":
		a.PrincipalType = "Group"
	default:
		return a, fmt.Errorf("%w: principal %s", ErrNotFound, a.PrincipalID)
	}
	if _, ok := t.sps[strings.ToLower(a.ResourceID)]; !ok {
		return a, fmt.Errorf("%w: resource %s", ErrNotFound, a.ResourceID)
	}
	for _, old := range t.apps.assignments {
		if strings.EqualFold(old.PrincipalID, a.PrincipalID) && strings.EqualFold(old.ResourceID, a.ResourceID) &&
			strings.EqualFold(old.AppRoleID, a.AppRoleID) {
			return old, ErrAlreadyAssigned
		}
	}
	if a.ID == "" {
		for n := 0; a.ID == "" || t.apps.assignments[a.ID].ID != ""; n++ {
			var b [32]byte
			for i := range 4 {
				binary.BigEndian.PutUint64(b[8*i:], hash64(t.cfg.Seed, "appRoleAssignment", strings.ToLower(a.PrincipalID),
					strings.ToLower(a.ResourceID), strings.ToLower(a.AppRoleID), fmt.Sprint(n), fmt.Sprint(i)))
			}
			a.ID = base64.RawURLEncoding.EncodeToString(b[:])[:43]
		}
	}
	t.apps.assignments[a.ID] = a
	return a, nil
}

// AppRoleAssignments returns every app role assignment, sorted by id.
func (t *Tenant) AppRoleAssignments() []AppRoleAssignment {
	t.mu.Lock()
	defer t.mu.Unlock()
	return sortedValues(t.apps.assignments)
}

// AppRoleAssignmentsOf returns the app role assignments granted to a
// principal itself, sorted by id.
func (t *Tenant) AppRoleAssignmentsOf(principalID string) []AppRoleAssignment {
	return slices.DeleteFunc(t.AppRoleAssignments(), func(a AppRoleAssignment) bool {
		return !strings.EqualFold(a.PrincipalID, principalID)
	})
}

func (t *Tenant) addAppRoutes() {
	t.handle(http.MethodGet, "/v1.0/applications", t.listAppObjects(false))
	t.handle(http.MethodGet, "/v1.0/servicePrincipals", t.listAppObjects(true))
	for _, kind := range []string{"applications", "servicePrincipals"} {
		base := "/v1.0/" + kind + "/{id}/owners"
		t.handle(http.MethodGet, base, t.listAppOwners(kind))
		t.handle(http.MethodPost, base+"/$ref", t.addAppOwnerRef(kind))
		t.handle(http.MethodDelete, base+"/{owner}/$ref", t.removeAppOwnerRef(kind))
	}
	for _, kind := range []string{"users", "servicePrincipals"} {
		base := "/v1.0/" + kind + "/{id}/appRoleAssignments"
		t.handle(http.MethodGet, base, t.listAppRoleAssignments(kind))
		t.handle(http.MethodPost, base, t.postAppRoleAssignment(kind))
		t.handle(http.MethodDelete, base+"/{assignment}", t.deleteAppRoleAssignment(kind))
	}
}

// appsPermissionFor is the permission a call of this file needs, or "":
// reads Application.Read.All, changes of owners Application.ReadWrite.All,
// app role assignments AppRoleAssignment.ReadWrite.All (a user's listing
// too: Graph documents Directory.Read.All or that one).
func appsPermissionFor(method, lower string) string {
	switch {
	case strings.Contains(lower, "/approleassignments"):
		if method == http.MethodGet && strings.HasPrefix(lower, "/v1.0/serviceprincipals/") {
			return PermApplicationRead
		}
		return PermAppRoleAssignment
	case lower == "/v1.0/applications" || lower == "/v1.0/serviceprincipals" ||
		strings.HasPrefix(lower, "/v1.0/applications/") || strings.Contains(lower, "/owners") && strings.HasPrefix(lower, "/v1.0/serviceprincipals/"):
		if method == http.MethodGet {
			return PermApplicationRead
		}
		return PermApplicationWrite
	}
	return ""
}

func applicationProps() []string {
	return []string{"id", "appId", "displayName", "signInAudience", "createdDateTime"}
}

func appServicePrincipalProps() []string {
	return append(servicePrincipalProps(), "appRoles")
}

func (t *Tenant) appRolesJSONLocked(spKey string) []map[string]any {
	out := []map[string]any{}
	for _, r := range t.apps.roles[spKey] {
		out = append(out, map[string]any{
			"id": r.ID, "value": r.Value, "displayName": r.DisplayName, "description": r.DisplayName,
			"allowedMemberTypes": r.AllowedMemberTypes, "isEnabled": true, "origin": "Application",
		})
	}
	return out
}

// appEntryLocked renders the application or service principal of a key
// with all its properties.
func (t *Tenant) appEntryLocked(key string, sp bool) (dirEntry, bool) {
	if sp {
		s, ok := t.sps[key]
		if !ok {
			return dirEntry{}, false
		}
		all := servicePrincipalJSON(s, nil)
		all["appRoles"] = t.appRolesJSONLocked(key)
		return dirEntry{id: s.ID, kind: servicePrincipalType, all: all}, true
	}
	a, ok := t.apps.apps[key]
	if !ok {
		return dirEntry{}, false
	}
	return dirEntry{id: a.ID, kind: applicationType, all: map[string]any{
		"id": a.ID, "appId": a.AppID, "displayName": a.DisplayName, "signInAudience": "AzureADMyOrg", "createdDateTime": nil,
	}}, true
}

// listAppObjects serves GET /applications and GET /servicePrincipals:
// sorted by id, paged, $select, and $expand=owners (at most 20 owners an
// object, at most 100 objects a page).
func (t *Tenant) listAppObjects(sp bool) func(*call) {
	spec := collectionSpec{name: "applications", typeName: applicationType, props: applicationProps(), expands: []string{"owners"},
		filter: filterSyntax{ops: []string{"eq"}, props: []string{"id", "appId", "displayName"}}}
	if sp {
		spec = collectionSpec{name: "servicePrincipals", typeName: servicePrincipalType, props: appServicePrincipalProps(), expands: []string{"owners"},
			filter: filterSyntax{ops: []string{"eq"}, props: []string{"id", "appId", "displayName"}}}
	}
	return func(c *call) {
		lq, err := t.parseListQuery(c, spec, true)
		if err != nil {
			c.queryFailed(err)
			return
		}
		size := lq.size
		if lq.expand["owners"] {
			size = min(size, expandPageMax)
		}
		t.mu.Lock()
		var keys []string
		if sp {
			keys = slices.Collect(maps.Keys(t.sps))
		} else {
			keys = slices.Collect(maps.Keys(t.apps.apps))
		}
		var entries []dirEntry
		for _, k := range keys {
			if e, ok := t.appEntryLocked(k, sp); ok && lq.filter.matches(e.prop) {
				entries = append(entries, e)
			}
		}
		slices.SortFunc(entries, func(a, b dirEntry) int { return strings.Compare(a.id, b.id) })
		body := listBody{Context: graphContext(spec.name), Value: []map[string]any{}}
		last, more := "", false
		for _, e := range entries {
			if lq.after != "" && e.id <= lq.after {
				continue
			}
			if len(body.Value) == size {
				more = true
				break
			}
			v := e.render(lq.sel)
			delete(v, "@odata.type")
			if lq.expand["owners"] {
				owners := []map[string]any{}
				for _, o := range t.entriesLocked(t.apps.owners.membersOf(strings.ToLower(e.id))) {
					if len(owners) == expandedObjectsMax {
						break
					}
					owners = append(owners, o.render(nil))
				}
				v["owners"] = owners
			}
			body.Value = append(body.Value, v)
			last = e.id
		}
		t.mu.Unlock()
		if more {
			body.NextLink = nextLink(c.r, t.skipToken(last, lq.tokenKey))
		}
		c.ok(body)
	}
}

// appObjectParam finds the application or service principal of a
// /{kind}/{id}/… request, answering 404 when there is none.
func (t *Tenant) appObjectParam(c *call, kind string) (string, bool) {
	id := c.param("id")
	key := strings.ToLower(id)
	t.mu.Lock()
	app, ok := t.appObjectLocked(key)
	t.mu.Unlock()
	if !ok || app != (kind == "applications") {
		c.notFound(id)
		return "", false
	}
	return key, true
}

// listAppOwners serves GET /applications/{id}/owners and
// /servicePrincipals/{id}/owners: users and service principals, paged.
func (t *Tenant) listAppOwners(kind string) func(*call) {
	return func(c *call) {
		key, ok := t.appObjectParam(c, kind)
		if !ok {
			return
		}
		oq, ok := t.parseObjectQuery(c, slices.Concat(userProps(), servicePrincipalProps()), "microsoft.graph.directoryObject", kind+"/owners\x00"+key)
		if !ok {
			return
		}
		t.mu.Lock()
		entries := t.entriesLocked(t.apps.owners.membersOf(key))
		t.mu.Unlock()
		t.serveObjects(c, "directoryObjects", oq, entries)
	}
}

// addAppOwnerRef serves POST …/owners/$ref: 204; 400 when the ownership
// exists; 404 for an unknown object or owner.
func (t *Tenant) addAppOwnerRef(kind string) func(*call) {
	return func(c *call) {
		key, ok := t.appObjectParam(c, kind)
		if !ok {
			return
		}
		oid, ok := readRef(c)
		if !ok {
			return
		}
		err := t.AddAppOwner(key, oid)
		switch {
		case err == nil:
			c.noContent()
		case errors.Is(err, ErrAlreadyOwner):
			c.error(http.StatusBadRequest, "Request_BadRequest", messageOwnerAlready)
		default:
			c.notFound(oid)
		}
	}
}

// removeAppOwnerRef serves DELETE …/owners/{owner}/$ref: 204, the last
// owner too (Graph does not keep it); 404 when the object does not exist
// or the object is not an owner.
func (t *Tenant) removeAppOwnerRef(kind string) func(*call) {
	return func(c *call) {
		key, ok := t.appObjectParam(c, kind)
		if !ok {
			return
		}
		oid := c.param("owner")
		t.mu.Lock()
		removed := t.apps.owners.remove(key, strings.ToLower(oid))
		t.mu.Unlock()
		if !removed {
			c.notFound(oid)
			return
		}
		c.noContent()
	}
}

func appRoleAssignmentProps() []string {
	return []string{"id", "appRoleId", "createdDateTime", "deletedDateTime", "principalDisplayName", "principalId",
		"principalType", "resourceDisplayName", "resourceId"}
}

func (t *Tenant) appRoleAssignmentJSONLocked(a AppRoleAssignment, sel selection) map[string]any {
	principal := ""
	if e, ok := t.dirEntryLocked(strings.ToLower(a.PrincipalID)); ok {
		principal, _ = e.all["displayName"].(string)
	}
	return pick(map[string]any{
		"id":                   a.ID,
		"appRoleId":            a.AppRoleID,
		"createdDateTime":      graphTime(t.cfg.Now()),
		"deletedDateTime":      nil,
		"principalDisplayName": principal,
		"principalId":          a.PrincipalID,
		"principalType":        a.PrincipalType,
		"resourceDisplayName":  t.sps[strings.ToLower(a.ResourceID)].DisplayName,
		"resourceId":           a.ResourceID,
	}, sel)
}

// listAppRoleAssignments serves GET /users/{id}/appRoleAssignments (the
// user's own and, as Graph documents, those of the groups it is a direct
// member of) and GET /servicePrincipals/{id}/appRoleAssignments: sorted by
// id, paged; 404 for an object of another type.
func (t *Tenant) listAppRoleAssignments(kind string) func(*call) {
	return func(c *call) {
		key, ok := t.resolveParam(c, kind)
		if !ok {
			return
		}
		// A $skiptoken is bound to the principal listed.
		spec := collectionSpec{name: kind + "/appRoleAssignments\x00" + key, typeName: appRoleAssignmentType, props: appRoleAssignmentProps(),
			filter: filterSyntax{ops: []string{"eq"}, props: []string{"resourceId", "appRoleId"}}}
		lq, err := t.parseListQuery(c, spec, true)
		if err != nil {
			c.queryFailed(err)
			return
		}
		t.mu.Lock()
		holders := map[string]bool{key: true}
		if kind == "users" {
			for _, g := range t.members.groupsOf(key) {
				holders[g] = true
			}
		}
		body := listBody{Context: graphContext(kind + "('" + c.param("id") + "')/appRoleAssignments"), Value: []map[string]any{}}
		last, more := "", false
		for _, id := range slices.Sorted(maps.Keys(t.apps.assignments)) {
			a := t.apps.assignments[id]
			prop := func(name string) string {
				switch name {
				case "resourceId":
					return a.ResourceID
				case "appRoleId":
					return a.AppRoleID
				}
				return ""
			}
			if !holders[strings.ToLower(a.PrincipalID)] || !lq.filter.matches(prop) || lq.after != "" && id <= lq.after {
				continue
			}
			if len(body.Value) == lq.size {
				more = true
				break
			}
			body.Value = append(body.Value, t.appRoleAssignmentJSONLocked(a, lq.sel))
			last = id
		}
		t.mu.Unlock()
		if more {
			body.NextLink = nextLink(c.r, t.skipToken(last, lq.tokenKey))
		}
		c.ok(body)
	}
}

// postAppRoleAssignment serves POST …/appRoleAssignments: 201 with the
// assignment; 400 when principalId is not the addressed object, the
// resource defines no such app role, or the grant exists; 404 for an
// unknown object or resource.
func (t *Tenant) postAppRoleAssignment(kind string) func(*call) {
	return func(c *call) {
		key, ok := t.resolveParam(c, kind)
		if !ok {
			return
		}
		var body struct {
			PrincipalID string `json:"principalId"`
			ResourceID  string `json:"resourceId"`
			AppRoleID   string `json:"appRoleId"`
		}
		if !c.decodeJSON(&body) {
			return
		}
		if !strings.EqualFold(body.PrincipalID, key) {
			c.error(http.StatusBadRequest, "Request_BadRequest", messageAppRolePrincipalWrong)
			return
		}
		t.mu.Lock()
		defer t.mu.Unlock()
		rk := strings.ToLower(body.ResourceID)
		if _, ok := t.sps[rk]; !ok {
			c.notFound(body.ResourceID)
			return
		}
		if body.AppRoleID != "00000000-0000-0000-0000-000000000000" && !slices.ContainsFunc(t.apps.roles[rk], func(r AppRole) bool {
			return strings.EqualFold(r.ID, body.AppRoleID)
		}) {
			c.error(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf(messageAppRoleNotFound, t.sps[rk].AppID))
			return
		}
		a, err := t.addAppRoleAssignmentLocked(AppRoleAssignment{PrincipalID: body.PrincipalID, ResourceID: body.ResourceID, AppRoleID: body.AppRoleID})
		switch {
		case errors.Is(err, ErrAlreadyAssigned):
			c.error(http.StatusBadRequest, "Request_BadRequest", messageAppRoleExists)
		case err != nil:
			c.notFound(body.PrincipalID)
		default:
			out := t.appRoleAssignmentJSONLocked(a, nil)
			out["@odata.context"] = graphContext(kind + "('" + c.param("id") + "')/appRoleAssignments/$entity")
			c.created(out)
		}
	}
}

// deleteAppRoleAssignment serves DELETE …/appRoleAssignments/{id}: 204;
// 404 when the object or the assignment (granted to that object) does
// not exist.
func (t *Tenant) deleteAppRoleAssignment(kind string) func(*call) {
	return func(c *call) {
		key, ok := t.resolveParam(c, kind)
		if !ok {
			return
		}
		id := c.param("assignment")
		t.mu.Lock()
		a, found := t.apps.assignments[id]
		found = found && strings.EqualFold(a.PrincipalID, key)
		if found {
			delete(t.apps.assignments, id)
		}
		t.mu.Unlock()
		if !found {
			c.notFound(id)
			return
		}
		c.noContent()
	}
}

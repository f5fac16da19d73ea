package simtenant

// What a real tenant may lack, modelled (Config.NoP2, Config.Deny): the
// licence PIM needs, and permissions the application was not granted. And
// what the job reads to check its own rights at an Azure scope: role
// definitions with their actions.

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// The answers of a tenant without Entra ID P2 or Governance (SERVICE_FACTS,
// Licences).
const (
	codeLicence = "AadPremiumLicenseRequired"
	// messageGraphLicence is Graph's documented message on its PIM
	// endpoints.
	messageGraphLicence = "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license."
)

// Graph application permissions the tenant's token grants by default,
// and the permissions each kind of call takes (permissionsFor).
const (
	PermRoleManagement  = "RoleManagement.ReadWrite.Directory"
	PermRoleEligibility = "RoleEligibilitySchedule.ReadWrite.Directory"
	PermGroupMember     = "GroupMember.ReadWrite.All"
	PermGroupReadWrite  = "Group.ReadWrite.All"
	PermUserRead        = "User.Read.All"
	PermApplicationRead = "Application.Read.All"
	PermDirectoryRead   = "Directory.Read.All"
	PermGroupEligible   = "PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup"
	PermGroupActive     = "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"
)

// defaultRoles are the roles claim of the tenant's token, less Config.Deny.
func defaultRoles(deny []string) []string {
	roles := []string{PermRoleManagement, PermRoleEligibility, PermGroupMember, PermGroupReadWrite, PermUserRead,
		PermApplicationRead, PermDirectoryRead, PermGroupEligible, PermGroupActive, PermApplicationWrite, PermAppRoleAssignment}
	return slices.DeleteFunc(roles, func(r string) bool {
		return slices.ContainsFunc(deny, func(d string) bool { return strings.EqualFold(d, r) })
	})
}

// graphPIMPath reports whether a Graph path is a PIM endpoint (Entra
// roles' schedules, instances and requests; PIM for Groups).
func graphPIMPath(lower string) bool {
	for _, p := range []string{
		"/v1.0/rolemanagement/directory/roleeligibilityschedule",
		"/v1.0/rolemanagement/directory/roleassignmentschedule",
		"/v1.0/identitygovernance/privilegedaccess/",
	} {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	return false
}

// The permissions a call takes, any one of them, as the permissions
// tables of Graph's reference list them for an application (least
// privileged first). Directory.ReadWrite.All is left out: the tenant's
// token never holds it.
var (
	permsRoles       = []string{PermRoleManagement}
	permsEligibility = []string{PermRoleEligibility, PermRoleManagement}
	permsGroupRead   = []string{"GroupMember.Read.All", PermGroupMember, "Group.Read.All", PermGroupReadWrite, PermDirectoryRead}
	permsMemberWrite = []string{PermGroupMember, PermGroupReadWrite}
	permsOwnerWrite  = []string{PermGroupReadWrite}
	permsDirectory   = []string{PermDirectoryRead}
	permsSPRead      = []string{PermApplicationRead, "Application.ReadWrite.All", PermDirectoryRead}
	permsUserRead    = []string{PermUserRead, "User.ReadWrite.All", PermDirectoryRead}
	permsGroupElig   = []string{PermGroupEligible}
	permsGroupActive = []string{PermGroupActive}
)

// permissionsFor is the Graph application permissions a call takes, any
// one of them; nil for calls none of them gates here. GET
// /users/{id}/ownedObjects is documented "Application: Not supported":
// the tenant's token is an application's, so it is always refused
// (unsupported true).
func permissionsFor(method, lower string) (perms []string, unsupported bool) {
	segs := strings.Split(strings.TrimSuffix(lower, "/"), "/")
	// segs: "", "v1.0", collection, id, relation...
	rel := func(i int) string {
		if len(segs) > i {
			return segs[i]
		}
		return ""
	}
	switch {
	case strings.HasPrefix(lower, "/v1.0/rolemanagement/directory/roleeligibilityschedule"):
		return permsEligibility, false
	case strings.HasPrefix(lower, "/v1.0/rolemanagement/"):
		return permsRoles, false
	case strings.HasPrefix(lower, "/v1.0/identitygovernance/privilegedaccess/group/eligibility"):
		return permsGroupElig, false
	case strings.HasPrefix(lower, "/v1.0/identitygovernance/privilegedaccess/group/assignment"):
		return permsGroupActive, false
	case strings.HasPrefix(lower, "/v1.0/directory/deleteditems/"):
		return permsUserRead, false // the job reads deleted users only
	case strings.HasPrefix(lower, "/v1.0/directoryobjects/getbyids"):
		return permsDirectory, false
	case rel(2) == "groups" && rel(4) == "owners" && method != http.MethodGet:
		return permsOwnerWrite, false
	case rel(2) == "groups" && rel(4) == "members" && method != http.MethodGet:
		return permsMemberWrite, false
	case rel(2) == "groups":
		return permsGroupRead, false
	case rel(2) == "users" && rel(4) == "ownedobjects":
		return nil, true
	case rel(2) == "users" && rel(4) == "memberof":
		return permsDirectory, false
	case rel(2) == "serviceprincipals":
		return permsSPRead, false
	case rel(2) == "users":
		return permsUserRead, false
	}
	return nil, false
}

// refuseUnlicensedOrDenied answers what this tenant's licence or the
// application's permissions do not allow, before the request is routed;
// false means the request was answered.
func (t *Tenant) refuseUnlicensedOrDenied(c *call) bool {
	path, err := url.PathUnescape(c.r.URL.EscapedPath())
	if err != nil {
		return true
	}
	lower := strings.ToLower(path)
	if isARMPath(path) {
		// ARM's PIM endpoints answer a tenant without P2 themselves
		// (armNoP2).
		return true
	}
	if t.cfg.NoP2 && graphPIMPath(lower) {
		c.error(http.StatusBadRequest, codeLicence, messageGraphLicence)
		return false
	}
	perms, unsupported := permissionsFor(c.r.Method, lower)
	if p := appsPermissionFor(c.r.Method, lower); p != "" {
		perms = []string{p}
	}
	// What Graph answers an application calling an API documented
	// "Application: Not supported" is *unconfirmed*; this is its answer
	// to a token that lacks the permission.
	if unsupported || (perms != nil && !slices.ContainsFunc(perms, func(p string) bool { return slices.Contains(t.roles, p) })) {
		c.error(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return false
	}
	return true
}

// armRolePermissions are the actions and notActions of the built-in roles,
// as Azure defines them (abridged to what the job's rights depend on).
// A role added with AddARMRoleDefinition reads like Reader.
func armRolePermissions(roleGUID string) (actions, notActions []string) {
	switch strings.ToLower(roleGUID) {
	case ARMOwner:
		return []string{"*"}, nil
	case ARMContributor:
		return []string{"*"}, []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
			"Microsoft.Authorization/elevateAccess/Action", "Microsoft.Blueprint/blueprintAssignments/write",
			"Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action"}
	case ARMUserAccessAdministrator:
		return []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}, nil
	}
	return []string{"*/read"}, nil
}

// getARMRoleDefinition serves GET {scope}/providers/Microsoft.Authorization/roleDefinitions/{name}
// (RoleDefinitionsClient.Get and GetByID): the role and its permissions.
func (t *Tenant) getARMRoleDefinition(c *call) {
	_, scope, ok := t.armBegin(c, armRoleAssignmentVersions())
	if !ok {
		return
	}
	name := strings.ToLower(c.param("name"))
	t.mu.Lock()
	roleName, found := t.arm.roles[name]
	t.mu.Unlock()
	if !found {
		c.armError(http.StatusNotFound, "RoleDefinitionDoesNotExist", "The specified role definition with ID '"+name+"' does not exist.")
		return
	}
	actions, notActions := armRolePermissions(name)
	roleType := "BuiltInRole"
	if _, builtin := builtinARMRoles()[name]; !builtin {
		roleType = "CustomRole"
	}
	c.armJSON(http.StatusOK, map[string]any{
		"id":   ARMRoleDefinitionID(scope.path, name),
		"name": name,
		"type": "Microsoft.Authorization/roleDefinitions",
		"properties": map[string]any{
			"roleName":         roleName,
			"type":             roleType,
			"assignableScopes": []string{"/"},
			"permissions": []map[string]any{{
				"actions": actions, "notActions": notActions,
				"dataActions": []string{}, "notDataActions": []string{},
			}},
		},
	})
}

package graph

import "github.com/offboard/offboard/job"

// The Graph application permissions the job asks for. A kind names the
// least privileged one each call documents (offboard check also takes
// the larger ones that include it: preflight's implied map).
const (
	// PermUserKeys is what resolving the input's user keys (UPN, mail,
	// employee id) needs: GET /users with $filter.
	PermUserKeys = "User.Read.All"
	// PermDirectoryRead is optional. With it, a run of few principals
	// lists each one's memberships (POST /directoryObjects/getByIds and
	// GET /users/{id}/memberOf document Directory.Read.All for an
	// application); without it (403), the job lists every group's members
	// instead and no row fails for it.
	PermDirectoryRead = "Directory.Read.All"
)

// Kinds is the table of the kinds of access Graph's sources remove, for
// the wiring's job.Registry. Permissions are the application permissions
// the job's identity needs for each (offboard check reads them).
func Kinds() []job.Kind {
	const (
		roles = "RoleManagement.ReadWrite.Directory"
		// eligibility: listing roleEligibilitySchedules and posting
		// roleEligibilityScheduleRequests (RoleManagement.ReadWrite.Directory
		// includes it).
		eligibility = "RoleEligibilitySchedule.ReadWrite.Directory"
		// readMembers: the last-Global-Administrator guard reads the
		// members of the groups holding the role.
		readMembers = "GroupMember.Read.All"
		members     = "GroupMember.ReadWrite.All"
		// owners: DELETE (and restore's POST) /groups/{id}/owners/{id}/$ref
		// documents nothing narrower.
		owners    = "Group.ReadWrite.All"
		apps      = "Application.Read.All"
		eligGroup = "PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup"
		actGroup  = "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"
		appsWrite = "Application.ReadWrite.All"
		appRoles  = "AppRoleAssignment.ReadWrite.All"
	)
	groups := func(name, what string, perms ...string) job.Kind {
		return job.Kind{Name: name, Source: job.SourceGroups, What: what, Permissions: append([]string{members, roles, apps}, perms...)}
	}
	return []job.Kind{
		{Name: job.KindDirectoryRole, Source: job.SourceDirectory, What: "an active directory role assignment (a PIM-managed one is removed with adminRemove)", Permissions: []string{roles, readMembers}},
		{Name: job.KindDirectoryRoleEligibility, Source: job.SourcePIM, What: "a PIM eligibility for a directory role", Permissions: []string{eligibility}},
		groups(job.KindGroupMember, "a direct membership of a role-assignable group"),
		groups(job.KindGroupOwner, "an ownership of a role-assignable group", owners),
		groups(job.KindGroupEligibleMember, "a PIM for Groups eligible membership", eligGroup),
		groups(job.KindGroupEligibleOwner, "a PIM for Groups eligible ownership", eligGroup),
		groups(job.KindGroupActiveMember, "a PIM for Groups active membership", actGroup),
		groups(job.KindGroupActiveOwner, "a PIM for Groups active ownership", actGroup),
		groups(job.KindAzureGroupMember, "a direct membership of a group that holds Azure roles (with the azure source)"),
		// apps (apps.go): Application.ReadWrite.All lists applications
		// and service principals with their owners and removes an
		// ownership (Application.ReadWrite.OwnedBy removes only those of
		// the objects the job owns); AppRoleAssignment.ReadWrite.All lists
		// a user's app role assignments and removes any principal's, and
		// Application.Read.All reads a service principal's and the
		// resource's app roles.
		{Name: job.KindAppOwner, Source: job.SourceApps, What: "an ownership of an application (app registration)", Permissions: []string{appsWrite}},
		{Name: job.KindServicePrincipalOwner, Source: job.SourceApps, What: "an ownership of a service principal (enterprise application)", Permissions: []string{appsWrite}},
		{Name: job.KindAppRoleAssignment, Source: job.SourceApps, What: "an app role assigned to the principal: a service principal's application permission (such as Microsoft Graph's), or a user's app role on an enterprise application", Permissions: []string{appRoles, apps}},
	}
}

// groupKinds names the kinds of access to a group, as assignment ids end.
var groupKinds = map[string]string{
	kindMember:         job.KindGroupMember,
	kindOwner:          job.KindGroupOwner,
	kindEligibleMember: job.KindGroupEligibleMember,
	kindEligibleOwner:  job.KindGroupEligibleOwner,
	kindActiveMember:   job.KindGroupActiveMember,
	kindActiveOwner:    job.KindGroupActiveOwner,
}

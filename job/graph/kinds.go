package graph

import (
	"fmt"
	"sync"

	"github.com/offboard/offboard/job"
)

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

// access is one kind of access Graph's sources remove, as the adapter
// handles it: the kind as the registry knows it, the check of its ids
// where they enter the adapter (a listing's answer at CheckID, the journal
// at Restore), and, for a kind of access to a group, what sets it apart
// (groupAccess). How each source removes and restores its kinds reads
// this entry, never the shape of an id.
type access struct {
	job.Kind
	check func(job.Assignment) error
	group groupAccess
}

// accesses is the table of Graph's kinds of access (Kinds gives the
// registry its job.Kind half), made on first use.
func accesses() []access {
	table.once.Do(func() { table.accesses = makeAccesses() })
	return table.accesses
}

// table holds the table once made (a package variable whose initializer
// could not refer to the checks, which read the table).
var table struct {
	once     sync.Once
	accesses []access
}

func makeAccesses() []access {
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
	kind := func(name, source, what string, perms ...string) job.Kind {
		return job.Kind{Name: name, Source: source, What: what, Permissions: perms}
	}
	group := func(name, what string, g groupAccess, perms ...string) access {
		return access{Kind: kind(name, job.SourceGroups, what, append([]string{members, roles, apps}, perms...)...), check: checkGroupAccess, group: g}
	}
	return []access{
		{Kind: kind(job.KindDirectoryRole, job.SourceDirectory, "an active directory role assignment (a PIM-managed one is removed with adminRemove)", roles, readMembers),
			check: checkRoleObjectID},
		{Kind: kind(job.KindDirectoryRoleEligibility, job.SourcePIM, "a PIM eligibility for a directory role", eligibility),
			check: checkRoleObjectID},
		group(job.KindGroupMember, "a direct membership of a role-assignable group", groupAccess{ref: true, note: "group "}),
		group(job.KindGroupOwner, "an ownership of a role-assignable group", groupAccess{suffix: "owner", ref: true, owner: true, note: "owner of group "}, owners),
		group(job.KindGroupEligibleMember, "a PIM for Groups eligible membership", groupAccess{suffix: "eligible-member", eligible: true, note: "eligible member of group "}, eligGroup),
		group(job.KindGroupEligibleOwner, "a PIM for Groups eligible ownership", groupAccess{suffix: "eligible-owner", eligible: true, owner: true, note: "eligible owner of group "}, eligGroup),
		group(job.KindGroupActiveMember, "a PIM for Groups active membership", groupAccess{suffix: "active-member", note: "active member of group "}, actGroup),
		group(job.KindGroupActiveOwner, "a PIM for Groups active ownership", groupAccess{suffix: "active-owner", owner: true, note: "active owner of group "}, actGroup),
		group(job.KindAzureGroupMember, "a direct membership of a group that holds Azure roles (with the azure source)", groupAccess{ref: true, note: "group "}),
		// apps (apps.go): Application.ReadWrite.All lists applications
		// and service principals with their owners and removes an
		// ownership (Application.ReadWrite.OwnedBy removes only those of
		// the objects the job owns); AppRoleAssignment.ReadWrite.All lists
		// a user's app role assignments and removes any principal's, and
		// Application.Read.All reads a service principal's and the
		// resource's app roles.
		{Kind: kind(job.KindAppOwner, job.SourceApps, "an ownership of an application (app registration)", appsWrite),
			check: checkOwnership},
		{Kind: kind(job.KindServicePrincipalOwner, job.SourceApps, "an ownership of a service principal (enterprise application)", appsWrite),
			check: checkOwnership},
		{Kind: kind(job.KindAppRoleAssignment, job.SourceApps, "an app role assigned to the principal: a service principal's application permission (such as Microsoft Graph's), or a user's app role on an enterprise application", appRoles, apps),
			check: checkAppRoleAssignment},
	}
}

// Kinds is the table of the kinds of access Graph's sources remove, for
// the wiring's job.Registry. Permissions are the application permissions
// the job's identity needs for each (offboard check reads them).
func Kinds() []job.Kind {
	out := make([]job.Kind, len(accesses()))
	for i, a := range accesses() {
		out[i] = a.Kind
		out[i].Service = job.ServiceGraph
	}
	return out
}

// accessOf is the table's entry of a kind.
func accessOf(kind string) (access, bool) {
	for _, a := range accesses() {
		if a.Name == kind {
			return a, true
		}
	}
	return access{}, false
}

// checkKind is the one check of an assignment's ids where they enter a
// source: its kind is one of source's, and its ids are what its kind's
// check accepts.
func checkKind(source string, a job.Assignment) error {
	acc, ok := accessOf(a.Kind)
	if !ok || acc.Source != source {
		return fmt.Errorf("%q: %q is no kind of access the %s source removes", a.ID, a.Kind, source)
	}
	return acc.check(a)
}

package graph

import (
	"fmt"
	"regexp"

	"github.com/offboard/offboard/job"
)

// Graph's ids, as Graph issues them: objects (groups, users) have GUIDs;
// role assignment and eligibility schedule ids are base64url text with a
// suffix ("lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-1"). An id becomes a
// path segment of a DELETE (a role assignment's, a group's), so anything
// else ("..", a slash, a query) is refused before it enters the plan.
var roleObjectID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// directoryScope is a role's scope as Graph documents directoryScopeId:
// "/" (the tenant), "/administrativeUnits/{id}", or "/{id}" (an
// application's object id); an appScopeId, which the job reads in its
// place when set, is held to the same shapes.
var directoryScope = regexp.MustCompile(`(?i)^/(?:(?:administrativeUnits/)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$`)

// checkRoleObjectID checks a role assignment's or eligibility schedule's
// ids: its own, its role definition's (a GUID: a built-in role's template
// id or a custom role's id) and its scope's. The role definition id and
// the scope go into the body of an adminRemove request and into the
// report, so a formula or anything else is refused with the id.
func checkRoleObjectID(a job.Assignment) error {
	if !roleObjectID.MatchString(a.ID) {
		return fmt.Errorf("%q is not an id Graph issues for a role assignment or schedule", a.ID)
	}
	if !job.IsGUID(a.RoleDefinitionID) {
		return fmt.Errorf("%q: role definition id %q is not a GUID", a.ID, a.RoleDefinitionID)
	}
	if !directoryScope.MatchString(a.Scope) {
		return fmt.Errorf("%q: directory scope id %q is not one Graph issues", a.ID, a.Scope)
	}
	return nil
}

var (
	_ job.IDChecker = DirectoryRoles{}
	_ job.IDChecker = Eligibilities{}
	_ job.IDChecker = Memberships{}
	_ job.IDChecker = Apps{}
)

// CheckID implements job.IDChecker: the row's kind's check (checkKind).
func (s DirectoryRoles) CheckID(a job.Assignment) error { return checkKind(s.Name(), a) }

// CheckID implements job.IDChecker: the row's kind's check (checkKind).
func (s Eligibilities) CheckID(a job.Assignment) error { return checkKind(s.Name(), a) }

// CheckID implements job.IDChecker: the row's kind's check (checkKind).
// A membership found because the group holds Azure roles is refused too
// when ARM listed every one of those roles with ids the `azure` source
// refuses (azureIndex.refusedRow).
func (s Memberships) CheckID(a job.Assignment) error {
	if err := checkKind(s.Name(), a); err != nil {
		return err
	}
	if s.az != nil {
		return s.az.refusedRow(a.PrincipalID, groupOf(a.ID))
	}
	return nil
}

// CheckID implements job.IDChecker: the row's kind's check (checkKind).
func (s Apps) CheckID(a job.Assignment) error { return checkKind(s.Name(), a) }

// checkOwnership checks an ownership of an application or a service
// principal: the owned object and the principal are GUIDs, and the scope
// is the owned object's.
func checkOwnership(a job.Assignment) error {
	if !job.IsGUID(a.PrincipalID) {
		return fmt.Errorf("principal %q is not a GUID", a.PrincipalID)
	}
	if !job.IsGUID(a.ID) || a.Scope != ownerScope(a.Kind, a.ID) {
		return fmt.Errorf("owned object %q (scope %q) is not a GUID", a.ID, a.Scope)
	}
	return nil
}

// checkAppRoleAssignment checks an app role assignment: its id is one
// Graph issues, its principal, app role and resource GUIDs.
func checkAppRoleAssignment(a job.Assignment) error {
	if !job.IsGUID(a.PrincipalID) {
		return fmt.Errorf("principal %q is not a GUID", a.PrincipalID)
	}
	if !roleObjectID.MatchString(a.ID) {
		return fmt.Errorf("%q is not an id Graph issues for an app role assignment", a.ID)
	}
	if !job.IsGUID(a.RoleDefinitionID) || !appRoleAssignmentScope.MatchString(a.Scope) {
		return fmt.Errorf("%q: app role %q or resource %q is not a GUID", a.ID, a.RoleDefinitionID, a.Scope)
	}
	return nil
}

// checkPrincipals checks the principals' ids where they enter a source
// (Find): each is a GUID, the one shape that may go into a filter or a
// path.
func checkPrincipals(principals []job.Principal) error {
	for _, p := range principals {
		if !job.IsGUID(p.ID) {
			return fmt.Errorf("principal id %q is not a GUID", p.ID)
		}
	}
	return nil
}

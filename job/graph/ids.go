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

func checkRoleObjectID(a job.Assignment) error {
	if !roleObjectID.MatchString(a.ID) {
		return fmt.Errorf("%q is not an id Graph issues for a role assignment or schedule", a.ID)
	}
	return nil
}

var (
	_ job.IDChecker = DirectoryRoles{}
	_ job.IDChecker = Eligibilities{}
	_ job.IDChecker = Memberships{}
)

// CheckID implements job.IDChecker: a role assignment's id.
func (DirectoryRoles) CheckID(a job.Assignment) error { return checkRoleObjectID(a) }

// CheckID implements job.IDChecker: an eligibility schedule's id.
func (Eligibilities) CheckID(a job.Assignment) error { return checkRoleObjectID(a) }

// CheckID implements job.IDChecker: a group's object id, alone (a
// membership) or with the kind of access it names ("{group}/owner").
func (Memberships) CheckID(a job.Assignment) error {
	_, _, err := splitAssignmentID(a.ID, a.PrincipalID)
	return err
}

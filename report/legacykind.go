package report

import (
	"encoding/json"
	"strings"

	"github.com/offboard/offboard/job"
)

// legacyKind is the kind of a row a release before kinds wrote to its
// journal, derived once, when the journal is read, from what those
// releases encoded in the row: a group's kind of access in its assignment
// id's suffix, an Azure eligibility in its ARM path. No other code reads a
// kind out of an id. An empty source (no-assignments, invalid) has none.
func legacyKind(it job.Item) string {
	switch it.Source {
	case job.SourceDirectory:
		return job.KindDirectoryRole
	case job.SourcePIM:
		return job.KindDirectoryRoleEligibility
	case job.SourceAzure:
		if strings.Contains(strings.ToLower(it.AssignmentID), "/providers/microsoft.authorization/roleeligibilityschedules/") {
			return job.KindAzureRoleEligibility
		}
		return job.KindAzureRole
	case job.SourceGroups:
		_, suffix, _ := strings.Cut(it.AssignmentID, "/")
		switch suffix {
		case "owner":
			return job.KindGroupOwner
		case "eligible-member":
			return job.KindGroupEligibleMember
		case "eligible-owner":
			return job.KindGroupEligibleOwner
		case "active-member":
			return job.KindGroupActiveMember
		case "active-owner":
			return job.KindGroupActiveOwner
		case "":
			// A membership: of a role-assignable group (listed with
			// isAssignableToRole), or of a group holding Azure roles
			// (listed without it).
			var g struct {
				RoleAssignable *bool `json:"isAssignableToRole"`
			}
			if len(it.Raw) > 0 && json.Unmarshal(it.Raw, &g) == nil && (g.RoleAssignable == nil || !*g.RoleAssignable) {
				return job.KindAzureGroupMember
			}
			return job.KindGroupMember
		}
	}
	return ""
}

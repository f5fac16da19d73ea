package arm

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/offboard/offboard/job"
)

// The ids ARM hands out for what the source removes. An id becomes the
// path of a DELETE (DeleteByID puts it in the URL as it is) and a scope the
// path of a PUT, so anything else (a lock's id, a segment "..", a query) is
// refused before it enters the plan.
var (
	// segment is one name of a scope path: ARM's resource names, no
	// separators, no escapes, no query.
	segment = `[A-Za-z0-9_.()~-]+`
	guid    = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`
	// scopePattern: a management group, a subscription, a resource group,
	// or a resource below one (nested type/name pairs allowed).
	scopePattern = regexp.MustCompile(`(?i)^(?:` +
		`/providers/Microsoft\.Management/managementGroups/` + segment +
		`|/subscriptions/` + guid +
		`(?:/resourceGroups/` + segment +
		`(?:/providers/` + segment + `/` + segment + `/` + segment + `(?:/` + segment + `/` + segment + `)*)?)?` +
		`)$`)
	namePattern = regexp.MustCompile(`^` + guid + `$`)
)

const (
	assignmentsInfix   = "/providers/Microsoft.Authorization/roleAssignments/"
	eligibilitiesInfix = "/providers/Microsoft.Authorization/roleEligibilitySchedules/"
)

// CheckID implements job.IDChecker: the id must be a role assignment's,
// {scope}/providers/Microsoft.Authorization/roleAssignments/{guid}, or an
// eligibility schedule's, {scope}/providers/Microsoft.Authorization/
// roleEligibilitySchedules/{guid}, where scope is the scope the service
// listed it with and is a management group, subscription, resource group
// or resource (or the root scope "/").
func (*Source) CheckID(a job.Assignment) error { return checkID(a.ID, a.Scope) }

var _ job.IDChecker = (*Source)(nil)

func checkID(id, scope string) error {
	infix := assignmentsInfix
	if isEligibility(id) {
		infix = eligibilitiesInfix
	}
	i := strings.LastIndex(strings.ToLower(id), strings.ToLower(infix))
	if i < 0 {
		return fmt.Errorf("%q is neither a role assignment nor an eligibility schedule", id)
	}
	prefix, name := id[:i], id[i+len(infix):]
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%q: the name is not a GUID", id)
	}
	if prefix == "" && infix == eligibilitiesInfix {
		// Removed with a request at its scope: the root scope is none.
		return fmt.Errorf("%q: an eligibility schedule at the root scope", id)
	}
	if prefix != "" && !validScope(prefix) {
		return fmt.Errorf("%q: %q is not an ARM scope", id, prefix)
	}
	if !strings.EqualFold(strings.TrimSuffix(scope, "/"), prefix) {
		return fmt.Errorf("%q is not at the scope %q it was listed with", id, scope)
	}
	return nil
}

// validScope reports whether s is a scope path whose segments are plain
// names (no "." or ".." segment).
func validScope(s string) bool {
	if !scopePattern.MatchString(s) {
		return false
	}
	for _, seg := range strings.Split(s, "/") {
		if strings.Trim(seg, ".") == "" && seg != "" {
			return false
		}
	}
	return true
}

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
	// separators, no escapes, no query. Letters and digits are any
	// script's (\p{M}: their combining marks): a resource group may be
	// named "rg-münchen" or "東京"; the shape is checked, not the
	// alphabet.
	segment = `[\p{L}\p{M}\p{N}_.()~-]+`
	guid    = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`
	// scopeExpr: a management group, a subscription, a resource group, or a
	// resource below one (nested type/name pairs allowed).
	scopeExpr = `(?:` +
		`/providers/Microsoft\.Management/managementGroups/` + segment +
		`|/subscriptions/` + guid +
		`(?:/resourceGroups/` + segment +
		`(?:/providers/` + segment + `/` + segment + `/` + segment + `(?:/` + segment + `/` + segment + `)*)?)?` +
		`)`
	scopePattern = regexp.MustCompile(`(?i)^` + scopeExpr + `$`)
	namePattern  = regexp.MustCompile(`^` + guid + `$`)
	// roleDefinitionPattern: a role definition's id, tenant-wide
	// (/providers/Microsoft.Authorization/roleDefinitions/{guid}, as
	// listings at a management group give it) or under a scope (a
	// subscription's, a management group's, a resource group's).
	roleDefinitionPattern = regexp.MustCompile(`(?i)^(` + scopeExpr + `)?/providers/Microsoft\.Authorization/roleDefinitions/` + guid + `$`)
)

const (
	assignmentsInfix   = "/providers/Microsoft.Authorization/roleAssignments/"
	eligibilitiesInfix = "/providers/Microsoft.Authorization/roleEligibilitySchedules/"
)

// CheckID implements job.IDChecker: the row's kind's check (checkKind),
// and its scope must lie inside what the run lists (within).
func (s *Source) CheckID(a job.Assignment) error {
	if err := checkKind(s.Name(), a); err != nil {
		return err
	}
	if !s.resolved.Load() {
		return fmt.Errorf("%q: listed before the scopes were", a.ID)
	}
	if err := within(a.Scope, s.scopes); err != nil {
		return fmt.Errorf("%q: %w", a.ID, err)
	}
	return nil
}

var _ job.IDChecker = (*Source)(nil)

// checkRoleAssignment checks a role assignment: its id is
// {scope}/providers/Microsoft.Authorization/roleAssignments/{guid}, where
// scope is the scope the service listed it with and is a management
// group, subscription, resource group or resource (or the root scope
// "/"), and its role definition id is one (checkRoleDefinitionID).
func checkRoleAssignment(a job.Assignment) error {
	if err := checkID(a.ID, a.Scope, assignmentsInfix); err != nil {
		return err
	}
	if err := checkRoleDefinitionID(a.RoleDefinitionID); err != nil {
		return fmt.Errorf("%q: %w", a.ID, err)
	}
	return nil
}

// checkEligibilitySchedule checks an eligibility schedule as
// checkRoleAssignment checks a role assignment: {scope}/providers/
// Microsoft.Authorization/roleEligibilitySchedules/{guid}, never at the
// root scope (it is removed with a request at its scope).
func checkEligibilitySchedule(a job.Assignment) error {
	if err := checkID(a.ID, a.Scope, eligibilitiesInfix); err != nil {
		return err
	}
	if err := checkRoleDefinitionID(a.RoleDefinitionID); err != nil {
		return fmt.Errorf("%q: %w", a.ID, err)
	}
	return nil
}

// checkID checks an id made of a scope, infix and a GUID name, at the
// scope it was listed with.
func checkID(id, scope, infix string) error {
	i := strings.LastIndex(strings.ToLower(id), strings.ToLower(infix))
	if i < 0 {
		return fmt.Errorf("%q is not an id of %s", id, strings.TrimPrefix(infix, "/providers/Microsoft.Authorization/"))
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

// checkRoleDefinitionID reports whether id is a role definition's id as
// ARM gives it: it becomes the path of a GET (the role's name) and goes
// into the body of an AdminRemove request.
func checkRoleDefinitionID(id string) error {
	if !roleDefinitionPattern.MatchString(id) {
		return fmt.Errorf("%q is not a role definition id", id)
	}
	if i := strings.LastIndex(strings.ToLower(id), "/providers/microsoft.authorization/roledefinitions/"); i > 0 && !validScope(id[:i]) {
		return fmt.Errorf("%q: %q is not an ARM scope", id, id[:i])
	}
	return nil
}

// within reports whether an assignment at scope at lies inside what the
// run lists (listed: the resolved scopes): ARM answers a listing at a
// scope with what is at it, below it and above it, and nothing else is
// the job's to remove. A listing at /subscriptions/S1 that hands out an
// assignment in S2 is refused, so is one in another subscription's
// resource group or resource.
//
//   - The root scope "/" and any management group are accepted: they may be
//     ancestors of a listed scope, and the hierarchy above a subscription
//     is not read (reading it needs rights the job does not need
//     otherwise). A management group below a listed one is among the
//     resolved scopes anyway.
//   - A subscription, resource group or resource is accepted when it is a
//     resolved scope, lies below one, or is above one (a listed resource
//     group's subscription). The resolved scopes are what the run was
//     given, the subscriptions "all" listed (every one the identity can
//     see) and every descendant of a listed management group (its
//     management groups and subscriptions, from ARM's descendants
//     listing): so a subscription under a listed management group is
//     accepted exactly when that listing named it; one it did not name
//     (moved in since, or hidden from the identity) is a failed row, never
//     a DELETE: visible, and an operator who finds it belongs can name it
//     in --azure-scopes. Matching any resolved scope rather than the one listing
//     that returned the assignment keeps one assignment seen from several
//     listings one row, whichever came first; it removes nothing the run
//     would not remove from the other scope's own listing.
func within(at string, listed []scope) error {
	at = strings.ToLower(strings.TrimRight(at, "/"))
	if at == "" {
		return nil
	}
	if _, ok := managementGroupID(at); ok {
		return nil
	}
	if !strings.HasPrefix(at, "/subscriptions/") {
		return fmt.Errorf("scope %q is not an ARM scope", at)
	}
	for _, l := range listed {
		if l.group {
			continue
		}
		id := strings.ToLower(strings.TrimRight(l.id, "/"))
		if at == id || strings.HasPrefix(at, id+"/") || strings.HasPrefix(id, at+"/") {
			return nil
		}
	}
	return fmt.Errorf("scope %q lies outside the scopes listed", at)
}

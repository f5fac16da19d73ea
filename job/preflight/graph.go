package preflight

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/graph"
	"github.com/offboard/offboard/job/transport"
)

// needs is the Graph application permissions a part of the job needs: a
// source's, as the registry's kinds of access name them (graph.Kinds
// through app.Kinds: one table for --sources, check and the README), or
// "users" for resolving the input's user keys.
func (id Identity) needs(part string) []string {
	if part == "users" {
		return []string{graph.PermUserKeys}
	}
	if id.Kinds == nil {
		return nil
	}
	return id.Kinds.Permissions(part)
}

// graphImplied is, for a permission a kind names, the larger ones that
// include it: each call's permissions table in the Graph reference lists
// them as its higher privileged permissions. Any one of them will do.
var graphImplied = map[string][]string{
	// roleEligibilitySchedules and roleEligibilityScheduleRequests.
	"RoleEligibilitySchedule.ReadWrite.Directory": {"RoleManagement.ReadWrite.Directory"},
	// GET /groups/{id}/members.
	"GroupMember.Read.All": {"GroupMember.ReadWrite.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	// DELETE /groups/{id}/members/{id}/$ref.
	"GroupMember.ReadWrite.All": {"Group.ReadWrite.All", "Directory.ReadWrite.All"},
	// DELETE /groups/{id}/owners/{id}/$ref.
	"Group.ReadWrite.All":  {"Directory.ReadWrite.All"},
	"User.Read.All":        {"User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	"Application.Read.All": {"Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	// apps: removing an owner documents Application.ReadWrite.OwnedBy as
	// the least privileged (for the objects the job owns only) and
	// Directory.ReadWrite.All above Application.ReadWrite.All.
	"Application.ReadWrite.All": {"Application.ReadWrite.OwnedBy", "Directory.ReadWrite.All"},
}

// grantFix is the README's advice that grants an application permission
// to the job's identity.
func grantFix(perms []string) string {
	return "grant the application permission " + strings.Join(perms, " and ") +
		" to the job's identity, with admin consent (README, Deploy: Permissions)"
}

// Identity is the job's identity as its Graph token shows it.
type Identity struct {
	Self     string   // its object id
	Roles    []string // the token's roles claim, or its scp's scopes
	HasRoles bool     // false when the token has neither
	Claim    string   // "roles" (an application's token) or "scp" (a delegated one, such as az login's)
	// Kinds is the registry whose kinds name what each source needs.
	Kinds *job.Registry
}

// NewIdentity reads the permissions of a Graph token (PermissionsOf); kinds
// names what each source needs.
func NewIdentity(self, token string, kinds *job.Registry) Identity {
	roles, claim, ok := PermissionsOf(token)
	return Identity{Self: self, Roles: roles, HasRoles: ok, Claim: claim, Kinds: kinds}
}

// Graph judges a Graph part of the job (a source's name, or "users" for
// resolving the input's user keys) from the token's roles and what
// reading it as the job answered.
func (id Identity) Graph(part string, readErr error) Result {
	r := Result{Check: "source", Name: part, Status: OK}
	if part == "users" {
		r.Check = "permission"
	}
	need := id.needs(part)
	var lacking []string
	if id.HasRoles {
		for _, p := range need {
			if !hasPermission(id.Roles, p) {
				lacking = append(lacking, p)
			}
		}
	}
	var ue *job.UnavailableError
	var ge *transport.ServiceError
	switch {
	case len(lacking) > 0:
		r.Status, r.Detail, r.Fix = Missing, "the token's "+id.Claim+" lack "+strings.Join(lacking, ", "), grantFix(lacking)
	case errors.As(readErr, &ue):
		r.Status, r.Detail = Unavailable, ue.Reason
		r.Fix = "the tenant needs a Microsoft Entra ID P2 or Governance licence for PIM; without one there is nothing for " +
			part + " to remove: leave it out of --sources"
	case errors.As(readErr, &ge) && (ge.Status == http.StatusForbidden || ge.Status == http.StatusUnauthorized):
		r.Status, r.Detail, r.Fix = Missing, readErr.Error(), grantFix(need)
	case readErr != nil:
		r.Status, r.Detail = Error, readErr.Error()
	default:
		r.Detail = "read as the job (" + id.Self + ")"
		if !id.HasRoles {
			r.Detail += "; the token has no roles claim (nor scp): judged from the read alone"
		}
	}
	return r
}

// PermissionsOf reads what a JWT grants, without checking its signature:
// an application's token carries roles; a delegated one (az login's)
// carries scp, its scopes separated by spaces. claim says which; ok is
// false when the token has neither.
func PermissionsOf(token string) (perms []string, claim string, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, "", false
	}
	var claims struct {
		Roles *[]string `json:"roles"`
		Scp   *string   `json:"scp"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return nil, "", false
	}
	switch {
	case claims.Roles != nil:
		return *claims.Roles, "roles", true
	case claims.Scp != nil:
		return strings.Fields(*claims.Scp), "scp", true
	}
	return nil, "", false
}

// hasPermission reports whether the roles claim grants perm, itself or
// through a permission that includes it.
func hasPermission(roles []string, perm string) bool {
	for _, r := range roles {
		if strings.EqualFold(r, perm) || slices.ContainsFunc(graphImplied[perm], func(p string) bool { return strings.EqualFold(p, r) }) {
			return true
		}
	}
	return false
}

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
)

// graphNeeds is the Graph application permissions a part of the job needs:
// a source's, as its kinds of access name them (graph.Kinds), or "users"
// for resolving the input's user keys.
func graphNeeds(part string) []string {
	if part == "users" {
		return []string{"User.Read.All"}
	}
	r, err := job.NewRegistry(graph.Kinds())
	if err != nil {
		return nil
	}
	return r.Permissions(part)
}

// Those that hold a permission too (a larger one includes a smaller one).

var graphImplied = map[string][]string{
	"GroupMember.ReadWrite.All": {"Group.ReadWrite.All", "Directory.ReadWrite.All"},
	"User.Read.All":             {"User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	"Application.Read.All":      {"Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
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
	Roles    []string // the token's roles claim
	HasRoles bool     // false when the token has no roles claim
}

// NewIdentity reads the roles of a Graph token (see RolesOf).
func NewIdentity(self, token string) Identity {
	roles, ok := RolesOf(token)
	return Identity{Self: self, Roles: roles, HasRoles: ok}
}

// Graph judges a Graph part of the job (a source's name, or "users" for
// resolving the input's user keys) from the token's roles and what
// reading it as the job answered.
func (id Identity) Graph(part string, readErr error) Result {
	r := Result{Check: "source", Name: part, Status: OK}
	if part == "users" {
		r.Check = "permission"
	}
	need := graphNeeds(part)
	var lacking []string
	if id.HasRoles {
		for _, p := range need {
			if !hasPermission(id.Roles, p) {
				lacking = append(lacking, p)
			}
		}
	}
	var ue *job.UnavailableError
	var ge *graph.Error
	switch {
	case len(lacking) > 0:
		r.Status, r.Detail, r.Fix = Missing, "the token's roles lack "+strings.Join(lacking, ", "), grantFix(lacking)
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
			r.Detail += "; the token has no roles claim: judged from the read alone"
		}
	}
	return r
}

// RolesOf reads the roles claim of a JWT (the application permissions
// granted to the identity) without checking its signature; ok is false
// when the token has none (a static token, a managed identity's before
// any grant).
func RolesOf(token string) (roles []string, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var claims struct {
		Roles *[]string `json:"roles"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Roles == nil {
		return nil, false
	}
	return *claims.Roles, true
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

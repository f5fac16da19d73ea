package arm

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/offboard/offboard/job"
)

// access is one kind of access ARM's sources remove: the kind as the
// registry knows it, and the check of its ids where they enter the
// adapter (a listing's answer at CheckID, the journal at Restore). How a
// source removes and restores a row reads its kind, never its id's shape.
type access struct {
	job.Kind
	check func(job.Assignment) error
}

// accesses is the table of the kinds of access the `azure` and `keyvault`
// sources remove.
func accesses() []access {
	return []access{
		{Kind: job.Kind{Name: job.KindAzureRole, Source: job.SourceAzure, What: "an Azure RBAC role assignment",
			Permissions: []string{"Microsoft.Authorization/roleAssignments/read", ActionDeleteAssignment, "Microsoft.Authorization/roleDefinitions/read",
				ActionRequestAssignment}},
			check: checkRoleAssignment},
		{Kind: job.Kind{Name: job.KindAzureRoleEligibility, Source: job.SourceAzure, What: "a PIM eligibility for an Azure role",
			Permissions: []string{"Microsoft.Authorization/roleEligibilitySchedules/read", ActionRequestEligibility}},
			check: checkEligibilitySchedule},
		{Kind: job.Kind{Name: job.KindKeyVaultAccessPolicy, Source: job.SourceKeyVault, What: "an access policy entry of a Key Vault that uses the access-policy model",
			Permissions: []string{ActionReadVaults, ActionWriteAccessPolicies}},
			check: func(a job.Assignment) error { _, err := checkEntries(a); return err }},
	}
}

// Kinds is the table of the kinds of access the `azure` and `keyvault`
// sources remove, for the wiring's job.Registry, with the ARM actions the
// job's identity needs for each at every scope it cleans.
func Kinds() []job.Kind {
	var out []job.Kind
	for _, a := range accesses() {
		k := a.Kind
		k.Service = job.ServiceARM
		out = append(out, k)
	}
	return out
}

// checkKind is the one check of an assignment's ids where they enter a
// source: its kind is one of source's, and its ids are what its kind's
// check accepts.
func checkKind(source string, a job.Assignment) error {
	for _, acc := range accesses() {
		if acc.Name == a.Kind && acc.Source == source {
			return acc.check(a)
		}
	}
	return fmt.Errorf("%q: %q is no kind of access the %s source removes", a.ID, a.Kind, source)
}

// roleNames caches the role definitions' names a run has read, by
// the definition's GUID: each is read once (RoleDefinitionsClient.GetByID), and one
// that cannot be read is an empty name, never a failed row.
type roleNames struct {
	mu    sync.Mutex
	names map[string]*roleNameOnce
}

type roleNameOnce struct {
	once sync.Once
	name string
}

// roleNameOf is the name of the role definition id, read at most once a
// run.
func (s *Source) roleNameOf(ctx context.Context, id string) string {
	if id == "" {
		return ""
	}
	// A role has one GUID, the id's last segment, in every subscription
	// (built-in roles, and custom roles, whose names are unique in the
	// tenant): one read names it everywhere.
	k := strings.ToLower(id[strings.LastIndexByte(id, '/')+1:])
	s.roleNames.mu.Lock()
	if s.roleNames.names == nil {
		s.roleNames.names = map[string]*roleNameOnce{}
	}
	e := s.roleNames.names[k]
	if e == nil {
		e = &roleNameOnce{}
		s.roleNames.names[k] = e
	}
	s.roleNames.mu.Unlock()
	e.once.Do(func() { e.name = s.roleName(ctx, id) })
	return e.name
}

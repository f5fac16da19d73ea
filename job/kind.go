package job

import (
	"fmt"
	"slices"
)

// Kind is one kind of access a source removes: a directory role
// assignment, a PIM eligibility, a group membership or ownership, an Azure
// role assignment. Every Assignment and Item carries its kind's name, which
// the report's `kind` column, the journal and the logs show; nothing
// learns what a row is by parsing its id.
//
// Adapters declare their kinds in a table (graph.Kinds, arm.Kinds); the
// wiring builds one Registry from the tables, which every list of kinds and
// sources (--sources, check, the README's table) reads.
type Kind struct {
	// Name is the kind as the report's `kind` column spells it.
	Name string
	// Source is the --sources name that selects it.
	Source string
	// What says in words what the access is, for help and documentation.
	What string
	// Service is the API that lists and removes it (ServiceGraph,
	// ServiceARM): which token and endpoint a source needs, and what its
	// Permissions are.
	Service string
	// Permissions are what the job's identity needs to list and remove
	// it (Graph application permissions, or ARM actions).
	Permissions []string
}

// The services a kind of access lives in.
const (
	ServiceGraph = "graph" // Microsoft Graph
	ServiceARM   = "arm"   // Azure Resource Manager
)

// The kinds of access the sources remove, as the report names them.
const (
	KindDirectoryRole            = "directory-role"
	KindDirectoryRoleEligibility = "directory-role-eligibility"
	KindGroupMember              = "group-member"
	KindGroupOwner               = "group-owner"
	KindGroupEligibleMember      = "group-eligible-member"
	KindGroupEligibleOwner       = "group-eligible-owner"
	KindGroupActiveMember        = "group-active-member"
	KindGroupActiveOwner         = "group-active-owner"
	KindAzureGroupMember         = "azure-group-member"
	KindAzureRole                = "azure-role"
	KindAzureRoleEligibility     = "azure-role-eligibility"
	KindKeyVaultAccessPolicy     = "keyvault-access-policy"
)

// Registry is every kind of access a build removes, from the adapters'
// tables, in the order they were given.
type Registry struct {
	kinds []Kind
}

// NewRegistry builds the registry of the tables. A kind without a name or
// a source, or one named twice, is a programming error.
func NewRegistry(tables ...[]Kind) (*Registry, error) {
	r := &Registry{}
	for _, t := range tables {
		for _, k := range t {
			if k.Name == "" || k.Source == "" || k.Service == "" {
				return nil, fmt.Errorf("job: kind %q of source %q: a kind needs a name, a source and a service", k.Name, k.Source)
			}
			if s := r.Service(k.Source); s != "" && s != k.Service {
				return nil, fmt.Errorf("job: kind %q: source %q has kinds on %s and on %s", k.Name, k.Source, s, k.Service)
			}
			if _, dup := r.Lookup(k.Name); dup {
				return nil, fmt.Errorf("job: kind %q is registered twice", k.Name)
			}
			r.kinds = append(r.kinds, k)
		}
	}
	return r, nil
}

// Lookup returns the kind named name.
func (r *Registry) Lookup(name string) (Kind, bool) {
	i := slices.IndexFunc(r.kinds, func(k Kind) bool { return k.Name == name })
	if i < 0 {
		return Kind{}, false
	}
	return r.kinds[i], true
}

// Kinds returns every registered kind.
func (r *Registry) Kinds() []Kind { return slices.Clone(r.kinds) }

// Sources returns the sources the kinds belong to, each once, in the order
// of their first kind.
func (r *Registry) Sources() []string {
	var out []string
	for _, k := range r.kinds {
		if !slices.Contains(out, k.Source) {
			out = append(out, k.Source)
		}
	}
	return out
}

// Service returns the service a source's kinds live in ("" for a source
// the registry does not know).
func (r *Registry) Service(source string) string {
	for _, k := range r.kinds {
		if k.Source == source {
			return k.Service
		}
	}
	return ""
}

// OfSource returns the kinds a source removes.
func (r *Registry) OfSource(source string) []Kind {
	var out []Kind
	for _, k := range r.kinds {
		if k.Source == source {
			out = append(out, k)
		}
	}
	return out
}

// Permissions returns what a source's kinds need, each once.
func (r *Registry) Permissions(source string) []string {
	var out []string
	for _, k := range r.OfSource(source) {
		for _, p := range k.Permissions {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// The `apps` source (issue 26) and its kinds of access: what a departing
// principal holds over applications and service principals.
const (
	SourceApps                = "apps"
	KindAppOwner              = "app-owner"
	KindServicePrincipalOwner = "service-principal-owner"
	KindAppRoleAssignment     = "app-role-assignment"
)

package app

import (
	"slices"
	"sync"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/arm"
	"github.com/offboard/offboard/job/graph"
)

// Kinds is the registry of every kind of access this build removes, from
// the adapters' tables: --sources, check's permissions and the README's
// table of kinds all come from it.
func Kinds() *job.Registry { return registry() }

// registry is built once: the tables are the code's own.
var registry = sync.OnceValue(func() *job.Registry {
	r, err := job.NewRegistry(graph.Kinds(), arm.Kinds())
	if err != nil {
		panic(err) // TestKindsRegistry holds the tables
	}
	return r
})

// KnownSources are the sources of CONTRACT.md this build implements, in
// the order a run lists them.
func KnownSources() []string { return Kinds().Sources() }

// OnARM reports whether a source lists and removes through Azure Resource
// Manager (azure, keyvault): it needs --azure-scopes, an ARM token of the
// job's tenant, and the ARM endpoint.
func OnARM(source string) bool { return Kinds().Service(source) == job.ServiceARM }

// UsesARM reports whether any of sources is on ARM.
func UsesARM(sources []string) bool { return slices.ContainsFunc(sources, OnARM) }

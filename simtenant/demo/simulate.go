package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/simtenant"
)

// Simulation is `offboard simulate`: a simulated tenant of a shape served
// until its context ends, for trying the job by hand and for benchmarks.
type Simulation struct {
	Config     simtenant.Config
	Principals int
	// Shape is sample, bench (Keys id or hr, PerPrincipal directory role
	// assignments each) or azure (over Subscriptions subscriptions).
	Shape, Keys                 string
	PerPrincipal, Subscriptions int
	// Listen is the address served; CSV where the sample CSV goes ("": a
	// temporary file).
	Listen, CSV string
	Out, Err    io.Writer
}

// Serve serves the tenant until ctx ends and returns the exit code.
func (s Simulation) Serve(ctx context.Context) int {
	var (
		tenant  *simtenant.Tenant
		sample  simtenant.Sample
		sources = Sources
	)
	switch s.Shape {
	case "sample":
		tenant, sample = simtenant.Generate(s.Config, s.Principals)
	case "bench":
		switch s.Keys {
		case "id":
			tenant, sample = simtenant.GenerateUniform(s.Config, s.Principals, s.PerPrincipal)
		case "hr":
			tenant, sample = simtenant.GenerateUniformKeyed(s.Config, s.Principals, s.PerPrincipal)
		default:
			fmt.Fprintf(s.Err, "offboard simulate: --keys %q: id or hr\n", s.Keys)
			return exitUsage
		}
		sources = []string{job.SourceDirectory}
	case "azure":
		tenant, sample = simtenant.GenerateAzureUniform(s.Config, s.Principals, s.Subscriptions)
		sources = []string{job.SourceAzure}
	default:
		fmt.Fprintf(s.Err, "offboard simulate: --shape %q: sample, bench or azure\n", s.Shape)
		return exitUsage
	}
	// The job's identity may remove role assignments everywhere, as the
	// deployment guide grants it (offboard check reads this).
	tenant.AddARMRoleAssignment(simtenant.ARMRoleAssignment{Scope: tenant.RootManagementGroup(),
		RoleDefinitionID: simtenant.ARMUserAccessAdministrator, PrincipalID: tenant.CallerID(), PrincipalType: "ServicePrincipal"})
	if s.CSV == "" {
		f, err := os.CreateTemp("", "offboard-sample-*.csv")
		if err != nil {
			fmt.Fprintf(s.Err, "offboard simulate: %v\n", err)
			return exitUsage
		}
		s.CSV = f.Name()
		_ = f.Close()
	}
	if err := os.WriteFile(s.CSV, sample.CSV, 0o640); err != nil {
		fmt.Fprintf(s.Err, "offboard simulate: %v\n", err)
		return exitUsage
	}
	srv, err := tenant.Start(ctx, s.Listen)
	if err != nil {
		fmt.Fprintf(s.Err, "offboard simulate: %v\n", err)
		return exitUsage
	}
	defer srv.Close()
	fmt.Fprintf(s.Out, "Simulated tenant serving Graph (/v1.0) and ARM at %s\n", srv.URL())
	fmt.Fprintf(s.Out, "Token:      %s\n", tenant.Token())
	fmt.Fprintf(s.Out, "Sample CSV: %s (%d departing principals; protect %s)\n", s.CSV, len(sample.Departing), strings.Join(sample.Protect, ","))
	fmt.Fprintf(s.Out, "Stats:      GET %s%s\n\n", srv.URL(), simtenant.StatsPath)
	try := fmt.Sprintf("OFFBOARD_STATIC_TOKEN=%s offboard run --input %s --report ./report --graph-endpoint %s --arm-endpoint %s --sources %s",
		tenant.Token(), s.CSV, srv.URL(), srv.URL(), strings.Join(sources, ","))
	if slices.Contains(sources, job.SourceAzure) {
		try += " --azure-scopes all"
	}
	if len(sample.Protect) > 0 {
		try += " --protect " + strings.Join(sample.Protect, ",")
	}
	if n := len(sample.Removable); n > 1000 {
		try += fmt.Sprintf(" --max-removals %d", n)
	}
	fmt.Fprintf(s.Out, "Try:\n  %s\n", try)
	<-ctx.Done()
	st := tenant.Stats()
	fmt.Fprintf(s.Out, "\nServed %d requests (%d throttled, %d faults).\n", st.Requests, st.Throttled, st.Faults)
	// The same figures as GET StatsPath, for a script that stops the
	// tenant and reads what it saw.
	if b, err := json.Marshal(simtenant.StatsReport{Stats: st, Violations: tenant.Violations()}); err == nil {
		fmt.Fprintf(s.Out, "%s\n", b)
	}
	return exitOK
}

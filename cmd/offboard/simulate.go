package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/simtenant"
	"github.com/offboard/offboard/simtenant/demo"
)

// runSimulate is `offboard simulate`: a simulated tenant served until
// interrupted, for trying the job by hand and for benchmarks.
func runSimulate(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	var tf simtenant.Flags
	tf.Register(fs, 500)
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve on (loopback; port 0 picks a free one)")
	csvPath := fs.String("csv", "", "where to write the sample CSV (default: a temporary file)")
	shape := fs.String("shape", "sample", "sample: a realistic tenant whose CSV shows every status; "+
		"bench: --principals users each holding exactly --per-principal directory role assignments and nothing else; "+
		"azure: --principals principals each holding one Azure role assignment (one in three also an eligibility) in one of --subscriptions subscriptions")
	perPrincipal := fs.Int("per-principal", 10, "with --shape bench: directory role assignments of each principal")
	keys := fs.String("keys", "id", "with --shape bench: what the CSV names users by: id (principal_id), or hr "+
		"(user_principal_name, mail and employee_id in turn)")
	subscriptions := fs.Int("subscriptions", 10, "with --shape azure: Azure subscriptions")
	filterRequired := fs.Bool("arm-filter-required", false, "ARM role assignment and eligibility listings without a $filter answer 400 (a client then lists one principal at a time)")
	noP2 := fs.Bool("no-p2", false, "a tenant without Entra ID P2 or Governance: Graph's and ARM's PIM endpoints answer 400 AadPremiumLicenseRequired")
	var deny stringList
	fs.Var(&deny, "deny", "withhold this Graph application permission (repeatable): its calls answer 403 Authorization_RequestDenied and the token lacks it")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	cfg, err := tf.Config()
	cfg.NoP2, cfg.Deny = *noP2, deny
	cfg.ARM.FilterRequired = *filterRequired
	if err == nil && (*perPrincipal < 0 || *perPrincipal > 1000) {
		err = fmt.Errorf("--per-principal %d: between 0 and 1000", *perPrincipal)
	}
	if err != nil {
		fmt.Fprintf(sio.err, "offboard simulate: %v\n", err)
		return exitUsage
	}
	var (
		tenant  *simtenant.Tenant
		sample  simtenant.Sample
		sources = demo.Sources
	)
	switch *shape {
	case "sample":
		tenant, sample = simtenant.Generate(cfg, tf.Principals)
	case "bench":
		switch *keys {
		case "id":
			tenant, sample = simtenant.GenerateUniform(cfg, tf.Principals, *perPrincipal)
		case "hr":
			tenant, sample = simtenant.GenerateUniformKeyed(cfg, tf.Principals, *perPrincipal)
		default:
			fmt.Fprintf(sio.err, "offboard simulate: --keys %q: id or hr\n", *keys)
			return exitUsage
		}
		sources = []string{job.SourceDirectory}
	case "azure":
		tenant, sample = simtenant.GenerateAzureUniform(cfg, tf.Principals, *subscriptions)
		sources = []string{job.SourceAzure}
	default:
		fmt.Fprintf(sio.err, "offboard simulate: --shape %q: sample, bench or azure\n", *shape)
		return exitUsage
	}
	// The job's identity may remove role assignments everywhere, as the
	// deployment guide grants it (offboard check reads this).
	tenant.AddARMRoleAssignment(simtenant.ARMRoleAssignment{Scope: tenant.RootManagementGroup(),
		RoleDefinitionID: simtenant.ARMUserAccessAdministrator, PrincipalID: tenant.CallerID(), PrincipalType: "ServicePrincipal"})
	if *csvPath == "" {
		f, err := os.CreateTemp("", "offboard-sample-*.csv")
		if err != nil {
			fmt.Fprintf(sio.err, "offboard simulate: %v\n", err)
			return exitUsage
		}
		*csvPath = f.Name()
		_ = f.Close()
	}
	if err := os.WriteFile(*csvPath, sample.CSV, 0o640); err != nil {
		fmt.Fprintf(sio.err, "offboard simulate: %v\n", err)
		return exitUsage
	}
	srv, err := tenant.Start(ctx, *listen)
	if err != nil {
		fmt.Fprintf(sio.err, "offboard simulate: %v\n", err)
		return exitUsage
	}
	defer srv.Close()
	fmt.Fprintf(sio.out, "Simulated tenant serving Graph (/v1.0) and ARM at %s\n", srv.URL())
	fmt.Fprintf(sio.out, "Token:      %s\n", tenant.Token())
	fmt.Fprintf(sio.out, "Sample CSV: %s (%d departing principals; protect %s)\n", *csvPath, len(sample.Departing), strings.Join(sample.Protect, ","))
	fmt.Fprintf(sio.out, "Stats:      GET %s%s\n\n", srv.URL(), simtenant.StatsPath)
	try := fmt.Sprintf("OFFBOARD_STATIC_TOKEN=%s offboard run --input %s --report ./report --graph-endpoint %s --arm-endpoint %s --sources %s",
		tenant.Token(), *csvPath, srv.URL(), srv.URL(), strings.Join(sources, ","))
	if slices.Contains(sources, job.SourceAzure) {
		try += " --azure-scopes all"
	}
	if len(sample.Protect) > 0 {
		try += " --protect " + strings.Join(sample.Protect, ",")
	}
	if n := len(sample.Removable); n > 1000 {
		try += fmt.Sprintf(" --max-removals %d", n)
	}
	fmt.Fprintf(sio.out, "Try:\n  %s\n", try)
	<-ctx.Done()
	st := tenant.Stats()
	fmt.Fprintf(sio.out, "\nServed %d requests (%d throttled, %d faults).\n", st.Requests, st.Throttled, st.Faults)
	// The same figures as GET StatsPath, for a script that stops the
	// tenant and reads what it saw.
	if b, err := json.Marshal(simtenant.StatsReport{Stats: st, Violations: tenant.Violations()}); err == nil {
		fmt.Fprintf(sio.out, "%s\n", b)
	}
	return exitOK
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

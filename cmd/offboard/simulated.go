package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/simtenant"
)

// tenantFlags are the simulated tenant's knobs, shared by demo and simulate.
type tenantFlags struct {
	seed        uint64
	principals  int
	latency     time.Duration
	jitter      time.Duration
	faultRate   float64
	writeRate   float64
	writeBurst  int
	readRU      int
	pageSize    int
	armPageSize int
	legacyError bool
	profile     string
}

func (tf *tenantFlags) register(fs *flag.FlagSet, principals int) {
	fs.Uint64Var(&tf.seed, "seed", 1, "seed of the generated tenant, its faults and its ids")
	fs.IntVar(&tf.principals, "principals", principals, "departing principals in the sample CSV")
	fs.DurationVar(&tf.latency, "latency", 0, "added to every answer")
	fs.DurationVar(&tf.jitter, "jitter", 0, "random extra latency, up to this")
	fs.Float64Var(&tf.faultRate, "fault-rate", 0, "share of requests answered 500/502/503/504 (0 to 1)")
	fs.Float64Var(&tf.writeRate, "write-rate", 20, "Graph write bucket refill per second (negative: no limit)")
	fs.IntVar(&tf.writeBurst, "write-burst", 3000, "Graph write bucket size")
	fs.IntVar(&tf.readRU, "read-ru", 8000, "Graph read resource units per 10 s (negative: no limit)")
	fs.IntVar(&tf.pageSize, "page-size", 100, "page size of lists")
	fs.IntVar(&tf.armPageSize, "arm-page-size", 100, "page size of ARM lists (nextLink)")
	fs.BoolVar(&tf.legacyError, "legacy-errors", false, `answer errors in the older {"odata.error":...} shape`)
	fs.StringVar(&tf.profile, "profile", "default", "service model: default (the flags above), or strict (a Graph write "+
		"bucket of 100/s holding 100, 20ms a round trip, x-ms-throttle-limit-percentage now and then above 0.8 of the "+
		"budget; replaces --write-rate, --write-burst, --latency and --jitter)")
}

func (tf *tenantFlags) config() (simtenant.Config, error) {
	if tf.faultRate < 0 || tf.faultRate > 1 {
		return simtenant.Config{}, fmt.Errorf("--fault-rate %v: between 0 and 1", tf.faultRate)
	}
	if tf.principals < 1 || tf.principals > 1_000_000 {
		return simtenant.Config{}, fmt.Errorf("--principals %d: between 1 and 1000000", tf.principals)
	}
	cfg := simtenant.Config{
		Seed: tf.seed, Latency: tf.latency, Jitter: tf.jitter, FaultRate: tf.faultRate,
		WriteRate: tf.writeRate, WriteBurst: tf.writeBurst, ReadRU: tf.readRU,
		PageSize: tf.pageSize, LegacyErrors: tf.legacyError, ARM: simtenant.ARMConfig{PageSize: tf.armPageSize},
	}
	cfg, err := simtenant.WithProfile(cfg, tf.profile)
	if err != nil {
		return simtenant.Config{}, fmt.Errorf("--profile: %w", err)
	}
	return cfg, nil
}

// runDemo is `offboard demo`: the whole job against an in-process
// simulated tenant, with a generated sample CSV.
func runDemo(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	var tf tenantFlags
	tf.register(fs, 24)
	dir := fs.String("dir", "", "where the sample CSV and the report go (default: a new temporary directory)")
	logFormat := fs.String("log-format", "console", "json or console")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	cfg, err := tf.config()
	if err != nil {
		fmt.Fprintf(sio.err, "offboard demo: %v\n", err)
		return exitUsage
	}
	if *dir == "" {
		if *dir, err = os.MkdirTemp("", "offboard-demo-"); err != nil {
			fmt.Fprintf(sio.err, "offboard demo: %v\n", err)
			return exitUsage
		}
	}
	tenant, sample := simtenant.Generate(cfg, tf.principals)
	srv, err := tenant.Start(ctx, "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(sio.err, "offboard demo: starting the simulated tenant: %v\n", err)
		return exitUsage
	}
	defer srv.Close()
	if err := os.MkdirAll(*dir, 0o750); err != nil {
		fmt.Fprintf(sio.err, "offboard demo: %v\n", err)
		return exitUsage
	}
	input := filepath.Join(*dir, "departures.csv")
	if err := os.WriteFile(input, sample.CSV, 0o640); err != nil {
		fmt.Fprintf(sio.err, "offboard demo: %v\n", err)
		return exitUsage
	}
	reportDir := filepath.Join(*dir, "report")
	runArgs := []string{
		"--input", input, "--report", reportDir,
		"--graph-endpoint", srv.URL(),
		"--arm-endpoint", srv.URL(),
		"--sources", strings.Join(demoSources, ","),
		"--azure-scopes", "all",
		"--protect", strings.Join(sample.Protect, ","),
		"--log-format", *logFormat,
	}
	fmt.Fprintf(sio.out, "Simulated tenant at %s (seed %d): %d departing principals; %d directory role assignments, %d PIM eligibilities, %d groups, %d Azure role assignments in %d subscriptions.\n",
		srv.URL(), tf.seed, len(sample.Departing), len(tenant.RoleAssignments()), len(tenant.Eligibilities()),
		len(tenant.Groups()), len(tenant.ARMRoleAssignments()), len(sample.ARM.Scopes))
	fmt.Fprintf(sio.out, "Running: offboard run %s\n\n", strings.Join(runArgs, " "))
	env := func(name string) (string, bool) {
		switch name {
		case "OFFBOARD_STATIC_TOKEN":
			return tenant.Token(), true
		case journalKeyEnv, journalKeyFileEnv:
			return sio.env(name)
		}
		return "", false
	}
	code := runJob(ctx, runArgs, stdio{in: sio.in, out: sio.out, err: sio.err, env: env}, false)

	summary, err := report.ReadSummary(reportDir)
	if err != nil {
		fmt.Fprintf(sio.err, "offboard demo: the run left no summary: %v\n", err)
		return max(code, exitRowsFailed)
	}
	fmt.Fprintf(sio.out, "\nThe job exited %d.", code)
	if code == exitRowsFailed {
		fmt.Fprint(sio.out, " (The sample CSV has invalid lines on purpose.)")
	}
	fmt.Fprintln(sio.out)
	tw := tabwriter.NewWriter(sio.out, 2, 4, 2, ' ', 0)
	for _, s := range job.States {
		fmt.Fprintf(tw, "  %s\t%d\n", s, summary.Counts[string(s)])
	}
	_ = tw.Flush()
	fmt.Fprintf(sio.out, "\nInput:   %s\nReport:  %s\n         %s\n         %s\n\nRun it again and nothing changes:\n  offboard run --input %s --report %s ...\n",
		input, filepath.Join(reportDir, "report.csv"), filepath.Join(reportDir, "summary.json"), filepath.Join(reportDir, "summary.html"), input, reportDir)
	if c := demoWatch(ctx, sio, env, tenant, *dir, reportDir, runArgs); c != exitOK {
		code = max(code, c)
	}
	if v := tenant.Violations(); len(v) > 0 {
		fmt.Fprintf(sio.err, "offboard demo: the simulated tenant saw requests a real one would punish:\n  %s\n", strings.Join(v, "\n  "))
		return exitRowsFailed
	}
	if code == exitOK || code == exitRowsFailed {
		return exitOK
	}
	return code
}

// demoSources are the sources the demo runs.
var demoSources = []string{job.SourceDirectory, job.SourcePIM, job.SourceGroups, job.SourceAzure}

// runSimulate is `offboard simulate`: a simulated tenant served until
// interrupted, for trying the job by hand and for benchmarks.
func runSimulate(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	var tf tenantFlags
	tf.register(fs, 500)
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
	cfg, err := tf.config()
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
		sources = demoSources
	)
	switch *shape {
	case "sample":
		tenant, sample = simtenant.Generate(cfg, tf.principals)
	case "bench":
		switch *keys {
		case "id":
			tenant, sample = simtenant.GenerateUniform(cfg, tf.principals, *perPrincipal)
		case "hr":
			tenant, sample = simtenant.GenerateUniformKeyed(cfg, tf.principals, *perPrincipal)
		default:
			fmt.Fprintf(sio.err, "offboard simulate: --keys %q: id or hr\n", *keys)
			return exitUsage
		}
		sources = []string{job.SourceDirectory}
	case "azure":
		tenant, sample = simtenant.GenerateAzureUniform(cfg, tf.principals, *subscriptions)
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

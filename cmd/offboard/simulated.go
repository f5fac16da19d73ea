package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
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

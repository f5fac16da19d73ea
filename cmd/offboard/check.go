package main

import (
	"cmp"
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/offboard/offboard/report/location"
)

// runCheck is `offboard check`: a read-only preflight. It sends no write.
func runCheck(ctx context.Context, c app.Config, output string, sio stdio) int {
	log := newLogger(c.LogFormat, sio.err)
	defer func() { _ = log.Sync() }()
	warnUnknownVariables(log, sio)
	cc := app.CheckConfig{Config: c, Output: output}
	// Each location is parsed here only; one that cannot be used is a
	// failed check, not a usage error.
	cc.InputAt, cc.InputErr = location.Parse(c.Input)
	cc.ReportAt, cc.ReportErr = location.Parse(c.Report)
	return app.Check(ctx, cc, sio.deps(log, nil))
}

// checkFlags are the values of check's flags: those of `run` that say
// what a run would use (input, report, sources, scopes, endpoints), and
// --output.
type checkFlags struct {
	c               app.Config
	sources, scopes string
	output          string
}

// define defines check's flags on fs. run's flags for writes, guards
// and the display (the paces, --max-removals, --grace, --timeout,
// --verbose) are accepted and ignored, hidden from help: a check sends
// no write, and one command line serves both.
func (f *checkFlags) define(fs *pflag.FlagSet) {
	c := &f.c
	fs.StringVar(&c.Input, "input", "", "the CSV a run would read: checked to be readable, valid CSV (optional)")
	fs.StringVar(&c.Report, "report", "", "the report location a run would use: checked to be writable and lockable (optional)")
	fs.StringVar(&f.sources, "sources", "directory,pim,groups", "the sources to check, comma-separated: directory, pim, groups, azure, apps, keyvault")
	fs.StringVar(&f.scopes, "azure-scopes", "", "comma-separated ARM `scopes`, or all (needed by azure and keyvault)")
	fs.StringVar(&c.SelfID, "self-id", "", "the job's own object `id` (default: the token's oid claim)")
	fs.StringVar(&f.output, "output", "table", "table or json")
	serviceFlags(fs, c)
	fs.Lookup("concurrency").Usage = "read requests in flight at most"
	hide(fs, "graph-write-rate", "graph-write-burst", "arm-delete-rate", "arm-delete-burst", "max-removals",
		"grace", "timeout", "verbose")
}

// parseCheckFlags reads the flags of `check`, then the OFFBOARD_*
// variables.
func parseCheckFlags(args []string, env func(string) (string, bool), out io.Writer) (app.Config, string, error) {
	var f checkFlags
	fs := newFlagSet("check", out)
	f.define(fs)
	if err := fs.Parse(args); err != nil {
		return f.c, "", err
	}
	return f.config(fs, fs.Args(), env)
}

// config reads the variables once fs is parsed, and checks the whole.
func (f *checkFlags) config(fs *pflag.FlagSet, args []string, env func(string) (string, bool)) (app.Config, string, error) {
	if err := fromEnv(fs, args, env); err != nil {
		return f.c, "", err
	}
	c := f.c
	if f.output != "table" && f.output != "json" {
		return c, "", fmt.Errorf("--output %q: table or json", f.output)
	}
	// check() wants what a run needs; a check may go without an input
	// or a report location.
	input, rep := c.Input, c.Report
	c.Input, c.Report, c.GraphBatchSize = cmp.Or(input, "-"), cmp.Or(rep, "."), 1
	err := checkConfig(&c, f.sources, f.scopes, "")
	c.Input, c.Report = input, rep
	return c, f.output, err
}

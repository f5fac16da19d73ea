package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/offboard/offboard/report/location"
)

// runCheck is `offboard check`: a read-only preflight. It sends no write.
func runCheck(ctx context.Context, args []string, sio stdio) int {
	c, output, err := parseCheckFlags(args, sio.env, sio.err)
	if code, failed := flagsFailed(err, sio.err, "offboard check"); failed {
		return code
	}
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

// parseCheckFlags reads the flags of `check`: those of `run` that say
// what a run would use (input, report, sources, scopes, endpoints), and
// --output.
func parseCheckFlags(args []string, env func(string) (string, bool), out io.Writer) (app.Config, string, error) {
	var (
		c               app.Config
		sources, scopes string
		output          string
	)
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.Input, "input", "", "the CSV a run would read: checked to be readable, valid CSV (optional)")
	fs.StringVar(&c.Report, "report", "", "the report location a run would use: checked to be writable and lockable (optional)")
	fs.StringVar(&sources, "sources", "directory,pim,groups", "the sources to check: directory, pim, groups, azure")
	fs.StringVar(&scopes, "azure-scopes", "", "comma-separated ARM scopes, or all (needed by the azure source)")
	fs.StringVar(&c.SelfID, "self-id", "", "the job's own object id (default: the token's oid claim)")
	fs.StringVar(&output, "output", "table", "table or json")
	serviceFlags(fs, &c)
	if err := parseWithEnv(fs, args, env); err != nil {
		return c, "", err
	}
	if output != "table" && output != "json" {
		return c, "", fmt.Errorf("--output %q: table or json", output)
	}
	// check() wants what a run needs; a check may go without an input
	// or a report location.
	input, rep := c.Input, c.Report
	c.Input, c.Report, c.GraphBatchSize = cmp.Or(input, "-"), cmp.Or(rep, "."), 1
	err := checkConfig(&c, sources, scopes, "")
	c.Input, c.Report = input, rep
	return c, output, err
}

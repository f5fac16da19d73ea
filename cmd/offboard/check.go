package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job/preflight"
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
	creds, err := newCredentials(c, sio.env)
	if err != nil {
		log.Error("authentication is not configured", zap.Error(err))
		return exitUsage
	}
	j := &jobRun{cfg: c, log: log, io: sio, creds: creds, storage: newStorage(sio, creds, log)}
	// Each location is parsed here only; one that cannot be used is a
	// failed check, not a usage error.
	inputErr, reportErr := error(nil), error(nil)
	j.input, inputErr = location.Parse(c.Input)
	j.report, reportErr = location.Parse(c.Report)
	results := j.check(ctx, inputErr, reportErr)
	code := exitOK
	if !preflight.Usable(results) {
		code = exitRowsFailed
	}
	if output == "json" {
		preflight.WriteJSON(sio.out, results)
	} else {
		preflight.WriteTable(sio.out, results)
	}
	return code
}

// parseCheckFlags reads the flags of `check`: those of `run` that say
// what a run would use (input, report, sources, scopes, endpoints), and
// --output.
func parseCheckFlags(args []string, env func(string) (string, bool), out io.Writer) (config, string, error) {
	var (
		c               config
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
	c.serviceFlags(fs)
	if err := parseWithEnv(fs, args, env); err != nil {
		return c, "", err
	}
	if output != "table" && output != "json" {
		return c, "", fmt.Errorf("--output %q: table or json", output)
	}
	// check() wants what a run needs; a check may go without an input
	// or a report location.
	input, rep := c.Input, c.Report
	c.Input, c.Report, c.GraphBatchSize = cmpOr(input, "-"), cmpOr(rep, "."), 1
	err := c.check(sources, scopes, "")
	c.Input, c.Report = input, rep
	return c, output, err
}

// checkInput reads the input as a run would, when one is given.
func (j *jobRun) checkInput(ctx context.Context, parseErr error) []preflight.Result {
	spec := j.cfg.Input
	r := preflight.Result{Check: "input", Name: spec, Status: preflight.OK}
	switch spec {
	case "":
		r.Name, r.Status, r.Detail = "-", preflight.Skipped, "no --input given"
		return []preflight.Result{r}
	case "-":
		r.Status, r.Detail = preflight.Skipped, "standard input is not read by a check"
		return []preflight.Result{r}
	}
	files, folder, err := j.storage.DropFolder(ctx, j.input)
	if parseErr != nil {
		err = parseErr
	}
	input := j.input
	switch {
	case err != nil:
		r.Status, r.Detail = preflight.Error, "the drop folder cannot be listed: "+err.Error()
		return []preflight.Result{r}
	case folder && len(files) == 0:
		r.Detail = "a drop folder, empty now"
		return []preflight.Result{r}
	case folder:
		// The file the next run takes first stands for the folder.
		input = files[0].Input
		r.Name = input.String()
	}
	data, err := j.storage.ReadInput(ctx, input)
	return []preflight.Result{preflight.InputRows(r, data, err)}
}

// checkReport checks that a run could open the report location: a local
// directory writable and lockable, nothing left behind. A blob location
// is not probed: a probe would have to write.
func (j *jobRun) checkReport(parseErr error) []preflight.Result {
	spec := j.cfg.Report
	r := preflight.Result{Check: "report", Name: spec, Status: preflight.OK}
	if spec == "" {
		r.Name, r.Status, r.Detail = "-", preflight.Skipped, "no --report given"
		return []preflight.Result{r}
	}
	if parseErr != nil {
		r.Status, r.Detail = preflight.Error, parseErr.Error()
		return []preflight.Result{r}
	}
	switch probed, err := location.Probe(j.report); {
	case !probed:
		r.Status, r.Detail = preflight.Skipped, "a blob location is not probed (that would write)"
	case err != nil:
		r.Status, r.Detail = preflight.Error, err.Error()
	default:
		r.Detail = "writable and lockable"
	}
	return []preflight.Result{r}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job/csvinput"
	"github.com/offboard/offboard/report/location"
)

// The statuses of a check.
const (
	checkOK          = "ok"
	checkUnavailable = "unavailable" // the tenant lacks the licence
	checkMissing     = "missing"     // the identity lacks a permission or role
	checkError       = "error"       // the check itself failed, or the input or report location cannot be used
	checkSkipped     = "skipped"     // not checked (not asked, or nothing to check it with)
)

// checkResult is one line of `offboard check`.
type checkResult struct {
	Check  string `json:"check"` // source, permission, azure-scope, input, report
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

// runCheck is `offboard check`: a read-only preflight. It sends no write.
func runCheck(ctx context.Context, args []string, sio stdio) int {
	c, output, err := parseCheckFlags(args, sio.env, sio.err)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(sio.err, "offboard check: %v\n", err)
		return exitUsage
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
	for _, r := range results {
		if r.Status != checkOK && r.Status != checkSkipped {
			code = exitRowsFailed
		}
	}
	if output == "json" {
		enc := json.NewEncoder(sio.out)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Usable bool          `json:"usable"`
			Checks []checkResult `json:"checks"`
		}{code == exitOK, results})
		return code
	}
	tw := tabwriter.NewWriter(sio.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tNAME\tSTATUS\tDETAIL")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Check, r.Name, r.Status, oneLine(r.Detail))
		if r.Fix != "" {
			fmt.Fprintf(tw, "\t\t\tfix: %s\n", oneLine(r.Fix))
		}
	}
	_ = tw.Flush()
	if code == exitOK {
		fmt.Fprintln(sio.out, "\nEverything selected is usable.")
	} else {
		fmt.Fprintln(sio.out, "\nSomething selected is not usable: see the fixes above.")
	}
	return code
}

// oneLine keeps a service's text on one line of the table.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
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
func (j *jobRun) checkInput(ctx context.Context, parseErr error) []checkResult {
	spec := j.cfg.Input
	r := checkResult{Check: "input", Name: spec, Status: checkOK}
	switch spec {
	case "":
		r.Name, r.Status, r.Detail = "-", checkSkipped, "no --input given"
		return []checkResult{r}
	case "-":
		r.Status, r.Detail = checkSkipped, "standard input is not read by a check"
		return []checkResult{r}
	}
	files, folder, err := j.storage.DropFolder(ctx, j.input)
	if parseErr != nil {
		err = parseErr
	}
	input := j.input
	switch {
	case err != nil:
		r.Status, r.Detail = checkError, "the drop folder cannot be listed: "+err.Error()
		return []checkResult{r}
	case folder && len(files) == 0:
		r.Detail = "a drop folder, empty now"
		return []checkResult{r}
	case folder:
		// The file the next run takes first stands for the folder.
		input = files[0].Input
		r.Name = input.String()
	}
	data, err := j.storage.ReadInput(ctx, input)
	if err != nil {
		r.Status, r.Detail = checkError, err.Error()
		return []checkResult{r}
	}
	entries, err := csvinput.Read(bytes.NewReader(data))
	if err != nil {
		r.Status, r.Detail = checkError, err.Error()
		return []checkResult{r}
	}
	bad := 0
	for _, e := range entries {
		if e.Problem != "" {
			bad++
		}
	}
	r.Detail = fmt.Sprintf("%d rows", len(entries))
	if bad > 0 {
		r.Detail += fmt.Sprintf(", %d of them invalid (a run reports them invalid and exits 1)", bad)
	}
	return []checkResult{r}
}

// checkReport checks that a run could open the report location: a local
// directory writable and lockable, nothing left behind. A blob location
// is not probed: a probe would have to write.
func (j *jobRun) checkReport(parseErr error) []checkResult {
	spec := j.cfg.Report
	r := checkResult{Check: "report", Name: spec, Status: checkOK}
	if spec == "" {
		r.Name, r.Status, r.Detail = "-", checkSkipped, "no --report given"
		return []checkResult{r}
	}
	if parseErr != nil {
		r.Status, r.Detail = checkError, parseErr.Error()
		return []checkResult{r}
	}
	switch probed, err := location.Probe(j.report); {
	case !probed:
		r.Status, r.Detail = checkSkipped, "a blob location is not probed (that would write)"
	case err != nil:
		r.Status, r.Detail = checkError, err.Error()
	default:
		r.Detail = "writable and lockable"
	}
	return []checkResult{r}
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

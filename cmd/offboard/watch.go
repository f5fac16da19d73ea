package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/offboard/offboard/report/location"
)

// defaultWithin is --within's default.
const defaultWithin = "90d"

// watchFlags are the values of watch's flags.
type watchFlags struct {
	c                        app.WatchConfig
	sources, scopes, protect string
}

// define defines watch's flags on fs: one for the root the reports are
// under (--reports), one for where the watch writes its own (--report).
func (f *watchFlags) define(fs *pflag.FlagSet) {
	c := &f.c
	fs.StringVar(&c.Reports, "reports", "", "the `root` the run reports to re-check are under: a directory or Blob Storage prefix (required)")
	fs.StringVar(&c.WithinText, "within", defaultWithin, "re-check the principals offboarded by runs started this long ago or later: Nd (days) or a Go `duration`")
	fs.StringVar(&c.Report, "report", "", "where the watch writes its own report and attestation: a `directory` or Blob Storage folder (default: {reports}/watch/{UTC date})")
	fs.StringVar(&f.sources, "sources", "directory,pim,groups", "kinds of assignment to check and remove, comma-separated: "+strings.Join(app.KnownSources(), ", "))
	fs.StringVar(&f.scopes, "azure-scopes", "", "comma-separated ARM `scopes`, or all (needed by azure and keyvault)")
	fs.StringVar(&f.protect, "protect", "", "comma-separated object `ids` never watched nor touched (break-glass accounts)")
	fs.StringVar(&c.SelfID, "self-id", "", "the job's own object `id`, never touched (default: the token's oid claim)")
	fs.IntVar(&c.GraphBatchSize, "graph-batch-size", 20, "Graph requests sent in one $batch, 1 to 20 (1: each on its own)")
	serviceFlags(fs, &c.Config)
	perPrincipalFlag(fs, &c.Config)
}

// parseWatchFlags reads the flags of `watch`, then the OFFBOARD_* variables.
func parseWatchFlags(args []string, env func(string) (string, bool), out io.Writer) (app.WatchConfig, error) {
	var f watchFlags
	fs := newFlagSet("watch", out)
	f.define(fs)
	if err := fs.Parse(args); err != nil {
		return f.c, err
	}
	return f.config(fs, fs.Args(), env)
}

// config reads the variables once fs is parsed, and checks the whole.
// An empty Report is the default, {reports}/watch/{UTC date}, which
// runWatch makes from the parsed --reports.
func (f *watchFlags) config(fs *pflag.FlagSet, args []string, env func(string) (string, bool)) (app.WatchConfig, error) {
	if err := fromEnv(fs, args, env); err != nil {
		return f.c, err
	}
	c := f.c
	c.Changed = changedFlags(fs)
	var errs []error
	if c.Reports == "" {
		errs = append(errs, errors.New("--reports is required"))
	}
	within, err := parseWithin(c.WithinText)
	if err != nil {
		errs = append(errs, fmt.Errorf("--within: %w", err))
	}
	c.Within = within
	c.Input = "(watch list)" // no input file: the list comes from the reports
	// run's checks, less --report's: the watch has a default for it.
	// With no --reports either, a placeholder: --reports is what is
	// missing, and is named above.
	rep := c.Report
	if rep == "" {
		c.Report = c.Reports
		if c.Report == "" {
			c.Report = "(default)"
		}
	}
	if err := checkConfig(&c.Config, f.sources, f.scopes, f.protect); err != nil {
		errs = append(errs, err)
	}
	c.Report = rep
	errs = append(errs, checkPerPrincipal(c.Config))
	return c, errors.Join(errs...)
}

// parseWithin reads Nd (days) or a Go duration, above zero.
func parseWithin(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 1 || days > 100*366 {
			return 0, fmt.Errorf("%q: a number of days from 1, such as 90d", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: Nd (days) or a Go duration such as 2160h", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: must be above 0", s)
	}
	return d, nil
}

// runWatch is `offboard watch`: it re-checks the principals the reports
// under --reports show offboarded within the window, removes what they
// hold again and writes an attestation.
func runWatch(ctx context.Context, c app.WatchConfig, sio stdio) int {
	started := time.Now().UTC()
	c.Started = started
	log, disp := newOutput(&c.Config, sio.err, false)
	defer func() { _ = log.Sync() }()
	defer disp.Stop()
	warnUnknownVariables(log, sio)
	// Each location is parsed here only; --report defaults to
	// {reports}/watch/{UTC date}.
	var err error
	c.ReportsAt, err = location.Parse(c.Reports)
	switch {
	case err != nil:
	case c.Report == "":
		c.ReportAt = c.ReportsAt.Join("watch").Join(started.Format(time.DateOnly))
		c.Report = c.ReportAt.String()
	default:
		c.ReportAt, err = location.Parse(c.Report)
	}
	if err != nil {
		log.Error("the location cannot be used", zap.Error(err))
		return exitUsage
	}
	return app.Watch(ctx, c, sio.deps(log, disp))
}

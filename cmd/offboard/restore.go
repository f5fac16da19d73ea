package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/offboard/offboard/report/location"
)

// listFlag is a flag that may be repeated, each value a comma-separated
// list, so that OFFBOARD_PRINCIPAL can name several.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	items := splitList(v)
	if len(items) == 0 {
		return errors.New("empty list")
	}
	*l = append(*l, items...)
	return nil
}

// Type is the value's name in help.
func (l *listFlag) Type() string { return "ids" }

// restoreFlags are the values of restore's flags.
type restoreFlags struct {
	c          app.RestoreConfig
	principals listFlag
}

// define defines restore's flags on fs.
func (f *restoreFlags) define(fs *pflag.FlagSet) {
	c := &f.c
	fs.StringVar(&c.Report, "report", "", "the report location of the run to restore: a `directory`, or a Blob Storage folder (https://.../reports/{name}/) (required)")
	fs.BoolVar(&c.DryRun, "dry-run", false, "plan only; send no write request")
	fs.Var(&f.principals, "principal", "object id or UPN (as the run's report records it) of a principal to restore; "+
		"repeat it or separate with commas (this, or --all, is required)")
	fs.BoolVar(&c.All, "all", false, "restore every principal the run removed something from (this, or --principal, is required)")
	fs.BoolVar(&c.TrustUnsigned, "trust-unsigned", false, "read a report written before records were authenticated "+
		"(its journal lines carry no MAC): only after checking that nobody else wrote it")
	serviceFlags(fs, &c.Config)
	fs.Lookup("max-removals").Usage = "guard: when the restore holds more restorations, stop before any change (exit 3)"
}

// parseRestoreFlags reads the flags of `restore` from args, then fills
// every flag the command line did not set from its OFFBOARD_* variable.
func parseRestoreFlags(args []string, env func(string) (string, bool), out io.Writer) (app.RestoreConfig, error) {
	var f restoreFlags
	fs := newFlagSet("restore", out)
	f.define(fs)
	if err := fs.Parse(args); err != nil {
		return f.c, err
	}
	return f.config(fs, fs.Args(), env)
}

// config reads the variables once fs is parsed, and checks the whole.
func (f *restoreFlags) config(fs *pflag.FlagSet, args []string, env func(string) (string, bool)) (app.RestoreConfig, error) {
	if err := fromEnv(fs, args, env); err != nil {
		return f.c, err
	}
	c := f.c
	c.Changed = changedFlags(fs)
	c.Principals = f.principals
	var errs []error
	if c.Report == "" {
		errs = append(errs, errors.New("--report is required"))
	}
	// Putting back everything a run removed is never a default: a
	// forgotten --principal would re-grant every departed principal.
	switch {
	case len(c.Principals) == 0 && !c.All:
		errs = append(errs, errors.New("--principal or --all is required: name the principals to restore, or pass --all to restore every principal the run removed something from"))
	case len(c.Principals) > 0 && c.All:
		errs = append(errs, errors.New("--principal and --all together: give one of them"))
	}
	if loc, err := location.Parse(c.Report); err != nil {
		errs = append(errs, fmt.Errorf("--report: %w", err))
	} else {
		c.ReportAt = loc
	}
	errs = append(errs, checkService(&c.Config)...)
	return c, errors.Join(errs...)
}

// runRestore is `offboard restore`: it re-creates what the run in --report
// removed and writes restore.csv next to the run's report.
func runRestore(ctx context.Context, c app.RestoreConfig, sio stdio) int {
	log, disp := newOutput(&c.Config, sio.err, true)
	defer func() { _ = log.Sync() }()
	defer disp.Stop() // what was written last is shown
	warnUnknownVariables(log, sio)
	return app.Restore(ctx, c, sio.deps(log, disp))
}

package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// runFlags are the values of run's (and plan's, and in part watch's)
// flags that need more than a field of app.Config: lists to split and
// check.
type runFlags struct {
	c                        app.Config
	sources, scopes, protect string
}

// define defines run's flags on fs; plan hides those a plan has no use
// for (it sends no write: --dry-run, the write paces, the batch size),
// and still accepts them, so that one command line serves both.
func (f *runFlags) define(fs *pflag.FlagSet, plan bool) {
	c := &f.c
	fs.StringVar(&c.Input, "input", "", "the CSV of departing principals: a `path`, or - for standard input (required)")
	fs.StringVar(&c.Report, "report", "", "the report `directory`, created if missing, or a Blob Storage folder (required)")
	fs.BoolVar(&c.DryRun, "dry-run", false, "resolve and plan only: rows are planned, not one write request is sent (= offboard plan)")
	fs.StringVar(&c.Processed, "processed", "", "where a drop-folder file goes once it has finished cleanly: a `directory`, or a Blob Storage container or folder (default: it stays)")
	fs.StringVar(&f.sources, "sources", "directory,pim,groups", "kinds of assignment to remove, comma-separated: "+strings.Join(app.KnownSources(), ", "))
	fs.StringVar(&f.scopes, "azure-scopes", "", "comma-separated ARM `scopes` (/subscriptions/{id}, a management group), or all (needed by azure and keyvault)")
	fs.StringVar(&f.protect, "protect", "", "comma-separated object `ids` never touched (break-glass accounts)")
	fs.StringVar(&c.SelfID, "self-id", "", "the job's own object `id`, never touched (default: the token's oid claim)")
	fs.IntVar(&c.GraphBatchSize, "graph-batch-size", 20, "Graph requests sent in one $batch, 1 to 20 (1: each on its own)")
	serviceFlags(fs, c)
	perPrincipalFlag(fs, c)
	if plan {
		hide(fs, "dry-run", "graph-batch-size", "graph-write-rate", "graph-write-burst", "arm-delete-rate", "arm-delete-burst")
	}
}

// config reads, once fs is parsed, every flag the command line did not
// set from its OFFBOARD_* variable, and checks the whole.
func (f *runFlags) config(fs *pflag.FlagSet, args []string, env func(string) (string, bool)) (app.Config, error) {
	if err := fromEnv(fs, args, env); err != nil {
		return f.c, err
	}
	f.c.Changed = changedFlags(fs)
	err := errors.Join(checkConfig(&f.c, f.sources, f.scopes, f.protect), checkPerPrincipal(f.c))
	return f.c, err
}

// parseRunFlags reads the flags of `run` from args, then fills every flag
// the command line did not set from its OFFBOARD_* variable.
func parseRunFlags(args []string, env func(string) (string, bool), out io.Writer) (app.Config, error) {
	var f runFlags
	fs := newFlagSet("run", out)
	f.define(fs, false)
	if err := fs.Parse(args); err != nil {
		return f.c, err
	}
	return f.config(fs, fs.Args(), env)
}

// newFlagSet is a flag set that returns its errors rather than printing
// its usage (the command's help is --help's).
func newFlagSet(name string, out io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {}
	return fs
}

// hide keeps flags working but out of help and completion: a command
// that has no use for them accepts them, so that one command line (or
// one set of variables) serves several commands.
func hide(fs *pflag.FlagSet, names ...string) {
	for _, n := range names {
		_ = fs.MarkHidden(n)
	}
}

// perPrincipalFlag defines --max-removals-per-principal, the guard of
// run, plan and watch (not restore's, nor check's) that holds back one
// principal rather than stopping everyone.
func perPrincipalFlag(fs *pflag.FlagSet, c *app.Config) {
	fs.IntVar(&c.MaxRemovalsPerPrincipal, "max-removals-per-principal", 500,
		"guard: hold back (deferred, exit 1) a principal whose plan holds more removals; the rest go ahead")
}

// checkPerPrincipal checks --max-removals-per-principal: 0 or less would
// hold back everyone, or no one; neither is a cap.
func checkPerPrincipal(c app.Config) error {
	if c.MaxRemovalsPerPrincipal < 1 {
		return fmt.Errorf("--max-removals-per-principal %d: must be a positive number", c.MaxRemovalsPerPrincipal)
	}
	return nil
}

// serviceFlags defines the flags `run` shares with `restore` and `watch`:
// how the services are reached, paced and retried, the guard, the logs
// and the grace after a signal.
func serviceFlags(fs *pflag.FlagSet, c *app.Config) {
	fs.IntVar(&c.Concurrency, "concurrency", 8, "requests in flight at most")
	fs.Float64Var(&c.GraphWriteRate, "graph-write-rate", 20, "Graph writes per second: the token bucket's refill (lower it when other apps share the tenant)")
	fs.IntVar(&c.GraphWriteBurst, "graph-write-burst", 3000, "Graph writes the bucket holds at most (Graph's 3,000 per 150 s per app and tenant)")
	fs.Float64Var(&c.ARMDeleteRate, "arm-delete-rate", 10, "ARM deletes per second per subscription")
	fs.IntVar(&c.ARMDeleteBurst, "arm-delete-burst", 200, "ARM deletes the bucket holds at most, per subscription")
	fs.IntVar(&c.MaxRemovals, "max-removals", 1000, "guard: when the plan holds more removals, stop before any change (exit 3)")
	fs.StringVar(&c.Tenant, "tenant", "", "the tenant `id` (GUID) the job is for: a token of any other tenant is refused before any change, "+
		"and so are reports written for another (default: the token's tid, recorded)")
	fs.StringVar(&c.Cloud, "cloud", "public", "public, usgov, usgovdod or china: picks the Graph, ARM and login endpoints")
	fs.StringVar(&c.GraphEndpoint, "graph-endpoint", "", "Graph service root without version (default: from --cloud)")
	fs.StringVar(&c.ARMEndpoint, "arm-endpoint", "", "ARM root (default: from --cloud)")
	fs.StringVar(&c.LogFormat, "log-format", "", "json or console (default: console when standard error is a terminal, else json)")
	fs.BoolVar(&c.Verbose, "verbose", false, "at a terminal, show every outcome above the progress display, not only failures")
	fs.IntVar(&c.MaxAttempts, "max-attempts", 6, "attempts of one request at most, retries included")
	fs.DurationVar(&c.Grace, "grace", 15*time.Second, "after SIGINT/SIGTERM, how long in-flight requests may finish (a second signal: at once)")
	fs.DurationVar(&c.Timeout, "timeout", 0, "the run's deadline, from its start: no work starts after it, exit 4 (0: none)")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", 60*time.Second, "how long one attempt of a request may take, answer included, before it is retried")
}

// fromEnv fills every flag of fs the command line did not set from its
// OFFBOARD_* variable; args are what was left after the flags (none is
// expected).
func fromEnv(fs *pflag.FlagSet, args []string, env func(string) (string, bool)) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q", args[0])
	}
	tenantGiven := fs.Changed("tenant")
	var envErr error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		name := envName(f.Name)
		v, ok := env(name)
		if !ok || f.Changed || envErr != nil {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			envErr = fmt.Errorf("%s=%q: %s", name, v, expected(f, err))
		}
	})
	if envErr == nil && fs.Lookup("tenant") != nil && !tenantGiven {
		envErr = tenantIDEnv(fs, env)
	}
	return envErr
}

// tenantIDEnv reads OFFBOARD_TENANT_ID, the name the deployment and
// azidentity's users expect, as --tenant when OFFBOARD_TENANT (the
// flag's own variable) is not set; the two set to different tenants is
// a usage error.
func tenantIDEnv(fs *pflag.FlagSet, env func(string) (string, bool)) error {
	v, ok := env(tenantIDVar)
	if !ok {
		return nil
	}
	if cur, set := env(envName("tenant")); set {
		if !strings.EqualFold(strings.TrimSpace(cur), strings.TrimSpace(v)) {
			return fmt.Errorf("%s=%q and %s=%q name two tenants: set one", envName("tenant"), cur, tenantIDVar, v)
		}
		return nil
	}
	return fs.Set("tenant", v)
}

// tenantIDVar is --tenant's second variable.
const tenantIDVar = "OFFBOARD_TENANT_ID"

// envName is a flag's environment variable: OFFBOARD_ plus the flag in
// upper snake case.
func envName(flagName string) string {
	return "OFFBOARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// checkConfig checks c as run needs it, from the lists its flags gave, and
// fills what those lists and the cloud say.
func checkConfig(c *app.Config, sources, scopes, protect string) error {
	var errs []error
	if c.Input == "" {
		errs = append(errs, errors.New("--input is required"))
	}
	if c.Report == "" {
		errs = append(errs, errors.New("--report is required"))
	}
	for _, s := range splitList(sources) {
		s = strings.ToLower(s)
		if !slices.Contains(app.KnownSources(), s) {
			errs = append(errs, fmt.Errorf("--sources: unknown source %q (known: %s)", s, strings.Join(app.KnownSources(), ", ")))
			continue
		}
		if !slices.Contains(c.Sources, s) {
			c.Sources = append(c.Sources, s)
		}
	}
	if len(c.Sources) == 0 {
		// An empty --sources (or OFFBOARD_SOURCES set but empty) would
		// remove nothing and still end like a success.
		errs = append(errs, fmt.Errorf("--sources names no source (known: %s)", strings.Join(app.KnownSources(), ", ")))
	}
	c.AzureScopes = splitList(scopes)
	for _, s := range c.Sources {
		if app.OnARM(s) && len(c.AzureScopes) == 0 {
			errs = append(errs, fmt.Errorf("--sources %s needs --azure-scopes (ARM scopes, or all)", s))
		}
	}
	c.Protect = map[string]bool{}
	for _, id := range splitList(protect) {
		if !job.IsGUID(id) {
			errs = append(errs, fmt.Errorf("--protect: %q is not an object id (GUID)", id))
			continue
		}
		c.Protect[job.NormalizeGUID(id)] = true
	}
	if c.SelfID != "" {
		if !job.IsGUID(c.SelfID) {
			errs = append(errs, fmt.Errorf("--self-id: %q is not an object id (GUID)", c.SelfID))
		}
		c.SelfID = job.NormalizeGUID(c.SelfID)
	}
	if c.GraphBatchSize < 1 || c.GraphBatchSize > transport.MaxBatch {
		errs = append(errs, fmt.Errorf("--graph-batch-size %d: must be between 1 and %d (Graph's limit for a $batch)", c.GraphBatchSize, transport.MaxBatch))
	}
	errs = append(errs, checkService(c)...)
	return errors.Join(errs...)
}

// checkService checks the values of serviceFlags and fills the endpoints
// from the cloud.
func checkService(c *app.Config) []error {
	var errs []error
	if c.Concurrency < 1 || c.Concurrency > 256 {
		errs = append(errs, fmt.Errorf("--concurrency %d: must be between 1 and 256", c.Concurrency))
	}
	if c.GraphWriteRate <= 0 || c.ARMDeleteRate <= 0 {
		errs = append(errs, errors.New("--graph-write-rate and --arm-delete-rate must be above 0"))
	}
	if c.GraphWriteBurst < 1 || c.ARMDeleteBurst < 1 {
		errs = append(errs, errors.New("--graph-write-burst and --arm-delete-burst must be at least 1"))
	}
	if c.MaxRemovals < 0 {
		errs = append(errs, fmt.Errorf("--max-removals %d: must not be negative", c.MaxRemovals))
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 50 {
		errs = append(errs, fmt.Errorf("--max-attempts %d: must be between 1 and 50", c.MaxAttempts))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("--timeout %s: must not be negative", c.Timeout))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--request-timeout %s: must be above 0", c.RequestTimeout))
	}
	if c.Tenant != "" {
		if !job.IsGUID(c.Tenant) {
			errs = append(errs, fmt.Errorf("--tenant: %q is not a tenant id (GUID)", c.Tenant))
		}
		c.Tenant = job.NormalizeGUID(c.Tenant)
	}
	if c.LogFormat != "" && c.LogFormat != "json" && c.LogFormat != "console" {
		errs = append(errs, fmt.Errorf("--log-format %q: json or console", c.LogFormat))
	}
	cl, ok := app.CloudNamed(c.Cloud)
	if !ok {
		errs = append(errs, fmt.Errorf("--cloud %q: public, usgov, usgovdod or china", c.Cloud))
	}
	if c.GraphEndpoint == "" {
		c.GraphEndpoint = cl.Graph
	}
	if c.ARMEndpoint == "" {
		c.ARMEndpoint = cl.ARM
	}
	for _, e := range []struct{ flag, v string }{{"--graph-endpoint", c.GraphEndpoint}, {"--arm-endpoint", c.ARMEndpoint}} {
		if err := checkEndpoint(e.v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.flag, err))
		}
	}
	c.GraphEndpoint = strings.TrimRight(c.GraphEndpoint, "/")
	c.ARMEndpoint = strings.TrimRight(c.ARMEndpoint, "/")
	return errs
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// checkEndpoint accepts https URLs, and http only on loopback: a token is
// never sent in clear text across a network.
func checkEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q: no query, fragment or user info allowed", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if transport.IsLoopback(u) {
			return nil
		}
		return fmt.Errorf("%q: http is allowed only on loopback", raw)
	}
	return fmt.Errorf("%q: scheme must be https", raw)
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/offboard/offboard/report/location"
	"github.com/offboard/offboard/simtenant/demo"
)

// defineDemo defines demo's flags on fs, into d: the simulated tenant's
// own (simtenant.Flags, on the standard flag package), then the demo's.
func defineDemo(fs *pflag.FlagSet, d *demo.Demo) {
	tenant := flag.NewFlagSet("demo", flag.ContinueOnError)
	d.Tenant.Register(tenant, 24)
	fs.AddGoFlagSet(tenant)
	fs.StringVar(&d.Dir, "dir", "", "where the sample CSV and the report go (default: a new temporary directory)")
	fs.StringVar(&d.LogFormat, "log-format", "console", "json or console")
	fs.IntVar(&d.Tenants, "tenants", 1, "simulated tenants side by side: 1, or 2 (each its own tenant id, data, seed and "+
		"directory, each run with --tenant its own; then a token of tenant B is refused for tenant A's report)")
}

// runDemo is `offboard demo`: the whole job against an in-process
// simulated tenant, with a generated sample CSV (simtenant/demo), running
// this binary's own run, watch and restore, command lines and all. err
// is a usage error: nothing was run.
func runDemo(ctx context.Context, d demo.Demo, args []string, sio stdio) (code int, err error) {
	if len(args) > 0 {
		return exitUsage, fmt.Errorf("unexpected argument %q", args[0])
	}
	if d.Tenants < 1 || d.Tenants > 2 {
		return exitUsage, fmt.Errorf("--tenants %d: 1 or 2", d.Tenants)
	}
	d.Out, d.Err, d.Env = sio.out, sio.err, sio.env
	d.PassEnv = []string{location.KeyEnv, location.KeyFileEnv}
	command := func(name string) demo.Command {
		return func(ctx context.Context, args []string, env func(string) (string, bool), out, errw io.Writer) int {
			return run(ctx, append([]string{name}, args...), stdio{in: sio.in, out: out, err: errw, env: env})
		}
	}
	d.Run, d.Watch, d.Restore = command("run"), command("watch"), command("restore")
	return d.Start(ctx), nil
}

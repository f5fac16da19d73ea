package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/offboard/offboard/report/location"
	"github.com/offboard/offboard/simtenant/demo"
)

// runDemo is `offboard demo`: the whole job against an in-process
// simulated tenant, with a generated sample CSV (simtenant/demo), running
// this binary's own run and watch.
func runDemo(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	d := demo.Demo{Out: sio.out, Err: sio.err, Env: sio.env, PassEnv: []string{location.KeyEnv, location.KeyFileEnv}}
	d.Tenant.Register(fs, 24)
	fs.StringVar(&d.Dir, "dir", "", "where the sample CSV and the report go (default: a new temporary directory)")
	fs.StringVar(&d.LogFormat, "log-format", "console", "json or console")
	fs.IntVar(&d.Tenants, "tenants", 1, "simulated tenants side by side: 1, or 2 (each its own tenant id, data, seed and "+
		"directory, each run with --tenant its own; then a token of tenant B is refused for tenant A's report)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if d.Tenants < 1 || d.Tenants > 2 {
		fmt.Fprintf(sio.err, "offboard demo: --tenants %d: 1 or 2\n", d.Tenants)
		return exitUsage
	}
	with := func(env func(string) (string, bool), out, errw io.Writer) stdio {
		return stdio{in: sio.in, out: out, err: errw, env: env}
	}
	d.Run = func(ctx context.Context, args []string, env func(string) (string, bool), out, errw io.Writer) int {
		return runJob(ctx, args, with(env, out, errw), false)
	}
	d.Watch = func(ctx context.Context, args []string, env func(string) (string, bool), out, errw io.Writer) int {
		return runWatch(ctx, args, with(env, out, errw))
	}
	d.Restore = func(ctx context.Context, args []string, env func(string) (string, bool), out, errw io.Writer) int {
		return runRestore(ctx, args, with(env, out, errw))
	}
	return d.Start(ctx)
}

package main

import (
	"context"
	"errors"
	"flag"

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
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	with := func(env func(string) (string, bool)) stdio {
		return stdio{in: sio.in, out: sio.out, err: sio.err, env: env}
	}
	d.Run = func(ctx context.Context, args []string, env func(string) (string, bool)) int {
		return runJob(ctx, args, with(env), false)
	}
	d.Watch = func(ctx context.Context, args []string, env func(string) (string, bool)) int {
		return runWatch(ctx, args, with(env))
	}
	return d.Start(ctx)
}

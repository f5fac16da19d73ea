package main

import (
	"context"

	"go.uber.org/zap"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/offboard/offboard/report/console"
	"github.com/offboard/offboard/report/location"
)

// runJob is `offboard run` (and `plan`, c.DryRun set).
func runJob(ctx context.Context, c app.Config, sio stdio) int {
	log, disp := newOutput(&c, sio.err, false)
	defer func() { _ = log.Sync() }()
	defer disp.Stop() // what was written last is shown
	warnUnknownVariables(log, sio)
	// A location with a query (a SAS URL) is refused here, before any log
	// line could repeat it; each is parsed here only.
	var err error
	c.InputAt, err = location.Parse(c.Input)
	if err == nil {
		c.ReportAt, err = location.Parse(c.Report)
	}
	if err == nil {
		c.ProcessedAt, err = location.Parse(c.Processed)
	}
	if err != nil {
		log.Error("the location cannot be used", zap.Error(err))
		return exitUsage
	}
	return app.Run(ctx, c, sio.deps(log, disp))
}

// deps is what a command is handed: these streams, its logger and
// display, and the services as this file's wiring builds them.
func (sio stdio) deps(log *zap.Logger, disp *console.Display) app.Deps {
	d := app.Deps{Stdin: sio.in, Stdout: sio.out, Env: sio.env, Log: log, Display: disp,
		Services: services, AzureChecker: azureChecker, Reach: app.Unreachable}
	if v, _ := sio.env(killAfterCopyEnv); v == "1" {
		d.AfterCopy = killSelf
	}
	return d
}

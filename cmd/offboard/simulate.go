package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/offboard/offboard/simtenant"
	"github.com/offboard/offboard/simtenant/demo"
)

// runSimulate is `offboard simulate`: a simulated tenant served until
// interrupted, for trying the job by hand and for benchmarks.
func runSimulate(ctx context.Context, args []string, sio stdio) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(sio.err)
	var tf simtenant.Flags
	tf.Register(fs, 500)
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve on (loopback; port 0 picks a free one)")
	csvPath := fs.String("csv", "", "where to write the sample CSV (default: a temporary file)")
	shape := fs.String("shape", "sample", "sample: a realistic tenant whose CSV shows every status; "+
		"bench: --principals users each holding exactly --per-principal directory role assignments and nothing else; "+
		"azure: --principals principals each holding one Azure role assignment (one in three also an eligibility) in one of --subscriptions subscriptions")
	perPrincipal := fs.Int("per-principal", 10, "with --shape bench: directory role assignments of each principal")
	keys := fs.String("keys", "id", "with --shape bench: what the CSV names users by: id (principal_id), or hr "+
		"(user_principal_name, mail and employee_id in turn)")
	subscriptions := fs.Int("subscriptions", 10, "with --shape azure: Azure subscriptions")
	filterRequired := fs.Bool("arm-filter-required", false, "ARM role assignment and eligibility listings without a $filter answer 400 (a client then lists one principal at a time)")
	noP2 := fs.Bool("no-p2", false, "a tenant without Entra ID P2 or Governance: Graph's and ARM's PIM endpoints answer 400 AadPremiumLicenseRequired")
	var deny stringList
	fs.Var(&deny, "deny", "withhold this Graph application permission (repeatable): its calls answer 403 Authorization_RequestDenied and the token lacks it")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	cfg, err := tf.Config()
	cfg.NoP2, cfg.Deny = *noP2, deny
	cfg.ARM.FilterRequired = *filterRequired
	if err == nil && (*perPrincipal < 0 || *perPrincipal > 1000) {
		err = fmt.Errorf("--per-principal %d: between 0 and 1000", *perPrincipal)
	}
	if err != nil {
		fmt.Fprintf(sio.err, "offboard simulate: %v\n", err)
		return exitUsage
	}
	sim := demo.Simulation{Config: cfg, Principals: tf.Principals, Shape: *shape, Keys: *keys, PerPrincipal: *perPrincipal,
		Subscriptions: *subscriptions, Listen: *listen, CSV: *csvPath, Out: sio.out, Err: sio.err}
	return sim.Serve(ctx)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

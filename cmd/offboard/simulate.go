package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/offboard/offboard/simtenant"
	"github.com/offboard/offboard/simtenant/demo"
)

// simulateFlags are the values of simulate's flags.
type simulateFlags struct {
	tf                          simtenant.Flags
	listen, csv, shape, keys    string
	perPrincipal, subscriptions int
	filterRequired, noP2        bool
	deny                        []string
}

// define defines simulate's flags on fs: the simulated tenant's own
// (simtenant.Flags, on the standard flag package, which the demo shares),
// then how it is served and what sample it writes.
func (f *simulateFlags) define(fs *pflag.FlagSet) {
	tenant := flag.NewFlagSet("simulate", flag.ContinueOnError)
	f.tf.Register(tenant, 500)
	fs.AddGoFlagSet(tenant)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "`address` to serve on (loopback; port 0 picks a free one)")
	fs.StringVar(&f.csv, "csv", "", "where to write the sample CSV (default: a temporary file)")
	fs.StringVar(&f.shape, "shape", "sample", "sample: a realistic tenant whose CSV shows every status; "+
		"bench: --principals users each holding exactly --per-principal directory role assignments and nothing else; "+
		"azure: --principals principals each holding one Azure role assignment (one in three also an eligibility) in one of --subscriptions subscriptions")
	fs.IntVar(&f.perPrincipal, "per-principal", 10, "with --shape bench: directory role assignments of each principal")
	fs.StringVar(&f.keys, "keys", "id", "with --shape bench: what the CSV names users by: id (principal_id), or hr "+
		"(user_principal_name, mail and employee_id in turn)")
	fs.IntVar(&f.subscriptions, "subscriptions", 10, "with --shape azure: Azure subscriptions")
	fs.BoolVar(&f.filterRequired, "arm-filter-required", false, "ARM role assignment and eligibility listings without a $filter answer 400 (a client then lists one principal at a time)")
	fs.BoolVar(&f.noP2, "no-p2", false, "a tenant without Entra ID P2 or Governance: Graph's and ARM's PIM endpoints answer 400 AadPremiumLicenseRequired")
	fs.StringArrayVar(&f.deny, "deny", nil, "withhold this Graph application `permission` (repeatable): its calls answer 403 Authorization_RequestDenied and the token lacks it")
}

// simulation is the tenant the flags describe, or why they describe
// none (a usage error).
func (f *simulateFlags) simulation(args []string) (demo.Simulation, error) {
	if len(args) > 0 {
		return demo.Simulation{}, fmt.Errorf("unexpected argument %q", args[0])
	}
	cfg, err := f.tf.Config()
	cfg.NoP2, cfg.Deny = f.noP2, f.deny
	cfg.ARM.FilterRequired = f.filterRequired
	if err == nil && (f.perPrincipal < 0 || f.perPrincipal > 1000) {
		err = fmt.Errorf("--per-principal %d: between 0 and 1000", f.perPrincipal)
	}
	return demo.Simulation{Config: cfg, Principals: f.tf.Principals, Shape: f.shape, Keys: f.keys, PerPrincipal: f.perPrincipal,
		Subscriptions: f.subscriptions, Listen: f.listen, CSV: f.csv}, err
}

// runSimulate is `offboard simulate`: a simulated tenant served until
// interrupted, for trying the job by hand and for benchmarks.
func runSimulate(ctx context.Context, sim demo.Simulation, sio stdio) int {
	sim.Out, sim.Err = sio.out, sio.err
	return sim.Serve(ctx)
}

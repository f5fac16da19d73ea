// Package demo is `offboard demo`'s script: a simulated tenant generated
// and served, a sample CSV written, the job run against it, a colleague's
// re-grant, and the nightly watch that removes it again. The commands it
// runs are the binary's own, handed in (Run, Watch): the package drives
// them, it does not reimplement them.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/simtenant"
)

// The exit codes of CONTRACT.md the demo reads and returns.
const (
	exitOK         = 0
	exitRowsFailed = 1
	exitUsage      = 2
)

// Command runs one of the binary's commands with args, reading the
// environment through env and writing to out and errw, and returns its
// exit code.
type Command func(ctx context.Context, args []string, env func(string) (string, bool), out, errw io.Writer) int

// Demo is one demo: the tenant's flags, where its files go, where it
// writes, and the commands it runs.
type Demo struct {
	Tenant    simtenant.Flags
	Dir       string // where the sample CSV and the report go ("": a new temporary directory)
	LogFormat string
	Out, Err  io.Writer
	// Env is the process's environment; only the variables in PassEnv
	// (the journal key's) reach the commands, beside the tenant's token.
	Env     func(string) (string, bool)
	PassEnv []string
	// Tenants is how many simulated tenants the demo runs side by side:
	// 1 (0 too), or 2 (see two.go).
	Tenants int
	// Run is `offboard run`, Watch `offboard watch`, Restore `offboard
	// restore` (only the two-tenant demo runs it).
	Run, Watch, Restore Command
}

// Sources are the sources the demo runs.
var Sources = []string{job.SourceDirectory, job.SourcePIM, job.SourceGroups, job.SourceAzure, job.SourceApps, job.SourceKeyVault}

// Start runs the demo and returns its exit code: 0 when the job ran (the
// sample's invalid lines make the run itself exit 1 on purpose).
func (d Demo) Start(ctx context.Context) int {
	cfg, err := d.Tenant.Config()
	if err != nil {
		fmt.Fprintf(d.Err, "offboard demo: %v\n", err)
		return exitUsage
	}
	if d.Tenants > 2 || d.Tenants < 0 {
		fmt.Fprintf(d.Err, "offboard demo: --tenants %d: 1 or 2\n", d.Tenants)
		return exitUsage
	}
	if d.Dir == "" {
		if d.Dir, err = os.MkdirTemp("", "offboard-demo-"); err != nil {
			fmt.Fprintf(d.Err, "offboard demo: %v\n", err)
			return exitUsage
		}
	}
	if d.Tenants == 2 {
		return d.two(ctx, cfg)
	}
	tenant, sample := simtenant.Generate(cfg, d.Tenant.Principals)
	srv, err := tenant.Start(ctx, "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(d.Err, "offboard demo: starting the simulated tenant: %v\n", err)
		return exitUsage
	}
	defer srv.Close()
	return d.play(ctx, tenant, sample, srv.URL(), d.Tenant.Seed, nil)
}

// env is the environment the demo's commands see for tenant: its token,
// and the variables in PassEnv.
func (d Demo) env(tenant *simtenant.Tenant) func(string) (string, bool) {
	return func(name string) (string, bool) {
		switch {
		case name == "OFFBOARD_STATIC_TOKEN":
			return tenant.Token(), true
		case slices.Contains(d.PassEnv, name):
			return d.Env(name)
		}
		return "", false
	}
}

// play runs the job on tenant (served at url, generated from seed) with
// its sample in d.Dir, then the watch, and returns the demo's exit code.
// extra are more flags for the run and the watch (the two-tenant demo's
// --tenant).
func (d Demo) play(ctx context.Context, tenant *simtenant.Tenant, sample simtenant.Sample, url string, seed uint64, extra []string) int {
	if err := os.MkdirAll(d.Dir, 0o750); err != nil {
		fmt.Fprintf(d.Err, "offboard demo: %v\n", err)
		return exitUsage
	}
	input := filepath.Join(d.Dir, "departures.csv")
	if err := os.WriteFile(input, sample.CSV, 0o640); err != nil {
		fmt.Fprintf(d.Err, "offboard demo: %v\n", err)
		return exitUsage
	}
	reportDir := filepath.Join(d.Dir, "report")
	runArgs := []string{
		"--input", input, "--report", reportDir,
		"--graph-endpoint", url,
		"--arm-endpoint", url,
		"--sources", strings.Join(Sources, ","),
		"--azure-scopes", "all",
		"--protect", strings.Join(sample.Protect, ","),
		"--log-format", d.LogFormat,
	}
	runArgs = append(runArgs, extra...)
	fmt.Fprintf(d.Out, "Simulated tenant at %s (seed %d): %d departing principals; %d directory role assignments, %d PIM eligibilities, %d groups, %d Azure role assignments in %d subscriptions.\n",
		url, seed, len(sample.Departing), len(tenant.RoleAssignments()), len(tenant.Eligibilities()),
		len(tenant.Groups()), len(tenant.ARMRoleAssignments()), len(sample.ARM.Scopes))
	d.describeApps(tenant, sample)
	fmt.Fprintf(d.Out, "Running: offboard run %s\n\n", strings.Join(runArgs, " "))
	env := d.env(tenant)
	code := d.Run(ctx, runArgs, env, d.Out, d.Err)

	summary, err := report.ReadSummary(reportDir)
	if err != nil {
		fmt.Fprintf(d.Err, "offboard demo: the run left no summary: %v\n", err)
		return max(code, exitRowsFailed)
	}
	fmt.Fprintf(d.Out, "\nThe job exited %d.", code)
	if code == exitRowsFailed {
		fmt.Fprint(d.Out, " (The sample CSV has invalid lines on purpose.)")
	}
	fmt.Fprintln(d.Out)
	tw := tabwriter.NewWriter(d.Out, 2, 4, 2, ' ', 0)
	for _, s := range job.States {
		fmt.Fprintf(tw, "  %s\t%d\n", s, summary.Counts[string(s)])
	}
	_ = tw.Flush()
	d.keyVaults(reportDir)
	fmt.Fprintf(d.Out, "\nInput:   %s\nReport:  %s\n         %s\n         %s\n\nRun it again and nothing changes:\n  offboard run --input %s --report %s ...\n",
		input, filepath.Join(reportDir, "report.csv"), filepath.Join(reportDir, "summary.json"), filepath.Join(reportDir, "summary.html"), input, reportDir)
	if c := d.watch(ctx, env, tenant, reportDir, runArgs); c != exitOK {
		code = max(code, c)
	}
	if v := tenant.Violations(); len(v) > 0 {
		fmt.Fprintf(d.Err, "offboard demo: the simulated tenant saw requests a real one would punish:\n  %s\n", strings.Join(v, "\n  "))
		return exitRowsFailed
	}
	if code == exitOK || code == exitRowsFailed {
		return exitOK
	}
	return code
}

// keyVaults names the Key Vault access policy entries the run removed:
// access outside Azure RBAC that no role assignment listing shows.
func (d Demo) keyVaults(reportDir string) {
	items, err := report.ReadItems(reportDir)
	if err != nil {
		return
	}
	for _, it := range items {
		if it.Source == job.SourceKeyVault && it.State == job.Removed {
			fmt.Fprintf(d.Out, "  Key Vault: removed the %s of %s (%s)\n", it.RoleName, it.PrincipalID, it.Detail)
		}
	}
}

// watch ends the demo: a colleague re-grants one offboarded principal a
// directory role, and `offboard watch` over the demo's directory finds it
// and removes it again. runArgs are the demo run's; it returns the watch's
// exit code.
func (d Demo) watch(ctx context.Context, env func(string) (string, bool), tenant *simtenant.Tenant,
	reportDir string, runArgs []string) int {
	items, err := report.ReadItems(reportDir)
	if err != nil {
		fmt.Fprintf(d.Err, "offboard demo: %v\n", err)
		return exitRowsFailed
	}
	var who simtenant.User
	for _, it := range items {
		if u, ok := tenant.User(it.PrincipalID); ok && it.State == job.Removed && it.Source == job.SourceDirectory {
			who = u
			break
		}
	}
	if who.ID == "" {
		return exitOK // nothing was removed: nothing to re-grant
	}
	tenant.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: who.ID, RoleDefinitionID: simtenant.HelpdeskAdministrator, DirectoryScopeID: "/"})
	watchArgs := []string{"--reports", d.Dir}
	for i := 0; i+1 < len(runArgs); i += 2 {
		if !slices.Contains([]string{"--input", "--report"}, runArgs[i]) {
			watchArgs = append(watchArgs, runArgs[i], runArgs[i+1])
		}
	}
	fmt.Fprintf(d.Out, "\nA colleague re-grants %s the Helpdesk Administrator role. The nightly watch re-checks everyone offboarded in the last 90 days.\n", who.UserPrincipalName)
	fmt.Fprintf(d.Out, "Running: offboard watch %s\n\n", strings.Join(watchArgs, " "))
	code := d.Watch(ctx, watchArgs, env, d.Out, d.Err)
	watchDir := filepath.Join(d.Dir, "watch", time.Now().UTC().Format(time.DateOnly))
	b, err := os.ReadFile(filepath.Join(watchDir, "attestation.json"))
	var att report.Attestation
	if err == nil {
		err = json.Unmarshal(b, &att)
	}
	if err != nil {
		fmt.Fprintf(d.Err, "offboard demo: the watch left no attestation: %v\n", err)
		return max(code, exitRowsFailed)
	}
	n := map[string]int{}
	for _, p := range att.Principals {
		n[p.Verdict]++
		if p.Verdict == report.VerdictRemovedAgain {
			for _, r := range p.Rows {
				fmt.Fprintf(d.Out, "\nRemoved again: %s %s of %s: %s\n", r.Source, r.AssignmentID, p.PrincipalID, r.Detail)
			}
		}
		if p.Verdict == report.VerdictFailed {
			fmt.Fprintf(d.Out, "\nStill held (failed, as in the run it came from): %s: %s\n", p.PrincipalID, p.Why)
		}
	}
	fmt.Fprintf(d.Out, "\nThe watch exited %d: %d principals watched, %d clean, %d removed-again, %d failed.\nAttestation: %s\n             %s\n",
		code, len(att.Principals), n[report.VerdictClean], n[report.VerdictRemovedAgain], n[report.VerdictFailed],
		filepath.Join(watchDir, "attestation.json"), filepath.Join(watchDir, "attestation.html"))
	return code
}

// describeApps says what the sample holds for the apps source: the
// departing developer's app registration and the retired workload's
// Microsoft Graph permission.
func (d Demo) describeApps(tenant *simtenant.Tenant, sample simtenant.Sample) {
	a := sample.Apps
	fmt.Fprintf(d.Out, "Applications: %d app registrations, %d service principals, %d app role assignments.",
		len(tenant.Applications()), len(tenant.ServicePrincipals()), len(tenant.AppRoleAssignments()))
	if u, ok := tenant.User(a.Developer); ok {
		fmt.Fprintf(d.Out, " The departing developer %s owns %d app registrations and service principals.", u.UserPrincipalName, len(tenant.OwnedApps(u.ID)))
	}
	if sp, ok := tenant.ServicePrincipal(a.Workload); ok {
		fmt.Fprintf(d.Out, " The retired workload %s holds Microsoft Graph's RoleManagement.ReadWrite.Directory.", sp.DisplayName)
	}
	fmt.Fprintln(d.Out)
}

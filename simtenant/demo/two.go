package demo

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/simtenant"
)

// side is one of the two-tenant demo's tenants.
type side struct {
	name      string // A or B
	tenant    *simtenant.Tenant
	sample    simtenant.Sample
	url       string
	seed      uint64
	dir       string
	out, errb lockedBuffer
	code      int
}

// lockedBuffer is a bytes.Buffer the job's concurrent writers may share
// (an *os.File is safe for them; a bytes.Buffer is not).
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Bytes()
}

// two is `offboard demo --tenants 2`: two simulated tenants side by side,
// each with its own tenant id (the tid of its token), data, seed (A the
// --seed, B the next) and directory, each demo's run and watch with
// --tenant set to its own. Then it shows that each tenant saw only its
// own token and each report names its own tenant, and that a token of
// tenant B is refused (exit 2) for tenant A's report.
func (d Demo) two(ctx context.Context, cfg simtenant.Config) int {
	cfgB := cfg
	cfgB.Seed, cfgB.TenantID = cfg.Seed+1, ""
	sides := []*side{{name: "A", seed: cfg.Seed}, {name: "B", seed: cfgB.Seed}}
	for i, c := range []simtenant.Config{cfg, cfgB} {
		s := sides[i]
		s.tenant, s.sample = simtenant.Generate(c, d.Tenant.Principals)
		s.dir = filepath.Join(d.Dir, "tenant-"+strings.ToLower(s.name))
		srv, err := s.tenant.Start(ctx, "127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(d.Err, "offboard demo: starting simulated tenant %s: %v\n", s.name, err)
			return exitUsage
		}
		defer srv.Close()
		s.url = srv.URL()
	}
	a, b := sides[0], sides[1]
	if a.tenant.TenantID() == b.tenant.TenantID() {
		fmt.Fprintf(d.Err, "offboard demo: --tenant-id %s is also tenant B's (derived from seed %d): choose another\n", a.tenant.TenantID(), b.seed)
		return exitUsage
	}
	fmt.Fprintf(d.Out, "Two simulated tenants side by side, each with its own tenant id, data and directory; each demo runs with --tenant set to its own.\n")
	for _, s := range sides {
		fmt.Fprintf(d.Out, "  tenant %s: %s (seed %d), at %s, in %s\n", s.name, s.tenant.TenantID(), s.seed, s.url, s.dir)
	}
	var wg sync.WaitGroup
	for _, s := range sides {
		wg.Go(func() {
			one := d
			one.Dir, one.Out, one.Err = s.dir, &s.out, &s.errb
			s.code = one.play(ctx, s.tenant, s.sample, s.url, s.seed, []string{"--tenant", s.tenant.TenantID()})
		})
	}
	wg.Wait()
	code := exitOK
	for _, s := range sides {
		fmt.Fprintf(d.Out, "\n=== Tenant %s (%s) ===\n\n", s.name, s.tenant.TenantID())
		_, _ = d.Out.Write(s.out.Bytes())
		_, _ = d.Err.Write(s.errb.Bytes())
		if s.code != exitOK {
			fmt.Fprintf(d.Err, "offboard demo: tenant %s's demo exited %d\n", s.name, s.code)
			code = max(code, s.code)
		}
	}
	if code != exitOK {
		return code
	}

	fmt.Fprintf(d.Out, "\n=== Each touched only its own ===\n\n")
	ids := map[string]map[string]bool{}
	for _, s := range sides {
		items, err := report.ReadItems(filepath.Join(s.dir, "report"))
		if err != nil {
			fmt.Fprintf(d.Err, "offboard demo: tenant %s: %v\n", s.name, err)
			return exitRowsFailed
		}
		ids[s.name] = map[string]bool{}
		for _, it := range items {
			if it.AssignmentID != "" {
				ids[s.name][it.AssignmentID] = true
			}
		}
	}
	for i, s := range sides {
		other := sides[1-i]
		summary, err := report.ReadSummary(filepath.Join(s.dir, "report"))
		if err != nil {
			fmt.Fprintf(d.Err, "offboard demo: tenant %s: %v\n", s.name, err)
			return exitRowsFailed
		}
		reqs, foreign := 0, 0
		for _, r := range s.tenant.Requests() {
			if r.InBatch {
				continue // a $batch's sub-request: the batch itself carried the token
			}
			reqs++
			if r.Header.Get("Authorization") != "Bearer "+s.tenant.Token() {
				foreign++
			}
		}
		shared := 0
		for id := range ids[s.name] {
			if ids[other.name][id] {
				shared++
			}
		}
		fmt.Fprintf(d.Out, "Tenant %s: summary.json tenant_id %s; %d requests reached its simulator, %d without its own token; %d of its report's %d assignments are also in tenant %s's report.\n",
			s.name, summary.TenantID, reqs, foreign, shared, len(ids[s.name]), other.name)
		if summary.TenantID != s.tenant.TenantID() || foreign != 0 || shared != 0 {
			fmt.Fprintf(d.Err, "offboard demo: tenant %s's demo reached beyond its own tenant\n", s.name)
			return exitRowsFailed
		}
	}

	// Tenant B's token, for tenant A's report: refused before any request.
	restoreArgs := []string{"--report", filepath.Join(a.dir, "report"), "--all", "--dry-run",
		"--tenant", b.tenant.TenantID(), "--graph-endpoint", b.url, "--arm-endpoint", b.url, "--log-format", d.LogFormat}
	fmt.Fprintf(d.Out, "\nWith tenant B's token, for tenant A's report:\nRunning: offboard restore %s\n\n", strings.Join(restoreArgs, " "))
	b.tenant.ResetRequests()
	a.tenant.ResetRequests()
	got := d.Restore(ctx, restoreArgs, d.env(b.tenant), d.Out, d.Err)
	sent := len(a.tenant.Requests()) + len(b.tenant.Requests())
	if got != exitUsage || sent != 0 {
		fmt.Fprintf(d.Out, "\nTenant B's token for tenant A's report: NOT refused (exit %d, %d requests sent).\n", got, sent)
		fmt.Fprintf(d.Err, "offboard demo: tenant B's token was not refused for tenant A's report (exit %d, %d requests)\n", got, sent)
		return exitRowsFailed
	}
	fmt.Fprintf(d.Out, "\nTenant B's token for tenant A's report: refused (exit 2), no request sent.\n")
	return exitOK
}

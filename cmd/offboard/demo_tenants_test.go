package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/offboard/offboard/report/location"
)

// TestDemoTwoTenants: `demo --tenants 2` runs the demo against two
// simulated tenants side by side, each with its own tenant id and report
// directory; each report names its own tenant, each simulator saw only its
// own token, and tenant B's token is refused (exit 2) for tenant A's report.
func TestDemoTwoTenants(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	demo := func(args ...string) (int, string, string) {
		cmd := exec.Command(os.Args[0], append([]string{"demo", "--dir", dir, "--log-format", "json"}, args...)...)
		cmd.Env = []string{asMain + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), location.KeyEnv + "=" + testJournalKey}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if err != nil && cmd.ProcessState == nil {
			t.Fatal(err)
		}
		if strings.Contains(errb.String(), "WARNING: DATA RACE") {
			t.Fatalf("the binary raced:\n%s", errb.String())
		}
		return cmd.ProcessState.ExitCode(), out.String(), errb.String()
	}
	if code, _, _ := demo("--tenants", "3"); code != 2 {
		t.Errorf("--tenants 3: exit %d, want 2", code)
	}

	code, out, errs := demo("--tenants", "2", "--tenant-id", tenantA, "--principals", "12")
	if code != 0 {
		t.Fatalf("demo --tenants 2: exit %d\n%s\n%s", code, out, errs)
	}
	m := regexp.MustCompile(`(?m)^  tenant B: ([0-9a-f-]{36}) \(seed 2\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the demo does not name tenant B's id:\n%s", out)
	}
	idB := m[1]
	if idB == tenantA {
		t.Fatalf("both tenants are %s", idB)
	}
	for _, c := range []struct{ sub, tenant string }{{"tenant-a", tenantA}, {"tenant-b", idB}} {
		rdir := filepath.Join(dir, c.sub, "report")
		if got := readSummary(t, rdir).TenantID; got != c.tenant {
			t.Errorf("%s: summary.json tenant_id %q, want %q", rdir, got, c.tenant)
		}
		if rec := firstRunRecord(t, rdir); rec.TenantID != c.tenant {
			t.Errorf("%s: run record of tenant %q, want %q", rdir, rec.TenantID, c.tenant)
		}
		if !strings.Contains(out, "--report "+rdir+" ") || !strings.Contains(out, "--tenant "+c.tenant) {
			t.Errorf("the demo does not run %s with --tenant %s:\n%s", rdir, c.tenant, out)
		}
	}
	for _, want := range []string{
		"Tenant A: summary.json tenant_id " + tenantA + ";",
		"Tenant B: summary.json tenant_id " + idB + ";",
		"Tenant B's token for tenant A's report: refused (exit 2), no request sent.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo does not say %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, ", 0 without its own token; 0 of its report's "); n != 2 {
		t.Errorf("%d tenants saw only their own token and rows, want 2:\n%s", n, out)
	}
	if !strings.Contains(errs, "was written for tenant "+tenantA) {
		t.Errorf("the refused restore does not say the report is tenant A's:\n%s", errs)
	}
}

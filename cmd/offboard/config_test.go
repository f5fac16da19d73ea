package main

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/offboard/offboard/report/location"
)

// runFlagVariables lists the OFFBOARD_* variable of every flag of run.
func runFlagVariables(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	// parseRunFlags looks up the variable of every flag it registers.
	var seen []string
	_, _ = parseRunFlags(nil, func(n string) (string, bool) { seen = append(seen, n); return "", false }, io.Discard)
	for _, n := range seen {
		names[n] = true
	}
	if len(names) < 15 {
		t.Fatalf("only %d flag variables found", len(names))
	}
	return names
}

func TestEnvironmentVariablesAndFlags(t *testing.T) {
	env := map[string]string{
		"OFFBOARD_INPUT":          "in.csv",
		"OFFBOARD_REPORT":         "out",
		"OFFBOARD_MAX_REMOVALS":   "5",
		"OFFBOARD_SOURCES":        "directory, groups,directory",
		"OFFBOARD_PROTECT":        "AAAAAAAA-0000-0000-0000-000000000000",
		"OFFBOARD_DRY_RUN":        "true",
		"OFFBOARD_GRAPH_ENDPOINT": "http://127.0.0.1:9/",
	}
	lookup := func(n string) (string, bool) { v, ok := env[n]; return v, ok }
	c, err := parseRunFlags([]string{"--max-removals", "7"}, lookup, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxRemovals != 7 {
		t.Errorf("max removals %d: the flag must win over the variable", c.MaxRemovals)
	}
	if c.Input != "in.csv" || c.Report != "out" || !c.DryRun {
		t.Errorf("variables not read: %+v", c)
	}
	if strings.Join(c.Sources, ",") != "directory,groups" {
		t.Errorf("sources %v", c.Sources)
	}
	if !c.Protect["aaaaaaaa-0000-0000-0000-000000000000"] {
		t.Errorf("protect %v", c.Protect)
	}
	if c.GraphEndpoint != "http://127.0.0.1:9" || c.ARMEndpoint != "https://management.azure.com" {
		t.Errorf("endpoints %q %q", c.GraphEndpoint, c.ARMEndpoint)
	}
}

func TestConfigErrors(t *testing.T) {
	base := []string{"--input", "x", "--report", "y"}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--report", "y"}, "--input is required"},
		{append(base, "--sources", "azure"), "needs --azure-scopes"},
		{append(base, "--sources", "mail"), "unknown source"},
		{append(base, "--concurrency", "0"), "--concurrency"},
		{append(base, "--cloud", "mars"), "--cloud"},
		{append(base, "--graph-endpoint", "http://graph.example.com"), "only on loopback"},
		{append(base, "--graph-endpoint", "ftp://127.0.0.1"), "scheme"},
		{append(base, "--self-id", "me"), "--self-id"},
		{append(base, "--log-format", "xml"), "--log-format"},
		{append(base, "stray"), "unexpected argument"},
	}
	for _, tt := range tests {
		_, err := parseRunFlags(tt.args, func(string) (string, bool) { return "", false }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestClouds(t *testing.T) {
	for name, want := range map[string][2]string{
		"public":   {"https://graph.microsoft.com", "https://management.azure.com"},
		"usgov":    {"https://graph.microsoft.us", "https://management.usgovcloudapi.net"},
		"usgovdod": {"https://dod-graph.microsoft.us", "https://management.usgovcloudapi.net"},
		"china":    {"https://microsoftgraph.chinacloudapi.cn", "https://management.chinacloudapi.cn"},
	} {
		c, err := parseRunFlags([]string{"--input", "x", "--report", "y", "--cloud", name}, func(string) (string, bool) { return "", false }, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if c.GraphEndpoint != want[0] || c.ARMEndpoint != want[1] || c.ARMOverride() != "" {
			t.Errorf("%s: %q %q", name, c.GraphEndpoint, c.ARMEndpoint)
		}
	}
}

// TestDeployUsesRealFlags keeps deploy/ honest: every OFFBOARD_* variable
// it sets is the variable of a flag of run (or the static token, which
// deploy/ must never set).
func TestDeployUsesRealFlags(t *testing.T) {
	known := runFlagVariables(t)
	// A secret is a variable the job reads, never a flag (a command line
	// shows in process listings).
	known[location.KeyEnv] = true
	// How the job authenticates, and --tenant's second name.
	known[app.AuthEnv], known[app.ManagedIdentityEnv], known[tenantIDVar] = true, true, true
	b, err := os.ReadFile("../../deploy/job.bicep")
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`OFFBOARD_[A-Z_]+`).FindAllString(string(b), -1)
	if len(used) == 0 {
		t.Fatal("deploy/job.bicep sets no OFFBOARD_* variable")
	}
	for _, v := range used {
		if !known[v] {
			t.Errorf("deploy/job.bicep sets %s, which is no flag of run", v)
		}
	}
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^USER\s+nonroot`).Match(df) || !strings.Contains(string(df), "CGO_ENABLED=0") {
		t.Error("the image must build statically and run as a non-root user")
	}
}

func TestTimeoutFlags(t *testing.T) {
	base := []string{"--input", "x", "--report", "y"}
	none := func(string) (string, bool) { return "", false }
	c, err := parseRunFlags(base, none, io.Discard)
	if err != nil || c.Timeout != 0 || c.RequestTimeout != 60*time.Second {
		t.Fatalf("defaults: timeout %v, request timeout %v, %v", c.Timeout, c.RequestTimeout, err)
	}
	env := map[string]string{"OFFBOARD_TIMEOUT": "45m", "OFFBOARD_REQUEST_TIMEOUT": "5s"}
	c, err = parseRunFlags(append(base, "--request-timeout", "1s"), func(n string) (string, bool) { v, ok := env[n]; return v, ok }, io.Discard)
	if err != nil || c.Timeout != 45*time.Minute || c.RequestTimeout != time.Second {
		t.Fatalf("timeout %v, request timeout %v, %v: want the variable's 45m and the flag's 1s", c.Timeout, c.RequestTimeout, err)
	}
	for _, args := range [][]string{{"--timeout", "-1s"}, {"--request-timeout", "0s"}} {
		if _, err := parseRunFlags(append(base, args...), none, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

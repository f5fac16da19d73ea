package main

// End-to-end tests: the offboard binary (this test binary, re-executed as
// main) against the simulated tenant over real HTTP, driven only through
// the contract's flags, variables, files and exit codes.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/location"
	"github.com/offboard/offboard/simtenant"
)

// asMain makes the test binary behave as the offboard binary when the
// variable is set, so that end-to-end tests run the real main, built once
// with the test and as the test is (with the race detector under make
// test-race), without linking the SDKs into a second binary.
const asMain = "OFFBOARD_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		main()
		return
	}
	code := m.Run()
	stopEmulator()
	os.Exit(code)
}

// tenant is a simulated tenant served on a loopback port for one test.
type tenant struct {
	*simtenant.Tenant
	url string
}

func startTenant(t *testing.T, cfg simtenant.Config) *tenant {
	t.Helper()
	tn := simtenant.New(cfg)
	return serve(t, tn)
}

func serve(t *testing.T, tn *simtenant.Tenant) *tenant {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := tn.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		if v := tn.Violations(); len(v) > 0 {
			t.Errorf("the simulated tenant saw requests a real one would punish:\n%s", strings.Join(v, "\n"))
		}
	})
	return &tenant{Tenant: tn, url: srv.URL()}
}

// user adds a user holding n directory role assignments.
func (tn *tenant) user(upn string, n int) (string, []string) {
	u := tn.AddUser(simtenant.User{UserPrincipalName: upn, DisplayName: upn})
	roles := []string{simtenant.UserAdministrator, simtenant.HelpdeskAdministrator, simtenant.SecurityReader,
		simtenant.ApplicationAdministrator, simtenant.GlobalReader, simtenant.ExchangeAdministrator}
	var ids []string
	for i := range n {
		a := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: u.ID, RoleDefinitionID: roles[i%len(roles)],
			DirectoryScopeID: scopeFor(i, len(roles))})
		ids = append(ids, a.ID)
	}
	return u.ID, ids
}

func scopeFor(i, roles int) string {
	if i < roles {
		return "/"
	}
	return fmt.Sprintf("/administrativeUnits/00000000-0000-0000-0000-%012d", i)
}

// result is what one execution of the binary left.
type result struct {
	code           int
	stdout, stderr string
}

// offboard runs the binary against the tenant with the static token; env
// entries ("NAME=value") come after the defaults and override them, and a
// bare "NAME" unsets NAME.
func (tn *tenant) offboard(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := tn.command(t, env, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("running offboard: %v", err)
	}
	r := result{code: code, stdout: out.String(), stderr: errb.String()}
	if strings.Contains(r.stderr, "WARNING: DATA RACE") {
		t.Fatalf("the binary raced:\n%s", r.stderr)
	}
	if tok := tn.Token(); strings.Contains(r.stdout+r.stderr, tok) {
		t.Fatal("the token appeared in the output")
	}
	if dir := reportArg(args, env); dir != "" && !strings.HasPrefix(dir, "/proc/") {
		checkNoToken(t, dir, tn.Token())
	}
	return r
}

// reportArg is the report directory a command line (or its environment)
// names, or "".
func reportArg(args, env []string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--report="); ok {
			return v
		}
		if a == "--report" && i+1 < len(args) {
			return args[i+1]
		}
	}
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "OFFBOARD_REPORT="); ok {
			return v
		}
	}
	return ""
}

// fataler is the part of testing.TB checkNoToken uses.
type fataler interface {
	Helper()
	Fatalf(format string, args ...any)
}

// checkNoToken fails the test when any file under dir holds the token.
func checkNoToken(t fataler, dir, token string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(token)) {
			t.Fatalf("the token appeared in %s", path)
		}
		return nil
	})
}

func (tn *tenant) command(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	base := []string{asMain + "=1", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"OFFBOARD_STATIC_TOKEN=" + tn.Token(), "OFFBOARD_GRAPH_ENDPOINT=" + tn.url,
		// Every run and restore of a test shares one journal key (HOME,
		// where a key file would be, is new for each).
		location.KeyEnv + "=" + testJournalKey}
	for _, e := range env {
		if !strings.Contains(e, "=") {
			base = slices.DeleteFunc(base, func(b string) bool { return strings.HasPrefix(b, e+"=") })
			continue
		}
		base = append(base, e)
	}
	cmd.Env = base
	return cmd
}

// writeCSV writes an input file and returns its path.
func writeCSV(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "departures.csv")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// row is one line of report.csv.
type row map[string]string

func readReport(t *testing.T, dir string) []row {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := "principal_id,user_principal_name,reference,source,kind,assignment_id,role_definition_id,role_name,scope,status,detail,attempts,updated_at"
	if got := strings.Join(recs[0], ","); got != want {
		t.Fatalf("report header %q", got)
	}
	var rows []row
	for _, rec := range recs[1:] {
		r := row{}
		for i, h := range recs[0] {
			r[h] = rec[i]
		}
		rows = append(rows, r)
	}
	return rows
}

func byAssignment(rows []row) map[string]row {
	out := map[string]row{}
	for _, r := range rows {
		if r["assignment_id"] != "" {
			out[r["assignment_id"]] = r
		}
	}
	return out
}

func readSummary(t *testing.T, dir string) report.Summary {
	t.Helper()
	s, err := report.ReadSummary(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writes lists the write requests the tenant received, each sub-request
// of a $batch on its own (the log holds them after their batch) and the
// batch itself not: what a test looks at is what was asked of the service.
// POST /directoryObjects/getByIds is a read (Graph documents it as one,
// and the simulated tenant throttles it as one).
func (tn *tenant) writes() []simtenant.Request {
	var out []simtenant.Request
	for _, r := range tn.Requests() {
		if r.Method != http.MethodGet && !isBatch(r) && !strings.HasSuffix(r.Path, "/directoryObjects/getByIds") {
			out = append(out, r)
		}
	}
	return out
}

// isBatch reports whether a logged request is a $batch (its sub-requests
// are logged after it, InBatch set).
func isBatch(r simtenant.Request) bool { return r.Path == "/v1.0/$batch" }

func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstderr:\n%s", r.code, code, r.stderr)
	}
}

func TestDemoTenantEveryStatusAndCleanRerun(t *testing.T) {
	t.Parallel()
	tn, sample := simtenant.Generate(simtenant.Config{Seed: 7, PageSize: 3}, 30)
	env := serve(t, tn)
	input := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(input, sample.CSV, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "report")
	args := []string{"run", "--input", input, "--report", dir, "--protect", strings.Join(sample.Protect, ","),
		"--sources", "directory,pim,groups,azure", "--azure-scopes", "all", "--arm-endpoint", env.url}
	r := env.offboard(t, nil, args...)
	wantCode(t, r, 1) // the sample has invalid lines

	rows := readReport(t, dir)
	got := byAssignment(rows)
	for _, id := range sample.Removable {
		if got[id]["status"] != "removed" {
			t.Errorf("assignment %s: %q, want removed", id, got[id]["status"])
		}
		if _, ok := tn.RoleAssignment(id); ok {
			t.Errorf("assignment %s is still in the tenant", id)
		}
	}
	for _, id := range sample.DirectEligibilities {
		if got[id]["status"] != "removed" || got[id]["source"] != "pim" {
			t.Errorf("eligibility %s: %v", id, got[id])
		}
	}
	for _, m := range sample.AssignableMemberships {
		if slices.Contains(tn.MemberOf(m[1]), m[0]) {
			t.Errorf("%s is still a member of role-assignable group %s", m[1], m[0])
		}
	}
	for _, m := range sample.PlainMemberships {
		if !slices.Contains(tn.MemberOf(m[1]), m[0]) {
			t.Errorf("%s lost its membership of plain group %s", m[1], m[0])
		}
	}
	for _, id := range sample.ARM.Removable {
		if got[id]["status"] != "removed" || got[id]["source"] != "azure" {
			t.Errorf("Azure assignment %s: %v", id, got[id])
		}
	}
	for _, id := range sample.ARM.Remaining {
		if _, ok := tn.ARMRoleAssignment(id); !ok {
			t.Errorf("Azure assignment %s was removed", id)
		}
	}
	for _, id := range sample.Ghosts {
		if got[id]["status"] != "already-absent" {
			t.Errorf("ghost %s: %q, want already-absent", id, got[id]["status"])
		}
	}
	counts := map[string]int{}
	details := map[string]bool{}
	for _, r := range rows {
		counts[r["status"]]++
		if r["status"] == "skipped" {
			details[r["detail"]] = true
		}
		if r["principal_id"] == sample.Formula && !strings.HasPrefix(r["reference"], "'=") {
			t.Errorf("formula reference written as %q", r["reference"])
		}
	}
	for _, s := range []string{"removed", "already-absent", "skipped", "invalid", "deferred", "no-assignments"} {
		if counts[s] == 0 {
			t.Errorf("no %s row in the report: %v", s, counts)
		}
	}
	if !details["self"] || !details["protected"] {
		t.Errorf("skipped details %v, want self and protected", details)
	}
	// Issue 27: the sample's unknown UPN is not-found, the others invalid.
	if counts["invalid"]+counts["not-found"] != len(sample.InvalidLines) || counts["not-found"] != 1 {
		t.Errorf("%d invalid and %d not-found rows, want %d in all, one not-found", counts["invalid"], counts["not-found"], len(sample.InvalidLines))
	}
	for _, id := range append(append([]string{}, sample.BreakGlass...), sample.Protect...) {
		if len(tn.RoleAssignmentsOf(id)) == 0 {
			t.Errorf("principal %s lost its assignments", id)
		}
	}
	if len(tn.RoleAssignmentsOf(sample.Self)) == 0 {
		t.Error("the job removed its own assignments")
	}
	s := readSummary(t, dir)
	if s.ExitCode != 1 || s.Counts["removed"] != counts["removed"] || s.InputSHA256 == "" || s.DryRun {
		t.Errorf("summary %+v", s)
	}

	// A rerun of a finished run sends no write and rewrites the report
	// byte for byte.
	before, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	tn.ResetRequests()
	r = env.offboard(t, nil, args...)
	wantCode(t, r, 1)
	after, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	if !bytes.Equal(before, after) {
		t.Errorf("the rerun changed report.csv:\n%s\n---\n%s", before, after)
	}
	if w := env.writes(); len(w) != 0 {
		t.Errorf("the rerun sent %d write requests, first %s %s", len(w), w[0].Method, w[0].Path)
	}
}

func TestPagingAndGroupedListing(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 1, PageSize: 4})
	var lines = []string{"principal_id"}
	var all []string
	for i := range 20 {
		id, ids := tn.user(fmt.Sprintf("u%d@contoso.com", i), 1+i%9)
		lines = append(lines, id)
		all = append(all, ids...)
	}
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, lines...), "--report", dir), 0)
	got := byAssignment(readReport(t, dir))
	for _, id := range all {
		if got[id]["status"] != "removed" {
			t.Errorf("%s: %q, want removed", id, got[id]["status"])
		}
	}
	if left := tn.RoleAssignments(); len(left) != 0 {
		t.Errorf("%d assignments left", len(left))
	}
	var lists, pages int
	for _, r := range tn.Requests() {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/roleAssignments") {
			lists++
			if strings.Contains(r.RawQuery, "skiptoken") {
				pages++
			}
		}
	}
	if pages == 0 {
		t.Error("no @odata.nextLink was followed")
	}
	if firsts := lists - pages; firsts > 2 {
		t.Errorf("%d first-page listings for 20 principals, want them grouped with in (...)", firsts)
	}
}

func TestThrottledDeleteWaitsForRetryAfter(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 2})
	id, ids := tn.user("alice@contoso.com", 20)
	var throttledAt time.Time
	tn.AddRule(simtenant.Rule{Method: "DELETE", Times: 1, Status: 429,
		Header: http.Header{"Retry-After": {"2"}},
		After:  func(*http.Request, int) { throttledAt = time.Now() }})
	// The other removals answer slowly, so that the workers sending them
	// learn of the 429 before they could send again.
	tn.AddRule(simtenant.Rule{Method: "DELETE", Delay: 300 * time.Millisecond})
	dir := t.TempDir()
	const workers = 4
	// One request a removal: this is about workers that each have one in
	// flight (TestBatchedRunAgainstAThrottlingTenant has the batched case).
	r := tn.offboard(t, []string{fmt.Sprintf("OFFBOARD_CONCURRENCY=%d", workers), "OFFBOARD_GRAPH_BATCH_SIZE=1"},
		"run", "--input", writeCSV(t, "principal_id", id), "--report", dir)
	wantCode(t, r, 0)
	attempts := 0
	for _, r := range readReport(t, dir) {
		if r["status"] != "removed" {
			t.Errorf("%s: %s", r["assignment_id"], r["status"])
		}
		if r["attempts"] == "2" {
			attempts++
		}
	}
	if attempts != 1 {
		t.Errorf("%d rows took 2 attempts, want the throttled one", attempts)
	}
	// Requests already in flight when the 429 was answered may still
	// arrive; no worker may start a new one before the wait has passed.
	early := 0
	for _, r := range tn.Requests() {
		if r.At.After(throttledAt) && r.At.Before(throttledAt.Add(2*time.Second)) {
			early++
		}
	}
	if early > workers-1 {
		t.Errorf("%d requests arrived within the 2s a 429 asked for; at most %d were in flight", early, workers-1)
	}
	if len(tn.RoleAssignments()) != 0 || len(ids) != 20 {
		t.Error("assignments left")
	}
}

func TestServerErrorStormIsRetried(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 3})
	id, _ := tn.user("bob@contoso.com", 2)
	tn.AddRule(simtenant.Rule{Times: 3, Status: 503})
	tn.AddRule(simtenant.Rule{Method: "DELETE", Times: 2, Status: 500})
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir), 0)
	if len(tn.RoleAssignments()) != 0 {
		t.Error("assignments left after a storm of 5xx")
	}

	// A storm longer than the retry budget fails the rows, and a rerun
	// once it has passed finishes the job.
	id2, _ := tn.user("carol@contoso.com", 2)
	tn.AddRule(simtenant.Rule{Method: "DELETE", Times: 4, Status: 502})
	dir2 := t.TempDir()
	input := writeCSV(t, "principal_id", id2)
	r := tn.offboard(t, []string{"OFFBOARD_MAX_ATTEMPTS=2"}, "run", "--input", input, "--report", dir2)
	wantCode(t, r, 1)
	for _, row := range readReport(t, dir2) {
		if row["status"] != "failed" || !strings.Contains(row["detail"], "502") || row["attempts"] != "2" {
			t.Errorf("row %v, want failed with the 502 after 2 attempts", row)
		}
	}
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir2), 0)
	for _, row := range readReport(t, dir2) {
		if row["status"] != "removed" {
			t.Errorf("after the rerun: %v", row)
		}
	}
}

func TestFinalErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			tn := startTenant(t, simtenant.Config{Seed: 4})
			id, ids := tn.user("dave@contoso.com", 2)
			tn.AddRule(simtenant.Rule{Method: "DELETE", PathContains: ids[0], Status: 403, Legacy: legacy,
				Code: "Authorization_RequestDenied", Message: "Insufficient privileges to complete the operation."})
			dir := t.TempDir()
			wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir), 1)
			got := byAssignment(readReport(t, dir))
			f := got[ids[0]]
			if f["status"] != "failed" || f["attempts"] != "1" ||
				!strings.Contains(f["detail"], "Authorization_RequestDenied") || !strings.Contains(f["detail"], "Insufficient privileges") {
				t.Errorf("forbidden row %v", f)
			}
			if got[ids[1]]["status"] != "removed" {
				t.Errorf("the other row %v", got[ids[1]])
			}
			n := 0
			for _, w := range tn.writes() {
				if strings.Contains(w.Path, ids[0]) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d DELETEs of the forbidden assignment, want 1", n)
			}
		})
	}
}

func TestSelfGlobalAdministratorRefusalIsAFailedRow(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 5})
	ga := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: tn.CallerID(), RoleDefinitionID: simtenant.GlobalAdministrator})
	tn.user("breakglass@contoso.com", 0)
	bg, _ := tn.User("breakglass@contoso.com")
	tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: bg.ID, RoleDefinitionID: simtenant.GlobalAdministrator})
	other := "99999999-9999-4999-8999-999999999999"
	dir := t.TempDir()
	// --self-id names someone else, so the job does not know the caller
	// is itself: the service's refusal must end as a failed row.
	r := tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", tn.CallerID()), "--report", dir, "--self-id", other)
	wantCode(t, r, 1)
	row := byAssignment(readReport(t, dir))[ga.ID]
	if row["status"] != "failed" || !strings.Contains(row["detail"], "Removing self from Global Administrator") {
		t.Errorf("row %v", row)
	}
}

func TestInjectionAndBadInputNeverReachTheService(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 6})
	id, _ := tn.user("erin@contoso.com", 1)
	hostile := []string{
		"principal_id,user_principal_name,reference",
		`"00000000-0000-0000-0000-000000000000' or principalId ne '",,HR-1`,
		`"x' or 1 eq 1",,HR-2`,
		`,"a/../../roleManagement@contoso.com",HR-3`,
		`,"erin@contoso.com?$filter=x",HR-4`,
		id + ",,HR-5",
	}
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, hostile...), "--report", dir), 1)
	invalid := 0
	for _, r := range readReport(t, dir) {
		if r["status"] == "invalid" {
			invalid++
			if !strings.HasPrefix(r["detail"], "line ") {
				t.Errorf("invalid detail %q does not name the line", r["detail"])
			}
		}
	}
	if invalid != 4 {
		t.Errorf("%d invalid rows, want 4", invalid)
	}
	for _, r := range readReport(t, dir) {
		if r["status"] == "failed" {
			t.Errorf("failed row %v", r)
		}
	}
	// Every quoted literal of every $filter, decoded, is the one valid id
	// of the input (or the Global Administrator role the guard lists);
	// no path carries what a hostile line holds.
	allowed := map[string]bool{id: true, simtenant.GlobalAdministrator: true}
	filters := 0
	for _, r := range tn.Requests() {
		q, err := url.ParseQuery(r.RawQuery)
		if err != nil {
			t.Errorf("%s %s: query %q does not decode: %v", r.Method, r.Path, r.RawQuery, err)
			continue
		}
		for _, f := range q["$filter"] {
			filters++
			literals, ok := odataLiterals(f)
			if !ok {
				t.Errorf("%s %s: $filter %q has an unterminated string", r.Method, r.Path, f)
			}
			for _, l := range literals {
				if !allowed[strings.ToLower(l)] {
					t.Errorf("%s %s: $filter %q carries %q, not a valid id of the input", r.Method, r.Path, f, l)
				}
			}
		}
		for _, bad := range []string{"..", "roleManagement@", "$filter=x", "principalId ne"} {
			if strings.Contains(r.Path, bad) {
				t.Errorf("%s %s carries %q", r.Method, r.Path, bad)
			}
		}
	}
	if filters == 0 {
		t.Error("no request had a $filter: the listing was not looked at")
	}
}

// odataLiterals returns the string literals of an OData expression
// (a doubled quote inside one stands for a quote); ok is false when a
// literal is not terminated.
func odataLiterals(expr string) (literals []string, ok bool) {
	for i := 0; i < len(expr); i++ {
		if expr[i] != '\'' {
			continue
		}
		var b strings.Builder
		for i++; ; i++ {
			if i >= len(expr) {
				return literals, false
			}
			if expr[i] == '\'' {
				if i+1 < len(expr) && expr[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				break
			}
			b.WriteByte(expr[i])
		}
		literals = append(literals, b.String())
	}
	return literals, true
}

func TestGuestUPNIsResolvedEncoded(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 8})
	upn := "frank_fabrikam.com#EXT#@contoso.onmicrosoft.com"
	id, ids := tn.user(upn, 2)
	// Someone whose UPN is what an unencoded '#' would leave of the guest's.
	decoy, decoyIDs := tn.user("frank_fabrikam.com@contoso.onmicrosoft.com", 1)
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "user_principal_name", upn), "--report", dir), 0)
	got := byAssignment(readReport(t, dir))
	for _, a := range ids {
		if got[a]["status"] != "removed" || got[a]["principal_id"] != id || got[a]["user_principal_name"] != upn {
			t.Errorf("guest row %v", got[a])
		}
	}
	if len(tn.RoleAssignmentsOf(decoy)) != len(decoyIDs) {
		t.Error("the decoy lost an assignment")
	}
	found := false
	for _, r := range tn.Requests() {
		// In the path of GET /users/{upn}, or (bulk resolution) in the
		// query of GET /users?$filter=userPrincipalName in (...).
		if strings.Contains(r.EscapedPath, "%23EXT%23") || strings.Contains(r.RawQuery, "%23EXT%23") {
			found = true
		}
	}
	if !found {
		t.Error("no request carried the guest UPN percent-encoded")
	}
}

func TestDryRunAndPlanSendNoWrite(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 9})
	id, ids := tn.user("gina@contoso.com", 3)
	input := writeCSV(t, "principal_id", id)
	for _, args := range [][]string{{"plan"}, {"run", "--dry-run"}} {
		dir := t.TempDir()
		wantCode(t, tn.offboard(t, nil, append(args, "--input", input, "--report", dir)...), 0)
		for _, r := range readReport(t, dir) {
			if r["status"] != "planned" {
				t.Errorf("%v: row %v, want planned", args, r)
			}
		}
		if !readNamedSummary(t, dir, "plan-summary.json").DryRun {
			t.Errorf("%v: plan summary dry_run false", args)
		}
	}
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("a dry run sent %s %s", w[0].Method, w[0].Path)
	}
	if len(tn.RoleAssignmentsOf(id)) != len(ids) {
		t.Error("a dry run removed something")
	}
}

func TestMaxRemovalsGuard(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 10})
	id, _ := tn.user("hal@contoso.com", 4)
	dir := t.TempDir()
	r := tn.offboard(t, []string{"OFFBOARD_MAX_REMOVALS=3"}, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir)
	wantCode(t, r, 3)
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("the guard let %s %s through", w[0].Method, w[0].Path)
	}
	s := readSummary(t, dir)
	if s.ExitCode != 3 || !strings.Contains(s.Guard, "max-removals") || s.Counts["planned"] != 4 {
		t.Errorf("summary %+v", s)
	}
	// The flag wins over the variable.
	r = tn.offboard(t, []string{"OFFBOARD_MAX_REMOVALS=3"}, "run", "--input", writeCSV(t, "principal_id", id), "--report", t.TempDir(), "--max-removals", "4")
	wantCode(t, r, 0)
}

func TestProtectedAndSelfAreListedButNeverTouched(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 11})
	keep, keepIDs := tn.user("breakglass@contoso.com", 2)
	ga := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: tn.CallerID(), RoleDefinitionID: simtenant.GlobalAdministrator})
	dir := t.TempDir()
	r := tn.offboard(t, []string{"OFFBOARD_PROTECT=" + strings.ToUpper(keep)}, "run",
		"--input", writeCSV(t, "principal_id,user_principal_name", keep+",", ",breakglass@contoso.com", tn.CallerID()+","), "--report", dir)
	wantCode(t, r, 0)
	got := byAssignment(readReport(t, dir))
	for _, a := range keepIDs {
		if got[a]["status"] != "skipped" || got[a]["detail"] != "protected" {
			t.Errorf("protected row %v", got[a])
		}
	}
	if got[ga.ID]["status"] != "skipped" || got[ga.ID]["detail"] != "self" {
		t.Errorf("self row %v", got[ga.ID])
	}
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("sent %s %s", w[0].Method, w[0].Path)
	}
}

func TestReportDirectoryBelongsToOneInputAndOneRun(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 12})
	id, _ := tn.user("ivan@contoso.com", 1)
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir), 0)
	before, _ := os.ReadFile(filepath.Join(dir, "journal.jsonl"))
	tn.ResetRequests()
	r := tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id, "00000000-0000-0000-0000-000000000001"), "--report", dir)
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, "another input") {
		t.Errorf("stderr does not say why: %s", r.stderr)
	}

	// A run that holds the directory keeps a second one out.
	other := t.TempDir()
	d, err := report.Open(other, "x", report.RunInfo{ID: "held"})
	if err != nil {
		t.Fatal(err)
	}
	r = tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", other)
	_ = d.Close()
	wantCode(t, r, 2)
	after, _ := os.ReadFile(filepath.Join(dir, "journal.jsonl"))
	if !bytes.Equal(before, after) {
		t.Error("a refused run changed the journal")
	}
	if len(tn.Requests()) != 0 {
		t.Errorf("a refused run sent %d requests", len(tn.Requests()))
	}
}

func TestUsageAndInputErrorsExit2BeforeAnyRequest(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 13})
	dir := t.TempDir()
	cases := []struct {
		name string
		env  []string
		args []string
	}{
		{"no input", nil, []string{"run", "--report", dir}},
		{"missing file", nil, []string{"run", "--input", filepath.Join(dir, "nope.csv"), "--report", dir}},
		{"empty file", nil, []string{"run", "--input", writeCSV(t), "--report", dir}},
		{"no id column", nil, []string{"run", "--input", writeCSV(t, "name,reference", "x,y"), "--report", dir}},
		{"not CSV", nil, []string{"run", "--input", writeCSV(t, "principal_id", `"unterminated`), "--report", dir}},
		{"unknown source", nil, []string{"run", "--input", writeCSV(t, "principal_id"), "--report", dir, "--sources", "directory,mailboxes"}},
		{"bad variable", []string{"OFFBOARD_CONCURRENCY=many"}, []string{"run", "--input", writeCSV(t, "principal_id"), "--report", dir}},
		{"static token off loopback", []string{"OFFBOARD_GRAPH_ENDPOINT=https://graph.microsoft.com"}, []string{"run", "--input", writeCSV(t, "principal_id"), "--report", dir}},
		{"bad protect id", nil, []string{"run", "--input", writeCSV(t, "principal_id"), "--report", dir, "--protect", "admin"}},
	}
	// The tenant's log cannot see a request to a real host: a recording
	// proxy can.
	proxy := startRecordingProxy(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := tn.offboard(t, append(proxy.env(), c.env...), c.args...)
			wantCode(t, r, 2)
			if len(strings.TrimSpace(r.stderr)) == 0 {
				t.Error("no message on stderr")
			}
		})
	}
	if n := len(tn.Requests()); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
	proxy.wantNothingSent(t)
}

// longTenant is a tenant whose deletes take a while: 40 principals with
// 5 assignments each, 30 ms a request.
func longTenant(t *testing.T) (*tenant, string, []string) {
	tn := startTenant(t, simtenant.Config{Seed: 14, Latency: 30 * time.Millisecond})
	lines := []string{"principal_id"}
	var all []string
	for i := range 40 {
		id, ids := tn.user(fmt.Sprintf("p%d@contoso.com", i), 5)
		lines = append(lines, id)
		all = append(all, ids...)
	}
	return tn, writeCSV(t, lines...), all
}

// waitForDeletes waits until the tenant has answered n DELETEs.
func waitForDeletes(t *testing.T, tn *tenant, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if tn.Stats().ByMethodStatus["DELETE"][http.StatusNoContent] >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the tenant did not see %d deletes", n)
}

// TestKillNineThenRerunLosesNothing kills the job in the 40th of its 200
// DELETEs, once the tenant has made it: the rerun reports that removal
// `confirmed absent on rerun` (and every other one the killed run made but
// did not journal), keeps what the journal holds as it was, and sends a
// write for nothing the killed run removed.
func TestKillNineThenRerunLosesNothing(t *testing.T) {
	t.Parallel()
	tn, input, all := longTenant(t)
	dir := t.TempDir()
	cmd := tn.command(t, []string{"OFFBOARD_CONCURRENCY=4"}, "run", "--input", input, "--report", dir)
	landed := killAt(t, tn.Tenant, cmd, 40, func(r *http.Request) bool { return r.Method == http.MethodDelete }).wait(t)
	tn.ClearRules()
	victim := filepath.Base(landed.URL.Path)

	// What the tenant removed before the kill, and what the journal says
	// was done.
	seen := map[string]bool{}
	for _, r := range tn.Requests() {
		if r.Method == http.MethodDelete && r.Status == http.StatusNoContent {
			seen[filepath.Base(r.Path)] = true
		}
	}
	if !seen[victim] || len(seen) >= len(all) {
		t.Fatalf("the tenant made %d of %d removals, the one the kill landed in (%s): %v", len(seen), len(all), victim, seen[victim])
	}
	journaled := map[string]bool{}
	for k := range journaledDone(t, dir) {
		journaled[k[strings.LastIndexByte(k, '|')+1:]] = true
	}
	if journaled[victim] {
		t.Fatalf("the killed run journaled the outcome of %s, whose answer it never got", victim)
	}

	tn.ResetRequests()
	r := tn.offboard(t, nil, "run", "--input", input, "--report", dir)
	wantCode(t, r, 0)
	rows := readReport(t, dir)
	got := byAssignment(rows)
	if len(got) != len(all) || len(rows) != len(all) {
		t.Errorf("%d rows for %d assignments", len(rows), len(all))
	}
	confirmed := 0
	for _, id := range all {
		want := ""
		if seen[id] && !journaled[id] {
			want = "confirmed absent on rerun"
			confirmed++
		}
		if got[id]["status"] != "removed" || got[id]["detail"] != want {
			t.Errorf("%s: %v, want removed with detail %q", id, got[id], want)
		}
	}
	if confirmed == 0 {
		t.Error("no removal was confirmed absent on rerun")
	}
	writes := tn.writes()
	for _, w := range writes {
		if seen[filepath.Base(w.Path)] {
			t.Errorf("the rerun sent %s %s, removed before the kill", w.Method, w.Path)
		}
	}
	if len(writes) != len(all)-len(seen) {
		t.Errorf("the rerun sent %d writes for the %d assignments left", len(writes), len(all)-len(seen))
	}
	if left := tn.RoleAssignments(); len(left) != 0 {
		t.Errorf("%d assignments left after the rerun", len(left))
	}
}

func TestSIGTERMStopsWithExit4AndAReport(t *testing.T) {
	t.Parallel()
	tn, input, all := longTenant(t)
	dir := t.TempDir()
	cmd := tn.command(t, []string{"OFFBOARD_CONCURRENCY=2"}, "run", "--input", input, "--report", dir)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForDeletes(t, tn, 10)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 4 {
		t.Fatalf("exit %d after SIGTERM, want 4\n%s", code, errb.String())
	}
	s := readSummary(t, dir)
	rows := readReport(t, dir)
	if s.ExitCode != 4 || s.Counts["planned"] == 0 || s.Counts["removed"] == 0 {
		t.Errorf("summary after SIGTERM %+v", s)
	}
	statuses := map[string]bool{}
	for _, r := range rows {
		statuses[r["status"]] = true
	}
	if !slices.Equal(sortedKeys(statuses), []string{"planned", "removed"}) {
		t.Errorf("statuses %v, want planned and removed", statuses)
	}
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir), 0)
	if left := tn.RoleAssignments(); len(left) != 0 || len(readReport(t, dir)) != len(all) {
		t.Errorf("%d assignments left after the rerun", len(left))
	}
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestLogsHaveOneLinePerOutcome(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 15})
	id, ids := tn.user("judy@contoso.com", 3)
	r := tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", t.TempDir())
	wantCode(t, r, 0)
	outcomes := 0
	var final map[string]any
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		switch m["msg"] {
		case "outcome":
			outcomes++
			for _, f := range []string{"principal_id", "source", "kind", "assignment_id", "role_name", "status", "attempts", "latency_ms"} {
				if _, ok := m[f]; !ok {
					t.Errorf("outcome line without %s: %s", f, line)
				}
			}
			if m["kind"] != "directory-role" || m["role_name"] == "" {
				t.Errorf("outcome line's kind %v, role_name %v", m["kind"], m["role_name"])
			}
		case "run finished":
			final = m
		}
	}
	if outcomes != len(ids) || final == nil || final["removed"] != float64(3) {
		t.Errorf("%d outcome lines, final %v", outcomes, final)
	}
}

func TestPIMAndGroupsSources(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 16, RevokedLinger: time.Hour})
	user, userRoles := tn.user("kim@contoso.com", 1)
	sp := tn.AddServicePrincipal(simtenant.ServicePrincipal{DisplayName: "deploy-bot"})
	tier0 := tn.AddGroup(simtenant.Group{DisplayName: "Tier0 Admins", IsAssignableToRole: true})
	staff := tn.AddGroup(simtenant.Group{DisplayName: "All Staff"})
	for _, m := range [][2]string{{tier0.ID, user}, {tier0.ID, sp.ID}, {staff.ID, user}, {staff.ID, sp.ID}} {
		if err := tn.AddMember(m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	direct := tn.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: user, RoleDefinitionID: simtenant.PrivilegedRoleAdministrator})
	inherited := tn.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: user, RoleDefinitionID: simtenant.SecurityReader,
		MemberType: simtenant.MemberTypeGroup, ViaGroup: tier0.ID})

	dir := t.TempDir()
	input := writeCSV(t, "principal_id,principal_type,reference", user+",User,HR-1", sp.ID+",ServicePrincipal,HR-2")
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir), 0)

	rows := readReport(t, dir)
	bySource := map[string][]row{}
	for _, r := range rows {
		bySource[r["source"]] = append(bySource[r["source"]], r)
		if r["status"] != "removed" {
			t.Errorf("row %v", r)
		}
	}
	if len(bySource["directory"]) != len(userRoles) || len(bySource["pim"]) != 1 || len(bySource["groups"]) != 2 {
		t.Fatalf("rows by source: %v", bySource)
	}
	if p := bySource["pim"][0]; p["assignment_id"] != direct.ID || p["role_definition_id"] != simtenant.PrivilegedRoleAdministrator || p["scope"] != "/" {
		t.Errorf("pim row %v", p)
	}
	// Each row names its kind and its role as the tenant's role
	// definitions (or the group) name it.
	roleNames := map[string]string{}
	for _, d := range tn.RoleDefinitions() {
		roleNames[d.ID] = d.DisplayName
	}
	for src, kind := range map[string]string{"directory": "directory-role", "pim": "directory-role-eligibility", "groups": "group-member"} {
		for _, r := range bySource[src] {
			want := roleNames[r["role_definition_id"]]
			if src == "groups" {
				want = "Tier0 Admins"
			}
			if r["kind"] != kind || want == "" || r["role_name"] != want {
				t.Errorf("%s row: kind %q, role_name %q; want %q, %q", src, r["kind"], r["role_name"], kind, want)
			}
		}
	}
	for _, g := range bySource["groups"] {
		if g["assignment_id"] != tier0.ID || !strings.Contains(g["detail"], "Tier0 Admins") {
			t.Errorf("groups row %v", g)
		}
	}
	if len(tn.EligibilitiesOf(user)) != 0 {
		t.Errorf("eligibilities left: %v", tn.EligibilitiesOf(user))
	}
	if got := tn.MemberOf(user); !slices.Equal(got, []string{staff.ID}) {
		t.Errorf("user still in %v, want only the plain group", got)
	}
	if got := tn.MemberOf(sp.ID); !slices.Equal(got, []string{staff.ID}) {
		t.Errorf("service principal still in %v, want only the plain group", got)
	}
	for _, w := range tn.writes() {
		if strings.Contains(string(w.Body), inherited.ID) || w.Method == http.MethodPost && strings.Contains(string(w.Body), simtenant.SecurityReader) {
			t.Errorf("a write touched the group-inherited eligibility: %s %s %s", w.Method, w.Path, w.Body)
		}
		if w.Method == http.MethodDelete && strings.Contains(w.Path, "/members/") && !strings.HasSuffix(w.Path, "/$ref") {
			t.Errorf("member DELETE without /$ref: %s", w.Path)
		}
		if w.Method == http.MethodPost && !strings.Contains(string(w.Body), "HR-1") {
			t.Errorf("the justification does not carry the reference: %s", w.Body)
		}
	}

	// The revoked eligibility lingers in PIM's listing: the tenant beats
	// the journal (issue 18), so the rerun asks its removal again, finds
	// it gone, keeps its row, and sends nothing else.
	before, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	tn.ResetRequests()
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir), 0)
	after, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	if !bytes.Equal(before, after) {
		t.Errorf("the rerun changed report.csv:\n%s\n---\n%s", before, after)
	}
	for _, w := range tn.writes() {
		if !strings.HasSuffix(w.Path, "/roleEligibilityScheduleRequests") || !strings.Contains(string(w.Body), "adminRemove") {
			t.Errorf("the rerun sent %s %s", w.Method, w.Path)
		}
	}
}

func TestLastGlobalAdministratorGuard(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 17})
	ga := func(upn string) (string, string) {
		id, _ := tn.user(upn, 0)
		a := tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: id, RoleDefinitionID: simtenant.GlobalAdministrator})
		return id, a.ID
	}
	u1, a1 := ga("one@contoso.com")
	u2, a2 := ga("two@contoso.com")
	other, _ := tn.user("three@contoso.com", 1)
	input := writeCSV(t, "principal_id", u1, u2, other)
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir), 0)
	got := byAssignment(readReport(t, dir))
	for _, a := range []string{a1, a2} {
		if got[a]["status"] != "skipped" || got[a]["detail"] != "last-global-admin" {
			t.Errorf("GA row %v", got[a])
		}
		if _, ok := tn.RoleAssignment(a); !ok {
			t.Errorf("the last Global Administrator assignment %s was removed", a)
		}
	}
	if len(tn.RoleAssignmentsOf(other)) != 0 {
		t.Error("the guard held back an unrelated removal")
	}

	// A group that holds Global Administrator with a member who stays is
	// an administrator left: the two users can go.
	grp := tn.AddGroup(simtenant.Group{DisplayName: "Tier0", IsAssignableToRole: true})
	tn.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: grp.ID, RoleDefinitionID: simtenant.GlobalAdministrator})
	stays, _ := tn.user("stays@contoso.com", 0)
	if err := tn.AddMember(grp.ID, stays); err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir2), 0)
	got = byAssignment(readReport(t, dir2))
	for _, a := range []string{a1, a2} {
		if got[a]["status"] != "removed" {
			t.Errorf("GA row with a group admin left: %v", got[a])
		}
	}
}

func TestPIMManagedAssignmentRemovedThroughPIM(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 18, PIMManagedDeleteRefused: true})
	id, ids := tn.user("lee@contoso.com", 2)
	tn.MarkPIMManaged(ids[0])
	dir := t.TempDir()
	wantCode(t, tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", dir, "--sources", "directory"), 0)
	got := byAssignment(readReport(t, dir))
	if r := got[ids[0]]; r["status"] != "removed" || !strings.Contains(r["detail"], "roleAssignmentScheduleRequest") {
		t.Errorf("PIM-managed row %v", r)
	}
	if r := got[ids[1]]; r["status"] != "removed" || r["detail"] != "" {
		t.Errorf("plain row %v", r)
	}
	if len(tn.RoleAssignments()) != 0 {
		t.Error("assignments left")
	}
}

// azureTenant is a tenant with a management group holding two
// subscriptions, one with a resource group.
type azureTenant struct {
	*tenant
	mg, s1, s2, rg string
	sub1, sub2     string
}

func startAzureTenant(t *testing.T, cfg simtenant.Config) *azureTenant {
	tn := startTenant(t, cfg)
	mgID := tn.NewID()
	mg := tn.AddManagementGroup(mgID, "")
	a := &azureTenant{tenant: tn, mg: mg}
	s1 := tn.AddSubscription(simtenant.ARMSubscription{ManagementGroup: mgID})
	s2 := tn.AddSubscription(simtenant.ARMSubscription{ManagementGroup: mgID})
	a.sub1, a.sub2 = s1.ID, s2.ID
	a.s1, a.s2 = s1.Scope(), s2.Scope()
	a.rg = tn.AddResourceGroup(s1.ID, "rg-web")
	return a
}

func (a *azureTenant) assign(principal, scope, role string) string {
	return a.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: principal, Scope: scope,
		RoleDefinitionID: simtenant.ARMRoleDefinitionID(scope, role)}).ID
}

func TestAzureSource(t *testing.T) {
	t.Parallel()
	a := startAzureTenant(t, simtenant.Config{Seed: 19})
	user, _ := a.user("mia@contoso.com", 0)
	orphan := "0e0e0e0e-0000-4000-8000-000000000001" // deleted from Entra, still assigned
	stays, _ := a.user("noah@contoso.com", 0)
	atSub := a.assign(user, a.s1, simtenant.ARMOwner)
	atRG := a.assign(user, a.rg, simtenant.ARMContributor)
	atMG := a.assign(user, a.mg, simtenant.ARMReader)
	gone := a.assign(user, a.s2, simtenant.ARMReader)
	orphaned := a.assign(orphan, a.s2, simtenant.ARMContributor)
	kept := a.assign(stays, a.s1, simtenant.ARMOwner)
	elig := a.AddARMEligibilitySchedule(simtenant.ARMEligibilitySchedule{PrincipalID: user, Scope: a.s2,
		RoleDefinitionID: simtenant.ARMRoleDefinitionID(a.s2, simtenant.ARMOwner)})
	// Someone removes one assignment between the listing and the DELETE.
	a.AddRule(simtenant.Rule{Method: "DELETE", PathContains: filepath.Base(gone), Times: 1,
		Before: func(*http.Request) { a.RemoveARMRoleAssignment(gone) }})

	dir := t.TempDir()
	input := writeCSV(t, "principal_id", user, orphan)
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure"}
	r := a.offboard(t, env, "run", "--input", input, "--report", dir, "--azure-scopes", a.s1+","+a.s2)
	wantCode(t, r, 0)
	got := byAssignment(readReport(t, dir))
	for _, id := range []string{atSub, atRG, atMG, orphaned} {
		if got[id]["status"] != "removed" || got[id]["source"] != "azure" {
			t.Errorf("%s: %v", id, got[id])
		}
		if _, ok := a.ARMRoleAssignment(id); ok {
			t.Errorf("%s is still assigned", id)
		}
	}
	if got[atRG]["scope"] != a.rg || !strings.HasSuffix(got[atRG]["role_definition_id"], simtenant.ARMContributor) {
		t.Errorf("scope or role of %v", got[atRG])
	}
	if got[gone]["status"] != "already-absent" {
		t.Errorf("a DELETE answered 204: %v", got[gone])
	}
	if e := got[elig.ID]; e["status"] != "removed" || !strings.Contains(e["detail"], "eligible") {
		t.Errorf("eligibility row %v", e)
	}
	for id, want := range map[string][2]string{atSub: {"azure-role", "Owner"}, atRG: {"azure-role", "Contributor"},
		atMG: {"azure-role", "Reader"}, elig.ID: {"azure-role-eligibility", "Owner"}} {
		if r := got[id]; r["kind"] != want[0] || r["role_name"] != want[1] {
			t.Errorf("%s: kind %q, role_name %q; want %q, %q", id, r["kind"], r["role_name"], want[0], want[1])
		}
	}
	if _, ok := a.ARMRoleAssignment(kept); !ok {
		t.Error("someone else's assignment was removed")
	}
	deletes := map[string]int{}
	for _, w := range a.writes() {
		if w.Method == http.MethodDelete {
			deletes[strings.ToLower(w.Path)]++
		}
	}
	if n := deletes[strings.ToLower(atMG)]; n != 1 {
		t.Errorf("the management-group assignment seen from two subscriptions was deleted %d times", n)
	}

	before, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	a.ResetRequests()
	wantCode(t, a.offboard(t, env, "run", "--input", input, "--report", dir, "--azure-scopes", "all"), 0)
	after, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	if !bytes.Equal(before, after) {
		t.Errorf("the rerun changed report.csv:\n%s\n---\n%s", before, after)
	}
	if w := a.writes(); len(w) != 0 {
		t.Errorf("the rerun sent %s %s", w[0].Method, w[0].Path)
	}
}

func TestAzureThrottledSubscriptionSlowsOnlyItself(t *testing.T) {
	a := startAzureTenant(t, simtenant.Config{Seed: 20})
	var lines = []string{"principal_id"}
	for i := range 6 {
		id, _ := a.user(fmt.Sprintf("ops%d@contoso.com", i), 0)
		lines = append(lines, id)
		for _, scope := range []string{a.s1, a.s2} {
			a.assign(id, scope, simtenant.ARMOwner)
			a.assign(id, scope, simtenant.ARMReader)
		}
	}
	var throttledAt time.Time
	const retryAfter = 3 * time.Second
	a.AddRule(simtenant.Rule{Method: "DELETE", PathContains: a.sub1, Times: 1, Status: 429,
		Header: http.Header{"Retry-After": {"3"}}, After: func(*http.Request, int) { throttledAt = time.Now() }})
	a.AddRule(simtenant.Rule{Method: "DELETE", Delay: 100 * time.Millisecond})
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + a.url, "OFFBOARD_SOURCES=azure", "OFFBOARD_CONCURRENCY=4"}
	wantCode(t, a.offboard(t, env, "run", "--input", writeCSV(t, lines...), "--report", t.TempDir(), "--azure-scopes", "all"), 0)
	var inS1, inS2, s2After int
	for _, r := range a.Requests() {
		if r.Method == http.MethodDelete && !strings.Contains(r.Path, a.sub1) && !r.At.Before(throttledAt.Add(retryAfter)) {
			// Starvation: the other subscription's removals waited
			// for the throttled one's workers to be free.
			s2After++
		}
		if r.Method != http.MethodDelete || !r.At.After(throttledAt) || !r.At.Before(throttledAt.Add(retryAfter)) {
			continue
		}
		if strings.Contains(r.Path, a.sub1) {
			inS1++
		} else {
			inS2++
		}
	}
	if s2After > 0 {
		t.Errorf("%d deletes of the other subscription waited until the throttled one's Retry-After ended (%d sent within it)", s2After, inS2)
	}
	if inS1 > 3 {
		t.Errorf("%d deletes in the throttled subscription within its Retry-After", inS1)
	}
	if inS2 == 0 {
		t.Error("the other subscription was held back too")
	}
	if n := len(a.ARMRoleAssignments()); n != 0 {
		t.Errorf("%d assignments left", n)
	}
}

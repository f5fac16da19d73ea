package main

// The fault matrix: each fault the services (or the network between) can
// throw, against each source, end to end. Whatever happens, every listed
// assignment has exactly one row, no row is both removed and failed, the
// exit code is the contract's, and a failed row's detail names the cause.

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/offboard/offboard/simtenant"
)

// sourceCase is one source set up in a fresh tenant: two departing
// principals holding two assignments each in that source (and nothing in
// any other), and the request paths its faults are aimed at.
type sourceCase struct {
	name string
	// list matches the source's listing requests (GET), write its removals.
	listPath, listQuery string
	writeMethod         string
	writePath           string
	// listAtScope: the listing's path is the first subscription's
	// followed by listPath (a vault's own read, under its resource group,
	// does not match it).
	listAtScope bool
	// pages says the listing can be made to take two pages per principal
	// (the groups source asks for 999 a page).
	pages bool
	// graphBatch: the removals, and the pim, groups and apps listings'
	// first pages, travel in Graph's $batch (the Graph sources).
	graphBatch bool
	// reads are the requests each removal sends before its write (a
	// vault is read first, so that its entries are removed as they stand
	// now); they count in the row's attempts.
	reads int
	// writeBody: the removal's answer has a body an answer cut off
	// mid-body cuts (Graph's 204s have none).
	writeBody bool
	// blindWrite: the removal is answered alike whether or not there was
	// anything to remove (accessPolicies/remove), so a removal sent again
	// after a lost answer cannot tell that the lost attempt did it: its
	// row is removed, without saying so.
	blindWrite bool
}

var sourceCases = []sourceCase{
	{name: "directory", listPath: "/roleManagement/directory/roleAssignments", listQuery: "principalId",
		writeMethod: http.MethodDelete, writePath: "/roleManagement/directory/roleAssignments/", pages: true, graphBatch: true},
	{name: "pim", listPath: "/roleManagement/directory/roleEligibilitySchedules", listQuery: "principalId",
		writeMethod: http.MethodPost, writePath: "/roleEligibilityScheduleRequests", pages: true, graphBatch: true, writeBody: true},
	{name: "groups", listPath: "/members", // the index of the role-assignable groups lists their members
		writeMethod: http.MethodDelete, writePath: "/members/", graphBatch: true},
	{name: "azure", listPath: "/providers/Microsoft.Authorization/roleAssignments", listQuery: "principalId",
		writeMethod: http.MethodDelete, writePath: "/providers/Microsoft.Authorization/roleAssignments/", pages: true, writeBody: true},
	{name: "apps", listPath: "/appRoleAssignments", // each principal's app role assignments
		writeMethod: http.MethodDelete, writePath: "/appRoleAssignments/", graphBatch: true},
	{name: "keyvault", listPath: "/providers/Microsoft.KeyVault/vaults", listAtScope: true, // the subscription's vaults
		writeMethod: http.MethodPut, writePath: "/accessPolicies/remove", pages: true, reads: 1, writeBody: true, blindWrite: true},
}

// notInMatrix are the registered sources TestFaultMatrix has no cases
// for, with why; TestFaultMatrixCoversEverySource fails for a source in
// neither list.
var notInMatrix = map[string]string{}

// faultTenant is a tenant set up for one source.
type faultTenant struct {
	*azureTenant
	src   sourceCase
	input string
	// want are the report keys (principal|source|assignment) a run must
	// account for.
	want []string
	args []string
}

func rowKey(r row) string { return r["principal_id"] + "|" + r["source"] + "|" + r["assignment_id"] }

func newFaultTenant(t *testing.T, src sourceCase, cfg simtenant.Config) *faultTenant {
	t.Helper()
	a := startAzureTenant(t, cfg)
	ft := &faultTenant{azureTenant: a, src: src}
	groups := []simtenant.Group{
		a.AddGroup(simtenant.Group{DisplayName: "Tier1 Admins", IsAssignableToRole: true}),
		a.AddGroup(simtenant.Group{DisplayName: "Tier2 Admins", IsAssignableToRole: true}),
	}
	lines := []string{"principal_id,reference"}
	var graphSP simtenant.ServicePrincipal
	if src.name == "apps" {
		graphSP = a.AddMicrosoftGraph()
	}
	var vaults []simtenant.KeyVault
	if src.name == "keyvault" {
		for _, name := range []string{"kv-a", "kv-b"} {
			vaults = append(vaults, a.AddKeyVault(simtenant.KeyVault{Name: name, SubscriptionID: a.sub1, ResourceGroup: "rg-web"}))
		}
	}
	for i := range 2 {
		id, _ := a.user(fmt.Sprintf("%s%d@contoso.com", src.name, i), 0)
		lines = append(lines, id+",HR-"+fmt.Sprint(i))
		for j := range 2 {
			var assignment string
			switch src.name {
			case "directory":
				assignment = a.AddRoleAssignment(simtenant.RoleAssignment{PrincipalID: id,
					RoleDefinitionID: []string{simtenant.UserAdministrator, simtenant.SecurityReader}[j]}).ID
			case "pim":
				assignment = a.AddEligibility(simtenant.EligibilitySchedule{PrincipalID: id,
					RoleDefinitionID: []string{simtenant.PrivilegedRoleAdministrator, simtenant.GlobalReader}[j]}).ID
			case "groups":
				if err := a.AddMember(groups[j].ID, id); err != nil {
					t.Fatal(err)
				}
				assignment = groups[j].ID
			case "azure":
				assignment = a.assign(id, a.s1, []string{simtenant.ARMOwner, simtenant.ARMReader}[j])
			case "apps":
				g, err := a.AddAppRoleAssignment(simtenant.AppRoleAssignment{PrincipalID: id, ResourceID: graphSP.ID,
					AppRoleID: []string{simtenant.AppRoleDirectoryReadAll, simtenant.AppRoleUserReadAll}[j]})
				if err != nil {
					t.Fatal(err)
				}
				assignment = g.ID
			case "keyvault":
				vaults[j].AccessPolicies = append(vaults[j].AccessPolicies, secretsReader(id))
				a.AddKeyVault(vaults[j])
				assignment = vaults[j].ID + "/accessPolicies/" + id
			}
			ft.want = append(ft.want, id+"|"+src.name+"|"+assignment)
		}
	}
	ft.input = writeCSV(t, lines...)
	ft.args = []string{"--sources", src.name}
	if src.name == "azure" || src.name == "keyvault" {
		ft.args = append(ft.args, "--azure-scopes", a.s1, "--arm-endpoint", a.url)
	}
	return ft
}

// run runs the job into dir with the source's arguments and more.
func (ft *faultTenant) run(t *testing.T, dir string, env []string, more ...string) result {
	t.Helper()
	args := append([]string{"run", "--input", ft.input, "--report", dir}, ft.args...)
	return ft.offboard(t, env, append(args, more...)...)
}

// left counts what the departing principals still hold in the source.
func (ft *faultTenant) left() int {
	n := 0
	seen := map[string]bool{}
	for _, k := range ft.want {
		id, _, _ := strings.Cut(k, "|")
		if seen[id] {
			continue
		}
		seen[id] = true
		switch ft.src.name {
		case "directory":
			n += len(ft.RoleAssignmentsOf(id))
		case "pim":
			n += len(ft.EligibilitiesOf(id))
		case "groups":
			n += len(ft.MemberOf(id))
		case "azure":
			n += len(ft.ARMRoleAssignmentsOf(id))
		case "apps":
			n += len(ft.AppRoleAssignmentsOf(id))
		case "keyvault":
			for _, v := range ft.KeyVaults() {
				n += len(ft.KeyVaultPoliciesOf(v.ID, id))
			}
		}
	}
	return n
}

// list is a rule aimed at the source's listings.
func (ft *faultTenant) list(r simtenant.Rule) simtenant.Rule {
	r.Method, r.PathContains = http.MethodGet, ft.src.listPath
	if ft.src.listAtScope {
		r.PathContains = ft.s1 + ft.src.listPath
	}
	if r.QueryContains == "" {
		r.QueryContains = ft.src.listQuery
	}
	return r
}

// write is a rule aimed at the source's removals.
func (ft *faultTenant) write(r simtenant.Rule) simtenant.Rule {
	r.Method, r.PathContains = ft.src.writeMethod, ft.src.writePath
	return r
}

// accountFor checks the invariants every run keeps, whatever the fault:
// one row per listed assignment and never two for one, each in an allowed
// status; a principal whose listing failed has a failed row saying so and
// no assignment row at all (it is never reported as holding fewer
// assignments than it does). It returns the rows by key.
func (ft *faultTenant) accountFor(t *testing.T, dir string, allowed ...string) map[string]row {
	t.Helper()
	rows := readReport(t, dir)
	got := map[string]row{}
	for _, r := range rows {
		k := rowKey(r)
		if prev, ok := got[k]; ok {
			t.Errorf("two rows for %s: %s and %s", k, prev["status"], r["status"])
		}
		got[k] = r
		if !strings.Contains(" "+strings.Join(allowed, " ")+" ", " "+r["status"]+" ") {
			t.Errorf("row %s: status %q (%s), want one of %v", k, r["status"], r["detail"], allowed)
		}
	}
	expected := 0
	for _, k := range ft.want {
		id, _, _ := strings.Cut(k, "|")
		listing, failed := got[id+"|"+ft.src.name+"|"]
		_, held := got[k]
		switch {
		case failed && held:
			t.Errorf("%s: a failed listing row and an assignment row", k)
		case failed && listing["status"] != "failed":
			t.Errorf("listing row of %s: %v", id, listing)
		case !failed && !held:
			t.Errorf("no row for %s", k)
		case held:
			expected++
		}
	}
	for k, r := range got {
		if r["assignment_id"] == "" {
			expected++ // a failed listing, one per principal
			continue
		}
		if !strings.Contains(" "+strings.Join(ft.want, " ")+" ", " "+k+" ") {
			t.Errorf("a row for %s, which was never listed", k)
		}
	}
	if len(rows) != expected {
		t.Errorf("%d rows, want %d", len(rows), expected)
	}
	s := readSummary(t, dir)
	total := 0
	for _, n := range s.Counts {
		total += n
	}
	if total != len(rows) {
		t.Errorf("summary counts %d rows, report.csv %d", total, len(rows))
	}
	return got
}

// writes counts the requests of the source's removals the tenant received.
func (ft *faultTenant) writes() int {
	n := 0
	for _, r := range ft.Requests() {
		if r.Method == ft.src.writeMethod && strings.Contains(r.Path, ft.src.writePath) {
			n++
		}
	}
	return n
}

// faultCase is one fault and what a run that meets it must end with.
type faultCase struct {
	name string
	// applies is false for a source the fault cannot be aimed at.
	applies func(src sourceCase) bool
	cfg     simtenant.Config
	rules   func(ft *faultTenant) []simtenant.Rule
	env     []string
	args    []string
	// code and allowed are the exit code and row statuses of the first
	// run; failedDetail, when set, is what every failed row's detail
	// must hold.
	code         int
	allowed      []string
	failedDetail []string
	// check looks further at the first run.
	check func(t *testing.T, ft *faultTenant, rows map[string]row)
	// noRerun: the fault has not passed when the test ends (a rerun would
	// come back before the wait the service asked for).
	noRerun bool
	// perRequest: what the case expects is what one request alone meets.
	// Batched, a fault aimed at one removal's connection (its answer lost,
	// cut off or late) or at the order requests go in meets every removal
	// of its batch, and one aimed at a pim or groups listing's first page
	// meets every listing of its batch: such a case runs with
	// --graph-batch-size 1 only, and batchedFaultCases says what a batch
	// meets instead.
	perRequest bool
}

// attempts is what a row's attempts read when its write was sent n times:
// the source's reads before the write count too.
func (src sourceCase) attempts(n int) string { return fmt.Sprint(src.reads + n) }

// retried is the end of a fault the retries absorb: every row removed.
var retried = []string{"removed"}

func httpDate(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }

var faultCases = []faultCase{
	{
		name: "connection reset",
		rules: func(ft *faultTenant) []simtenant.Rule {
			return []simtenant.Rule{ft.list(simtenant.Rule{Times: 1, Reset: true}), ft.write(simtenant.Rule{Times: 2, Reset: true})}
		},
		allowed: retried,
		check:   wantRetried(6),
	},
	{
		name:       "answer cut off mid-body",
		perRequest: true,
		rules: func(ft *faultTenant) []simtenant.Rule {
			// A page cut off half-way is read again; a removal whose
			// answer is cut after its status stands as it is. A 204 has
			// no body to cut: the removals' answers are cut where they
			// have one (pim's 201, azure's 200).
			rules := []simtenant.Rule{ft.list(simtenant.Rule{Times: 2, CutAnswer: true})}
			if ft.src.writeBody {
				rules = append(rules, ft.write(simtenant.Rule{Times: 2, CutAnswer: true}))
			}
			return rules
		},
		allowed: retried,
		check: func(t *testing.T, ft *faultTenant, rows map[string]row) {
			want := 2
			if ft.src.writeBody {
				want = 4
			}
			if n := ft.Stats().Cut; n != want {
				t.Errorf("%d answers cut off mid-body, want %d: the fault was not met", n, want)
			}
			for _, r := range rows {
				if r["attempts"] != ft.src.attempts(1) || strings.Contains(r["detail"], "answer was lost") {
					t.Errorf("%s: %s attempts, detail %q: want one attempt, its answer's status standing", rowKey(r), r["attempts"], r["detail"])
				}
			}
			if n := ft.writes(); n != len(ft.want) {
				t.Errorf("%d removals sent for %d assignments: want each once", n, len(ft.want))
			}
		},
	},
	{
		name:       "removal made but its answer lost",
		perRequest: true,
		rules: func(ft *faultTenant) []simtenant.Rule {
			return []simtenant.Rule{ft.write(simtenant.Rule{Times: 1, LoseAnswer: true})}
		},
		// The retry finds it gone: the first attempt removed it, so the
		// row says removed (and offboard restore puts it back), never
		// failed, never already-absent.
		allowed: []string{"removed"},
		check:   wantLostAnswers(1),
	},
	{
		name:       "server-side timeout",
		perRequest: true,
		args:       []string{"--request-timeout", "1s"},
		rules: func(ft *faultTenant) []simtenant.Rule {
			return []simtenant.Rule{ft.list(simtenant.Rule{Times: 1, Delay: 4 * time.Second}), ft.write(simtenant.Rule{Times: 1, Delay: 4 * time.Second})}
		},
		allowed: retried,
		check:   wantRetried(6),
	},
	{
		name: "server-side timeout beyond the retries",
		args: []string{"--request-timeout", "1s", "--max-attempts", "2"},
		rules: func(ft *faultTenant) []simtenant.Rule {
			return []simtenant.Rule{ft.write(simtenant.Rule{Delay: 4 * time.Second})}
		},
		code: 1, allowed: []string{"failed"}, failedDetail: []string{"request timeout (1s)"},
	},
	{
		name: "500 502 503 504 storm",
		rules: func(ft *faultTenant) []simtenant.Rule {
			// Every status once on the removals (sent concurrently, so
			// each row meets one), two on the listing.
			rules := []simtenant.Rule{ft.list(simtenant.Rule{Times: 1, Status: 503}), ft.list(simtenant.Rule{Times: 1, Status: 504})}
			for _, s := range []int{500, 502, 503, 504} {
				rules = append(rules, ft.write(simtenant.Rule{Times: 1, Status: s}))
			}
			return rules
		},
		allowed: retried,
		check:   wantRetried(6),
	},
	{
		name: "503 storm beyond the retries",
		args: []string{"--max-attempts", "2"},
		rules: func(ft *faultTenant) []simtenant.Rule {
			return []simtenant.Rule{ft.write(simtenant.Rule{Status: 503})}
		},
		code: 1, allowed: []string{"failed"}, failedDetail: []string{"503"},
		check: func(t *testing.T, ft *faultTenant, rows map[string]row) {
			for _, r := range rows {
				if r["attempts"] != ft.src.attempts(2) {
					t.Errorf("%s failed after %s attempts, want %s", rowKey(r), r["attempts"], ft.src.attempts(2))
				}
			}
		},
	},
	{
		name: "429 without Retry-After",
		rules: func(ft *faultTenant) []simtenant.Rule {
			return []simtenant.Rule{ft.list(simtenant.Rule{Times: 1, Status: 429}), ft.write(simtenant.Rule{Times: 2, Status: 429})}
		},
		allowed: retried,
		check:   wantRetried(6),
	},
	{
		name: "Retry-After as an HTTP date",
		rules: func(ft *faultTenant) []simtenant.Rule {
			// The date is made when the answer is, so that it lies ahead.
			h := http.Header{}
			var mu sync.Mutex
			return []simtenant.Rule{ft.write(simtenant.Rule{Times: 1, Status: 429, Header: h, Before: func(*http.Request) {
				mu.Lock()
				defer mu.Unlock()
				h.Set("Retry-After", httpDate(2*time.Second))
			}})}
		},
		// The tenant records a violation when the retry comes early.
		allowed: retried,
		check:   wantRetried(6),
	},
	{
		name:       "Retry-After beyond the run's deadline",
		perRequest: true,
		args:       []string{"--timeout", "60s", "--concurrency", "1"},
		rules: func(ft *faultTenant) []simtenant.Rule {
			return []simtenant.Rule{ft.write(simtenant.Rule{Times: 1, Status: 429, Header: http.Header{"Retry-After": {"600"}}})}
		},
		// Every removal fails at once: the throttled one, and the others
		// behind the gate it closed; the deadline is not reached.
		code: 1, allowed: []string{"failed"}, failedDetail: []string{"beyond the run's deadline"},
		check: func(t *testing.T, ft *faultTenant, _ map[string]row) {
			if n := ft.writes(); n != 1 {
				t.Errorf("%d removals sent, want only the throttled one", n)
			}
		},
		noRerun: true,
	},
	{
		name: "malformed JSON in a listing",
		rules: func(ft *faultTenant) []simtenant.Rule {
			// Twice: a grouped listing (directory's `in`) that fails is
			// listed again principal by principal (issue 12), so the
			// second answer is the first principal's own.
			return []simtenant.Rule{ft.list(simtenant.Rule{Times: 2, Status: 200, Body: `{"value":[{"id":`})}
		},
		// A listing that cannot be read fails: its principals are never
		// reported as holding less than they do.
		code: 1, allowed: []string{"failed", "removed"},
		check: wantListingFailed("JSON"),
	},
	{
		name:    "@odata.nextLink fails half-way",
		applies: func(src sourceCase) bool { return src.pages },
		cfg:     simtenant.Config{PageSize: 1, ARM: simtenant.ARMConfig{PageSize: 1}},
		args:    []string{"--max-attempts", "2"},
		rules: func(ft *faultTenant) []simtenant.Rule {
			// Graph's $skiptoken, ARM's $skipToken.
			return []simtenant.Rule{ft.list(simtenant.Rule{QueryContains: "skip", Status: 500})}
		},
		code: 1, allowed: []string{"failed"},
		check: wantListingFailed("500"),
	},
	{
		name: "token expired mid-run (static token: 401 once)",
		rules: func(ft *faultTenant) []simtenant.Rule {
			return []simtenant.Rule{ft.write(simtenant.Rule{Times: 1, Status: 401, Code: "InvalidAuthenticationToken",
				Message: "Lifetime validation failed, the token is expired."})}
		},
		// No refresh is possible: the row fails at once (401 is final),
		// the run stops there (issue 27: exit 2, no new work; what was in
		// flight finishes), and the rerun, with a fresh token, finishes it.
		code: 2, allowed: []string{"removed", "failed", "planned"}, failedDetail: []string{"401"},
		check: func(t *testing.T, ft *faultTenant, rows map[string]row) {
			failed := 0
			for _, r := range rows {
				if r["status"] == "failed" {
					failed++
					if r["attempts"] != ft.src.attempts(1) || !strings.Contains(r["detail"], "InvalidAuthenticationToken") && !strings.Contains(r["detail"], "expired") {
						t.Errorf("failed row %v: want one attempt and the service's reason", r)
					}
				}
			}
			if failed != 1 {
				t.Errorf("%d failed rows, want the one refused", failed)
			}
		},
	},
}

// wantRetried checks that the faults cost retries, not rows: some row took
// more than one attempt, and none more than max (the source's reads
// before its write aside).
func wantRetried(max int) func(t *testing.T, ft *faultTenant, rows map[string]row) {
	return func(t *testing.T, ft *faultTenant, rows map[string]row) {
		retried := false
		for _, r := range rows {
			var n int
			fmt.Sscan(r["attempts"], &n)
			n -= ft.src.reads
			retried = retried || n > 1
			if n > max {
				t.Errorf("%s took %d attempts (%d reads aside), want at most %d", rowKey(r), n, ft.src.reads, max)
			}
		}
		if !retried {
			t.Error("no row took a second attempt: the fault was not met")
		}
	}
}

// wantListingFailed checks that a principal's listing failed and the row
// saying so names the cause.
func wantListingFailed(detail string) func(t *testing.T, ft *faultTenant, rows map[string]row) {
	return func(t *testing.T, ft *faultTenant, rows map[string]row) {
		t.Helper()
		failed := 0
		for _, r := range rows {
			if r["assignment_id"] != "" {
				continue
			}
			failed++
			if r["status"] != "failed" || !strings.HasPrefix(r["detail"], "listing failed: ") || !strings.Contains(r["detail"], detail) {
				t.Errorf("listing row %v: want failed, naming %q", r, detail)
			}
		}
		if failed == 0 {
			t.Error("no listing failed: the fault was not met")
		}
	}
}

// TestFaultMatrix runs every fault against every source with one request
// a removal or a listing (--graph-batch-size 1), and the faults that mean
// the same for a batch against the Graph sources with removals, and the
// pim and groups listings' first pages, batched (the default): a fault on
// one listing sub-request fails or retries that principal's listing only;
// batchedFaultCases are the faults whose meaning a batch changes.
func TestFaultMatrix(t *testing.T) {
	single := []string{"OFFBOARD_GRAPH_BATCH_SIZE=1"}
	for _, fc := range faultCases {
		for _, src := range sourceCases {
			if fc.applies != nil && !fc.applies(src) {
				continue
			}
			t.Run(fc.name+"/"+src.name, func(t *testing.T) {
				t.Parallel()
				runFaultCase(t, fc, src, single)
			})
			if fc.perRequest || !src.graphBatch {
				continue
			}
			t.Run(fc.name+"/"+src.name+"/batched", func(t *testing.T) {
				t.Parallel()
				runFaultCase(t, fc, src, nil)
			})
		}
	}
	for _, fc := range batchedFaultCases {
		for _, src := range sourceCases {
			if !src.graphBatch || fc.applies != nil && !fc.applies(src) {
				continue
			}
			t.Run(fc.name+"/"+src.name, func(t *testing.T) {
				t.Parallel()
				runFaultCase(t, fc, src, nil)
			})
		}
	}
}

// runFaultCase runs one fault against one source with env, then reruns
// once the fault has passed.
func runFaultCase(t *testing.T, fc faultCase, src sourceCase, env []string) {
	cfg := fc.cfg
	cfg.Seed = 700
	ft := newFaultTenant(t, src, cfg)
	for _, r := range fc.rules(ft) {
		ft.AddRule(r)
	}
	dir := filepath.Join(t.TempDir(), "report")
	r := ft.run(t, dir, append(slices.Clone(fc.env), env...), fc.args...)
	wantCode(t, r, fc.code)
	rows := ft.accountFor(t, dir, fc.allowed...)
	for _, row := range rows {
		if row["status"] != "failed" {
			continue
		}
		for _, d := range fc.failedDetail {
			if !strings.Contains(row["detail"], d) {
				t.Errorf("failed row %s: detail %q does not name %q", rowKey(row), row["detail"], d)
			}
		}
	}
	if fc.check != nil {
		fc.check(t, ft, rows)
	}
	if fc.code == 0 && ft.left() != 0 {
		t.Errorf("%d assignments left after a run that exited 0", ft.left())
	}

	if fc.code == 0 || fc.noRerun {
		return
	}
	// Once the fault has passed, a rerun into the same
	// directory finishes the job.
	ft.ClearRules()
	wantCode(t, ft.run(t, dir, env), 0)
	for k, row := range ft.accountFor(t, dir, "removed", "already-absent") {
		if r := rows[k]; (r["status"] == "removed" || r["status"] == "already-absent") && r["status"] != row["status"] {
			t.Errorf("%s was %s, the rerun made it %s", k, r["status"], row["status"])
		}
	}
	if n := ft.left(); n != 0 {
		t.Errorf("%d assignments left after the rerun", n)
	}
}

// batchedFaultCases are the perRequest faults as a batch meets them: the
// four removals of a fault tenant travel in one $batch, so a fault on the
// connection of one of them is a fault on all four.
var batchedFaultCases = []faultCase{
	{
		name: "batch: answer lost",
		rules: func(ft *faultTenant) []simtenant.Rule {
			return []simtenant.Rule{ft.write(simtenant.Rule{Times: 1, LoseAnswer: true})}
		},
		// The batch was acted on and never answered: it is sent again,
		// and every removal in it is found gone: removed by the first.
		allowed: []string{"removed"},
		check:   wantLostAnswers(4),
	},
	{
		name: "batch: answer cut off mid-body",
		rules: func(ft *faultTenant) []simtenant.Rule {
			// A batch's 200 says nothing of its requests: one cut off is
			// sent again, like a lost one.
			return []simtenant.Rule{ft.list(simtenant.Rule{Times: 2, CutAnswer: true}), ft.write(simtenant.Rule{Times: 1, CutAnswer: true})}
		},
		allowed: []string{"removed"},
		check:   wantLostAnswers(4),
	},
	{
		name: "batch: server-side timeout",
		args: []string{"--request-timeout", "1s"},
		rules: func(ft *faultTenant) []simtenant.Rule {
			return []simtenant.Rule{ft.write(simtenant.Rule{Times: 1, Delay: 4 * time.Second})}
		},
		// The batch's attempt timed out while the tenant was still at it:
		// the retry finds gone what the first had done (removed by it),
		// and removes the rest (which the first then finds gone, unheard).
		allowed: []string{"removed"},
		check:   wantRetried(6),
	},
	{
		name: "batch: Retry-After beyond the run's deadline",
		args: []string{"--timeout", "60s", "--concurrency", "1"},
		rules: func(ft *faultTenant) []simtenant.Rule {
			return []simtenant.Rule{ft.write(simtenant.Rule{Times: 1, Status: 429, Header: http.Header{"Retry-After": {"600"}}})}
		},
		// The throttled removal fails at once; the others of its batch
		// were answered with it.
		code: 1, allowed: []string{"failed", "removed"}, failedDetail: []string{"beyond the run's deadline"},
		check: func(t *testing.T, ft *faultTenant, rows map[string]row) {
			failed := 0
			for _, r := range rows {
				if r["status"] == "failed" {
					failed++
				}
			}
			if failed != 1 {
				t.Errorf("%d failed rows, want the throttled one", failed)
			}
			if n := ft.writes(); n != 4 {
				t.Errorf("%d removals sent, want the four of the one batch, none again", n)
			}
			// The removals' one batch, and for pim, groups and apps the
			// listings' (their first pages travel in a batch too).
			want := 1
			if ft.src.name == "pim" || ft.src.name == "groups" || ft.src.name == "apps" {
				want = 2
			}
			if st := ft.Stats(); st.Batches != want {
				t.Errorf("%d batches, want %d", st.Batches, want)
			}
		},
		noRerun: true,
	},
}

// TestTimeoutIsAnInterruption: at --timeout the run starts no new work,
// cuts off what is in flight (left planned: its outcome is unknown), writes
// its report and exits 4, like a SIGTERM; the rerun finishes the job. How
// many removals fit before the deadline depends on the machine: the rows
// must match what the service answered, whatever that was.
func TestTimeoutIsAnInterruption(t *testing.T) {
	// In parallel: the hanging DELETE decides when the run is cut off,
	// and the timeout is far beyond the listing (see below).
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 701})
	id, ids := tn.user("olga@contoso.com", 10)
	// Up to three removals go through, then the service stops answering.
	tn.AddRule(simtenant.Rule{Method: http.MethodDelete, Times: 3})
	tn.AddRule(simtenant.Rule{Method: http.MethodDelete, Delay: time.Hour})
	dir := t.TempDir()
	input := writeCSV(t, "principal_id", id)
	// One request a removal, so that those answered come before the one
	// that hangs (batched, all ten would be in the one batch cut off:
	// job.TestRunnerChunkCutOffInFlight covers that). The timeout leaves
	// start-up and the listing room on a loaded machine; the hanging
	// DELETE, not the timeout, decides when the run is cut off. The
	// deadline cuts it off, not the grace after it: a run that waited for
	// the grace would take a minute more.
	start := time.Now()
	r := tn.offboard(t, []string{"OFFBOARD_TIMEOUT=8s", "OFFBOARD_GRACE=60s"}, "run", "--input", input, "--report", dir, "--concurrency", "1",
		"--graph-batch-size", "1")
	wantCode(t, r, 4)
	if took := time.Since(start); took > 38*time.Second {
		t.Errorf("the run took %s: the DELETE in flight at the 8s deadline was not cut off there", took)
	}
	if !strings.Contains(r.stderr, "--timeout") {
		t.Errorf("stderr does not say the run reached its --timeout:\n%s", r.stderr)
	}
	answered, sent := 0, 0
	for _, q := range tn.Requests() {
		if q.Method != http.MethodDelete {
			continue
		}
		sent++
		if q.Status == http.StatusNoContent {
			answered++
		}
	}
	got := byAssignment(readReport(t, dir))
	counts := map[string]int{}
	for _, a := range ids {
		counts[got[a]["status"]]++
		if strings.Contains(got[a]["detail"], "cut off") {
			counts["cut off"]++
		}
	}
	if counts["removed"] != answered || counts["planned"] != len(ids)-answered || counts["cut off"] != 1 || len(got) != len(ids) {
		t.Errorf("rows %v with %d DELETEs answered 204: want that many removed, the rest planned, one of them cut off in flight",
			counts, answered)
	}
	if sent != answered+1 {
		t.Errorf("%d DELETEs sent, %d answered: want one more, the one cut off: no new work after the deadline", sent, answered)
	}
	if s := readSummary(t, dir); s.ExitCode != 4 || s.Counts["planned"] != len(ids)-answered || s.Counts["removed"] != answered {
		t.Errorf("summary %+v", s)
	}

	tn.ClearRules()
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir), 0)
	for _, a := range ids {
		if s := byAssignment(readReport(t, dir))[a]["status"]; s != "removed" {
			t.Errorf("%s after the rerun: %s", a, s)
		}
	}
	if n := len(tn.RoleAssignmentsOf(id)); n != 0 {
		t.Errorf("%d assignments left", n)
	}
}

// wantLostAnswers checks that exactly n rows were removed by an attempt
// whose answer was lost: sent twice, and saying so. A blind write's
// second answer cannot tell: its rows are removed after two writes, and
// say nothing of it.
func wantLostAnswers(n int) func(*testing.T, *faultTenant, map[string]row) {
	return func(t *testing.T, ft *faultTenant, rows map[string]row) {
		t.Helper()
		lost := 0
		for _, r := range rows {
			says := strings.Contains(r["detail"], "answer was lost")
			if ft.src.blindWrite && says {
				t.Errorf("%s: %q: a blind write's second answer cannot tell who removed it", rowKey(r), r["detail"])
			}
			if !says && (!ft.src.blindWrite || r["attempts"] != ft.src.attempts(2)) {
				continue
			}
			lost++
			if r["status"] != "removed" || r["attempts"] != ft.src.attempts(2) {
				t.Errorf("%s: %s after %s attempts, want removed after %s", rowKey(r), r["status"], r["attempts"], ft.src.attempts(2))
			}
		}
		if lost != n {
			t.Errorf("%d rows removed by an attempt whose answer was lost, want %d", lost, n)
		}
	}
}

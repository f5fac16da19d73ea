package main

// End-to-end tests of every path to a role-assignable group's roles that
// the groups source covers: memberships, ownerships, PIM for Groups
// eligibilities and active assignments, each removed, left alone by a
// rerun, and restored; a group's last owner and the members of dynamic
// and synced groups skipped. No request ever goes to
// /directoryObjects/{id}/memberOf, which Graph does not have.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/offboard/offboard/simtenant"
)

// memberOfRequests lists the requests to /directoryObjects/{id}/memberOf
// the tenant received, batched or not.
func memberOfRequests(tn *simtenant.Tenant) []string {
	var out []string
	for _, r := range tn.Requests() {
		p := strings.ToLower(r.Path)
		if strings.Contains(p, "/directoryobjects/") && strings.Contains(p, "/memberof") {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// groupAccess is a principal's access to a group as the tests compare it.
func groupAccess(tn *simtenant.Tenant, principal string) []string {
	var out []string
	for _, g := range tn.MemberOf(principal) {
		out = append(out, g+" member")
	}
	for _, g := range tn.OwnedGroups(principal) {
		out = append(out, g+" owner")
	}
	for _, s := range tn.GroupSchedules() {
		if s.PrincipalID != principal {
			continue
		}
		kind := "eligible"
		if s.Active {
			kind = "active"
		}
		end := "none"
		if s.EndDateTime != nil {
			end = s.EndDateTime.UTC().Format(time.RFC3339)
		}
		out = append(out, s.GroupID+" "+kind+"-"+s.AccessID+" until "+end)
	}
	slices.Sort(out)
	return out
}

// The same, whichever way the source lists: the access of every
// role-assignable group (few groups), or of each principal by its type
// after a getByIds (many groups, few principals).
func TestGroupAccessRemovedRerunRestored(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		more  int // role-assignable groups nobody departing holds
		typed bool
	}{{"by group", 0, false}, {"by principal", 40, true}} {
		t.Run(tt.name, func(t *testing.T) { groupAccessRemovedRerunRestored(t, tt.more, tt.typed) })
	}
}

// getByIDsRequests counts the getByIds requests the tenant received.
func getByIDsRequests(tn *simtenant.Tenant) int {
	n := 0
	for _, r := range tn.Requests() {
		if strings.EqualFold(r.Path, "/v1.0/directoryObjects/getByIds") {
			n++
		}
	}
	return n
}

func groupAccessRemovedRerunRestored(t *testing.T, more int, typed bool) {
	tn := startTenant(t, simtenant.Config{Seed: 41})
	for i := range more {
		tn.AddGroup(simtenant.Group{DisplayName: "Other Admins " + strings.Repeat("x", i), IsAssignableToRole: true})
	}
	now := time.Now().UTC().Truncate(time.Second)
	ann, _ := tn.user("ann@contoso.com", 0)
	bob, _ := tn.user("bob@contoso.com", 0)
	carl, _ := tn.user("carl@contoso.com", 0)
	tier1 := tn.AddGroup(simtenant.Group{DisplayName: "Tier1 Admins", IsAssignableToRole: true})
	tier2 := tn.AddGroup(simtenant.Group{DisplayName: "Tier2 Admins", IsAssignableToRole: true})
	dynamic := tn.AddGroup(simtenant.Group{DisplayName: "Dynamic Admins", IsAssignableToRole: true, Dynamic: true})
	synced := tn.AddGroup(simtenant.Group{DisplayName: "Synced Admins", IsAssignableToRole: true, OnPremisesSynced: true})
	staff := tn.AddGroup(simtenant.Group{DisplayName: "All Staff"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tn.AddMember(tier1.ID, ann))
	must(tn.AddMember(staff.ID, ann))
	must(tn.AddOwner(tier1.ID, ann))
	must(tn.AddOwner(tier1.ID, carl))
	must(tn.AddOwner(staff.ID, ann))
	must(tn.AddOwner(tier2.ID, bob))
	must(tn.AddMember(dynamic.ID, bob))
	must(tn.AddMember(synced.ID, bob))
	end := now.Add(30 * 24 * time.Hour)
	tn.AddGroupSchedule(simtenant.GroupSchedule{GroupID: tier1.ID, PrincipalID: ann, AccessID: simtenant.AccessMember,
		StartDateTime: now.Add(-time.Hour), EndDateTime: &end})
	tn.AddGroupSchedule(simtenant.GroupSchedule{GroupID: tier2.ID, PrincipalID: ann, AccessID: simtenant.AccessOwner,
		StartDateTime: now.Add(24 * time.Hour)})
	tn.AddGroupSchedule(simtenant.GroupSchedule{GroupID: tier2.ID, PrincipalID: ann, AccessID: simtenant.AccessMember,
		Active: true, StartDateTime: now.Add(-time.Hour), EndDateTime: &end})
	annBefore, bobBefore := groupAccess(tn.Tenant, ann), groupAccess(tn.Tenant, bob)

	dir := t.TempDir()
	input := writeCSV(t, "principal_id,reference", ann+",HR-1", bob+",HR-2")
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "groups"), 0)
	log := memberOfRequests(tn.Tenant)
	if n := getByIDsRequests(tn.Tenant); (n > 0) != typed {
		t.Errorf("%d getByIds requests: want them only when listing by principal (%v)", n, typed)
	}

	// ann loses every access to the role-assignable groups, and nothing
	// of All Staff; bob keeps what he alone holds or the cloud cannot change.
	if got := groupAccess(tn.Tenant, ann); !slices.Equal(got, []string{staff.ID + " member", staff.ID + " owner"}) {
		t.Errorf("ann's access after the run %v, want All Staff's only", got)
	}
	if got := groupAccess(tn.Tenant, bob); !slices.Equal(got, bobBefore) {
		t.Errorf("bob's access after the run %v, want %v", got, bobBefore)
	}
	if got := tn.Owners(tier1.ID); !slices.Equal(got, []string{carl}) {
		t.Errorf("Tier1's owners %v, want carl alone", got)
	}
	rows := map[string]row{}
	for _, r := range readReport(t, dir) {
		rows[r["principal_id"]+" "+r["assignment_id"]] = r
	}
	want := map[string]string{
		ann + " " + tier1.ID:                      "removed",
		ann + " " + tier1.ID + "/owner":           "removed",
		ann + " " + tier1.ID + "/eligible-member": "removed",
		ann + " " + tier2.ID + "/eligible-owner":  "removed",
		ann + " " + tier2.ID + "/active-member":   "removed",
		// The active assignment's membership: gone with it or by itself.
		ann + " " + tier2.ID:            "removed|already-absent",
		bob + " " + tier2.ID + "/owner": "skipped",
		bob + " " + dynamic.ID:          "skipped",
		bob + " " + synced.ID:           "skipped",
	}
	for k, status := range want {
		if r, ok := rows[k]; !ok || !slices.Contains(strings.Split(status, "|"), r["status"]) {
			t.Errorf("row %s: %v, want %s", k, r, status)
		}
	}
	if len(rows) != len(want) {
		t.Errorf("%d rows, want %d: %v", len(rows), len(want), rows)
	}
	// Each row says what kind of access it is, and names the group.
	kinds := map[string][2]string{
		ann + " " + tier1.ID:                      {"group-member", "Tier1 Admins"},
		ann + " " + tier1.ID + "/owner":           {"group-owner", "Tier1 Admins"},
		ann + " " + tier1.ID + "/eligible-member": {"group-eligible-member", "Tier1 Admins"},
		ann + " " + tier2.ID + "/eligible-owner":  {"group-eligible-owner", "Tier2 Admins"},
		ann + " " + tier2.ID + "/active-member":   {"group-active-member", "Tier2 Admins"},
		ann + " " + tier2.ID:                      {"group-member", "Tier2 Admins"},
		bob + " " + tier2.ID + "/owner":           {"group-owner", "Tier2 Admins"},
		bob + " " + dynamic.ID:                    {"group-member", "Dynamic Admins"},
	}
	for k, want := range kinds {
		if r := rows[k]; r["kind"] != want[0] || r["role_name"] != want[1] {
			t.Errorf("row %s: kind %q, role_name %q; want %q, %q", k, r["kind"], r["role_name"], want[0], want[1])
		}
	}
	if d := rows[bob+" "+tier2.ID+"/owner"]["detail"]; d != "last-owner" {
		t.Errorf("last owner's detail %q", d)
	}
	if d := rows[bob+" "+dynamic.ID]["detail"]; !strings.HasPrefix(d, "dynamic-membership: group Dynamic Admins") {
		t.Errorf("dynamic group's detail %q", d)
	}
	if d := rows[bob+" "+synced.ID]["detail"]; !strings.HasPrefix(d, "on-premises-synced: group Synced Admins") {
		t.Errorf("synced group's detail %q", d)
	}

	// The rerun finds nothing more to do: not one write, the same report.
	before, err := os.ReadFile(filepath.Join(dir, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	tn.ResetRequests()
	wantCode(t, tn.offboard(t, nil, "run", "--input", input, "--report", dir, "--sources", "groups"), 0)
	log = append(log, memberOfRequests(tn.Tenant)...)
	// getByIds is a read sent as a POST.
	w := slices.DeleteFunc(tn.writes(), func(r simtenant.Request) bool { return strings.HasSuffix(r.Path, "/getByIds") })
	if len(w) != 0 {
		t.Errorf("the rerun sent %d writes, first %s %s", len(w), w[0].Method, w[0].Path)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "report.csv")); string(after) != string(before) {
		t.Errorf("the rerun changed report.csv:\n%s\nwas:\n%s", after, before)
	}

	// The restore puts back each kind, with its schedule.
	tn.ResetRequests()
	wantCode(t, tn.offboard(t, nil, "restore", "--all", "--report", dir), 0)
	log = append(log, memberOfRequests(tn.Tenant)...)
	if got := groupAccess(tn.Tenant, ann); !slices.Equal(got, annBefore) {
		t.Errorf("ann's access after the restore:\n%s\nbefore the run:\n%s", strings.Join(got, "\n"), strings.Join(annBefore, "\n"))
	}
	restored, _ := readRestore(t, dir)
	for _, r := range restored {
		if r["status"] != "restored" && r["status"] != "already-present" {
			t.Errorf("restore row %v", r)
		}
	}
	if len(log) != 0 {
		t.Errorf("requests to a path Graph does not have: %v", log)
	}
}

// The sample tenant of `offboard demo` holds owners and PIM for Groups
// schedules: a full run removes them, skips the last owner, and never asks
// for /directoryObjects/{id}/memberOf.
func TestDemoSampleCoversOwnersAndGroupPIM(t *testing.T) {
	t.Parallel()
	tn, sample := simtenant.Generate(simtenant.Config{Seed: 7, PageSize: 3}, 30)
	env := serve(t, tn)
	if len(sample.GroupOwnerships) == 0 || sample.LastOwner[0] == "" || len(sample.GroupSchedules) == 0 {
		t.Fatalf("the sample has no owners or PIM for Groups schedules: %+v %+v %v",
			sample.GroupOwnerships, sample.LastOwner, sample.GroupSchedules)
	}
	input := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(input, sample.CSV, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "report")
	env.offboard(t, nil, "run", "--input", input, "--report", dir, "--protect", strings.Join(sample.Protect, ","),
		"--sources", "directory,pim,groups")
	rows := map[string]row{}
	for _, r := range readReport(t, dir) {
		rows[r["principal_id"]+" "+r["assignment_id"]] = r
	}
	for _, o := range sample.GroupOwnerships {
		if r := rows[o[1]+" "+o[0]+"/owner"]; r["status"] != "removed" {
			t.Errorf("ownership %v: %v, want removed", o, r)
		}
		if slices.Contains(tn.Owners(o[0]), o[1]) {
			t.Errorf("ownership %v is still there", o)
		}
	}
	if r := rows[sample.LastOwner[1]+" "+sample.LastOwner[0]+"/owner"]; r["status"] != "skipped" || r["detail"] != "last-owner" {
		t.Errorf("last owner %v: %v", sample.LastOwner, r)
	}
	left := map[string]bool{}
	for _, s := range tn.GroupSchedules() {
		left[s.ID] = true
	}
	for _, id := range sample.GroupSchedules {
		if left[id] {
			t.Errorf("PIM for Groups schedule %s is still there", id)
		}
	}
	if log := memberOfRequests(tn); len(log) != 0 {
		t.Errorf("requests to a path Graph does not have: %v", log)
	}
}

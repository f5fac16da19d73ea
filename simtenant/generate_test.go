package simtenant

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestGenerateDeterministic(t *testing.T) {
	clk := newClock()
	for _, n := range []int{0, 10, 37, 500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t1, s1 := Generate(Config{Seed: 1, Now: clk.Now}, n)
			t2, s2 := Generate(Config{Seed: 1, Now: clk.Now}, n)
			if !bytes.Equal(s1.CSV, s2.CSV) {
				t.Fatal("same seed, different CSV")
			}
			if fmt.Sprintf("%+v", s1) != fmt.Sprintf("%+v", s2) {
				t.Fatal("same seed, different sample")
			}
			if !slices.Equal(t1.RoleAssignments(), t2.RoleAssignments()) ||
				!slices.Equal(t1.Users(), t2.Users()) ||
				!slices.Equal(t1.ServicePrincipals(), t2.ServicePrincipals()) ||
				t1.Token() != t2.Token() {
				t.Fatal("same seed, different tenant")
			}
			if snapshotGroupsAndPIM(t1) != snapshotGroupsAndPIM(t2) {
				t.Fatal("same seed, different groups, memberships or eligibilities")
			}
			_, s3 := Generate(Config{Seed: 2, Now: clk.Now}, n)
			if bytes.Equal(s1.CSV, s3.CSV) {
				t.Fatal("another seed, same CSV")
			}
		})
	}
}

// snapshotGroupsAndPIM renders the groups, memberships, eligibilities and
// PIM marks of a tenant, for comparing two tenants.
func snapshotGroupsAndPIM(tn *Tenant) string {
	var b strings.Builder
	for _, g := range tn.Groups() {
		// The fields the pin was taken with; Mail, added later, only
		// when set, so that the pin holds.
		pinned := struct {
			ID, DisplayName                               string
			IsAssignableToRole, Dynamic, OnPremisesSynced bool
		}{g.ID, g.DisplayName, g.IsAssignableToRole, g.Dynamic, g.OnPremisesSynced}
		fmt.Fprintf(&b, "%+v %v\n", pinned, tn.Members(g.ID))
		if g.Mail != "" {
			fmt.Fprintf(&b, "mail %s\n", g.Mail)
		}
	}
	for _, e := range tn.Eligibilities() {
		end := "-"
		if e.EndDateTime != nil {
			end = e.EndDateTime.String()
		}
		fmt.Fprintf(&b, "%s %s %s %s %s %s %s %s\n", e.ID, e.PrincipalID, e.RoleDefinitionID, e.DirectoryScopeID,
			e.MemberType, e.ViaGroup, e.StartDateTime, end)
	}
	for _, a := range tn.RoleAssignments() {
		fmt.Fprintf(&b, "%s %v\n", a.ID, tn.IsPIMManaged(a.ID))
	}
	return b.String()
}

func TestGenerateSample(t *testing.T) {
	now := time.Date(2025, 3, 10, 23, 59, 0, 0, time.UTC)
	for _, n := range []int{10, 11, 60, 500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			tn, s := Generate(Config{Seed: 42, Now: func() time.Time { return now }}, n)
			checkSample(t, tn, s, n, now)
		})
	}
}

func checkSample(t *testing.T, tn *Tenant, s Sample, n int, now time.Time) {
	t.Helper()
	records, err := csv.NewReader(bytes.NewReader(s.CSV)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(records[0], ","); got != "principal_id,user_principal_name,mail,employee_id,principal_type,reference,effective_date,department" {
		t.Fatalf("header %q", got)
	}
	// n from Graph, plus the Azure orphan on the last line.
	if len(s.Departing) != n+1 || s.Departing[n] != s.ARM.Orphan {
		t.Fatalf("%d departing, want %d and the orphan last", len(s.Departing), n+1)
	}
	rowsOf := map[string]int{}
	var selfRow, formulaRow, deferredRow bool
	for i, rec := range records[1:] {
		line := i + 2
		id, upn, mail, employeeID, ref, date := rec[0], rec[1], rec[2], rec[3], rec[5], rec[6]
		if slices.Contains(s.InvalidLines, line) {
			if isGUID(id) {
				t.Errorf("invalid line %d names a valid id", line)
			}
			if upn != "" {
				if _, ok := tn.User(upn); ok {
					t.Errorf("invalid line %d names a known UPN", line)
				}
			}
			if mail != "" || employeeID != "" {
				if _, ok := userByKey(tn, mail, employeeID); ok {
					t.Errorf("invalid line %d names one user by mail or employee_id", line)
				}
			}
			continue
		}
		if id == "" && upn == "" {
			var ok bool
			id, ok = userByKey(tn, mail, employeeID)
			if !ok {
				t.Fatalf("line %d: mail %q employee_id %q name no single user", line, mail, employeeID)
			}
			if !slices.Contains(s.ByMail, id) && !slices.Contains(s.ByEmployeeID, id) {
				t.Errorf("line %d: %s named by mail or employee_id but in neither list", line, id)
			}
		}
		if id == "" {
			u, ok := tn.User(upn)
			if !ok {
				t.Fatalf("line %d: unknown UPN %q", line, upn)
			}
			id = u.ID
			if !slices.Contains(s.ByUPN, id) {
				t.Errorf("line %d: %s named by UPN but not in ByUPN", line, id)
			}
		}
		rowsOf[id]++
		switch id {
		case s.Self:
			selfRow = true
		case s.Formula:
			formulaRow = strings.HasPrefix(ref, "=")
		case s.Deferred:
			d, err := time.Parse(time.DateOnly, date)
			deferredRow = err == nil && d.After(now)
		default:
			if date != "" && date > now.Format(time.DateOnly) {
				t.Errorf("line %d dated %s, after today", line, date)
			}
		}
	}
	if len(s.InvalidLines) != 3 {
		t.Errorf("invalid lines %v", s.InvalidLines)
	}
	if !selfRow || s.Self != tn.CallerID() {
		t.Error("no self row")
	}
	if !formulaRow || !deferredRow {
		t.Errorf("formula %v deferred %v", formulaRow, deferredRow)
	}
	if rowsOf[s.Duplicate] != 2 {
		t.Errorf("duplicate on %d lines", rowsOf[s.Duplicate])
	}
	guest, ok := tn.User(s.Guest)
	if !ok || guest.UserType != "Guest" || !strings.Contains(guest.UserPrincipalName, "#EXT#") || !slices.Contains(s.ByUPN, s.Guest) {
		t.Errorf("guest %+v", guest)
	}
	if len(s.ByMail) == 0 || len(s.ByEmployeeID) == 0 || s.AmbiguousEmployeeID == "" || s.SharedMail == "" {
		t.Errorf("by mail %v, by employee id %v, ambiguous %q, shared mail %q", s.ByMail, s.ByEmployeeID, s.AmbiguousEmployeeID, s.SharedMail)
	}
	if len(s.ByUPN) < 2 {
		t.Errorf("by UPN %v", s.ByUPN)
	}
	if len(s.NoAssignments) == 0 {
		t.Error("no principal without assignments")
	}
	for _, id := range s.NoAssignments {
		if len(tn.RoleAssignmentsOf(id)) != 0 {
			t.Errorf("%s holds assignments", id)
		}
	}
	for _, id := range append([]string{s.Guest, s.Duplicate, s.Deferred, s.Formula}, s.Protect...) {
		if len(tn.RoleAssignmentsOf(id)) == 0 {
			t.Errorf("%s holds nothing", id)
		}
	}
	if len(s.Ghosts) != 2 {
		t.Errorf("ghosts %v", s.Ghosts)
	}
	for _, g := range s.Ghosts {
		a, ok := tn.RoleAssignment(g)
		if !ok || !tn.IsGhost(g) || !slices.Contains(s.Departing, a.PrincipalID) || slices.Contains(s.Removable, g) {
			t.Errorf("ghost %s", g)
		}
	}

	// Global Administrators: the caller and two break-glass accounts, none
	// of them departing.
	if len(s.BreakGlass) != 2 {
		t.Fatalf("break glass %v", s.BreakGlass)
	}
	var callerGA bool
	for _, a := range tn.RoleAssignments() {
		if a.RoleDefinitionID == GlobalAdministrator && a.PrincipalID == tn.CallerID() {
			callerGA = true
		}
	}
	if !callerGA {
		t.Error("the caller does not hold Global Administrator")
	}
	for _, id := range s.BreakGlass {
		if slices.Contains(s.Departing, id) {
			t.Errorf("break-glass %s is departing", id)
		}
		held := tn.RoleAssignmentsOf(id)
		if len(held) != 1 || held[0].RoleDefinitionID != GlobalAdministrator {
			t.Errorf("break-glass %s holds %v", id, held)
		}
	}

	// Removable is every assignment of the due, unprotected leavers.
	var want []string
	for _, id := range s.Departing {
		if id == s.Deferred || slices.Contains(s.Protect, id) {
			continue
		}
		for _, a := range tn.RoleAssignmentsOf(id) {
			if !tn.IsGhost(a.ID) {
				want = append(want, a.ID)
			}
		}
	}
	slices.Sort(want)
	if !slices.Equal(want, s.Removable) || len(want) == 0 {
		t.Errorf("removable %v, want %v", s.Removable, want)
	}
	checkSampleGroupsAndPIM(t, tn, s)
	for _, a := range tn.RoleAssignments() {
		if !strings.HasSuffix(a.ID, "-1") && !strings.HasSuffix(a.ID, "-2") {
			t.Errorf("assignment id %q", a.ID)
		}
	}
}

// TestGenerateServed checks the sample through HTTP: a guest by encoded
// UPN resolves, and a ghost answers 404 to DELETE.
func TestGenerateServed(t *testing.T) {
	tn, s := Generate(Config{Seed: 7}, 20)
	h := serveTenant(t, tn)
	guest, _ := tn.User(s.Guest)
	a := h.do("GET", "/v1.0/users/"+strings.ReplaceAll(guest.UserPrincipalName, "#", "%23")+"?$select=id")
	if a.status != 200 || a.json(t)["id"] != s.Guest {
		t.Fatalf("guest: %d %s", a.status, a.body)
	}
	if a := h.do("DELETE", assignmentsPath+"/"+s.Ghosts[0]); a.status != 404 {
		t.Fatalf("ghost: %d", a.status)
	}
	if a := h.do("DELETE", assignmentsPath+"/"+s.Removable[0]); a.status != 204 {
		t.Fatalf("removable: %d", a.status)
	}
}

// checkSampleGroupsAndPIM checks the Sample fields of the pim and groups
// sources against the tenant.
func checkSampleGroupsAndPIM(t *testing.T, tn *Tenant, s Sample) {
	t.Helper()
	departing := map[string]bool{}
	for _, id := range s.Departing {
		departing[id] = true
	}
	due := func(id string) bool { return departing[id] && id != s.Deferred && !slices.Contains(s.Protect, id) }
	assignable := func(gid string) bool { g, ok := tn.Group(gid); return ok && g.IsAssignableToRole }
	pair := func(a, b [2]string) int { return strings.Compare(a[0]+"/"+a[1], b[0]+"/"+b[1]) }

	var direct, inherited []string
	var assignableM, plainM [][2]string
	for _, id := range s.Departing {
		for _, e := range tn.EligibilitiesOf(id) {
			switch {
			case e.MemberType == MemberTypeDirect && due(id):
				direct = append(direct, e.ID)
			case e.MemberType == MemberTypeGroup:
				inherited = append(inherited, e.ID)
				if !assignable(e.ViaGroup) || !slices.Contains(tn.MemberOf(id), e.ViaGroup) {
					t.Errorf("Group-type eligibility %s via %s, of which %s is not a member", e.ID, e.ViaGroup, id)
				}
			}
		}
		for _, gid := range tn.MemberOf(id) {
			switch {
			case gid == s.AzureGroup[0] && id == s.AzureGroup[1]:
				// A group holding Azure roles: the azure source removes it.
			case !assignable(gid):
				plainM = append(plainM, [2]string{gid, id})
			case due(id):
				assignableM = append(assignableM, [2]string{gid, id})
			}
		}
	}
	slices.Sort(direct)
	slices.Sort(inherited)
	slices.SortFunc(assignableM, pair)
	slices.SortFunc(plainM, pair)
	if !slices.Equal(direct, s.DirectEligibilities) || len(direct) == 0 {
		t.Errorf("direct eligibilities %v, want %v", s.DirectEligibilities, direct)
	}
	if !slices.Equal(inherited, s.InheritedEligibilities) || len(inherited) == 0 {
		t.Errorf("inherited eligibilities %v, want %v", s.InheritedEligibilities, inherited)
	}
	if !slices.Equal(assignableM, s.AssignableMemberships) || len(assignableM) < 2 {
		t.Errorf("assignable memberships %v, want %v", s.AssignableMemberships, assignableM)
	}
	if !slices.Equal(plainM, s.PlainMemberships) || len(plainM) == 0 {
		t.Errorf("plain memberships %v, want %v", s.PlainMemberships, plainM)
	}
	var userMember, spMember bool
	for _, m := range s.AssignableMemberships {
		if _, ok := tn.User(m[1]); ok {
			userMember = true
		}
		if m[1] == s.MemberSP {
			spMember = true
		}
	}
	if _, ok := tn.ServicePrincipal(s.MemberSP); !ok || !spMember || !userMember || len(tn.RoleAssignmentsOf(s.MemberSP)) == 0 {
		t.Errorf("member SP %q, user member %v", s.MemberSP, userMember)
	}

	// The protected principal holds something in every source, and none
	// of it is in the lists of what a run removes.
	p := s.Protect[0]
	if !slices.ContainsFunc(tn.EligibilitiesOf(p), func(e EligibilitySchedule) bool { return e.MemberType == MemberTypeDirect }) ||
		!slices.ContainsFunc(tn.MemberOf(p), assignable) {
		t.Errorf("protected %s holds no eligibility or role-assignable membership", p)
	}
	// No-assignment principals hold nothing in any source.
	for _, id := range s.NoAssignments {
		if len(tn.EligibilitiesOf(id)) != 0 || slices.ContainsFunc(tn.MemberOf(id), assignable) {
			t.Errorf("no-assignments %s holds eligibilities or role-assignable memberships", id)
		}
	}
	for _, id := range s.PIMManaged {
		if !tn.IsPIMManaged(id) || !slices.Contains(s.Removable, id) {
			t.Errorf("PIM-managed %s", id)
		}
	}

	// Global Administrator through Tier0 Admins, whose members stay.
	if !assignable(s.GlobalAdminGroup) {
		t.Fatalf("global admin group %q", s.GlobalAdminGroup)
	}
	held := tn.RoleAssignmentsOf(s.GlobalAdminGroup)
	if len(held) != 1 || held[0].RoleDefinitionID != GlobalAdministrator || held[0].DirectoryScopeID != "/" {
		t.Errorf("global admin group holds %v", held)
	}
	members := tn.Members(s.GlobalAdminGroup)
	if len(members) == 0 {
		t.Error("global admin group has no members")
	}
	for _, m := range members {
		if departing[m] {
			t.Errorf("global admin group member %s is departing", m)
		}
	}
	for _, g := range tn.Groups() {
		if g.IsAssignableToRole && len(tn.RoleAssignmentsOf(g.ID)) == 0 {
			t.Errorf("role-assignable group %s holds no role", g.DisplayName)
		}
	}
}

// TestGenerateServedGroupsAndPIM walks the new sources of a sample over
// HTTP as the job would.
func TestGenerateServedGroupsAndPIM(t *testing.T) {
	tn, s := Generate(Config{Seed: 8}, 30)
	h := serveTenant(t, tn)
	e, _ := tn.Eligibility(s.DirectEligibilities[0])
	if a := h.postJSON(eligibilityRequestsPath, removeBody(e.PrincipalID, e.RoleDefinitionID, e.DirectoryScopeID)); a.status != 201 {
		t.Fatalf("adminRemove: %d %s", a.status, a.body)
	}
	a := h.do("GET", "/v1.0/servicePrincipals/"+s.MemberSP+"/memberOf/microsoft.graph.group?$count=true&$filter="+
		url.QueryEscape("isAssignableToRole eq true"), withHeader("ConsistencyLevel", "eventual"))
	groups := ids(values(t, a))
	if a.status != 200 || len(groups) != 1 {
		t.Fatalf("memberOf: %d %s", a.status, a.body)
	}
	if a := h.do("DELETE", "/v1.0/groups/"+groups[0]+"/members/"+s.MemberSP+"/$ref"); a.status != 204 {
		t.Fatalf("remove membership: %d %s", a.status, a.body)
	}
	m := s.AssignableMemberships[0]
	if m[1] == s.MemberSP {
		m = s.AssignableMemberships[1]
	}
	if a := h.do("DELETE", "/v1.0/groups/"+m[0]+"/members/"+m[1]+"/$ref"); a.status != 204 {
		t.Fatalf("remove membership: %d %s", a.status, a.body)
	}
	for _, pm := range s.PlainMemberships {
		if !slices.Contains(tn.Members(pm[0]), pm[1]) {
			t.Fatalf("plain membership %v gone", pm)
		}
	}
	if v := tn.Violations(); len(v) != 0 {
		t.Fatalf("violations %v", v)
	}
}

// userByKey finds the one user with this mail (or, mail empty, employee
// id); false when none or several match.
func userByKey(tn *Tenant, mail, employeeID string) (string, bool) {
	var ids []string
	for _, u := range tn.Users() {
		if mail != "" && strings.EqualFold(u.Mail, mail) || mail == "" && employeeID != "" && strings.EqualFold(u.EmployeeID, employeeID) {
			ids = append(ids, u.ID)
		}
	}
	if len(ids) != 1 {
		return "", false
	}
	return ids[0], true
}

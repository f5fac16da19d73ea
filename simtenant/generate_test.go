package simtenant

import (
	"bytes"
	"encoding/csv"
	"fmt"
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
			_, s3 := Generate(Config{Seed: 2, Now: clk.Now}, n)
			if bytes.Equal(s1.CSV, s3.CSV) {
				t.Fatal("another seed, same CSV")
			}
		})
	}
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
	if got := strings.Join(records[0], ","); got != "principal_id,user_principal_name,principal_type,reference,effective_date,department" {
		t.Fatalf("header %q", got)
	}
	if len(s.Departing) != n {
		t.Fatalf("%d departing, want %d", len(s.Departing), n)
	}
	rowsOf := map[string]int{}
	var selfRow, formulaRow, deferredRow bool
	for i, rec := range records[1:] {
		line := i + 2
		id, upn, ref, date := rec[0], rec[1], rec[3], rec[4]
		if slices.Contains(s.InvalidLines, line) {
			if isGUID(id) {
				t.Errorf("invalid line %d names a valid id", line)
			}
			if upn != "" {
				if _, ok := tn.User(upn); ok {
					t.Errorf("invalid line %d names a known UPN", line)
				}
			}
			continue
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
	if len(s.InvalidLines) != 2 {
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

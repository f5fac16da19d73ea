package simtenant

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestGenerateUniform(t *testing.T) {
	tn, s := GenerateUniform(Config{Seed: 1}, 20, 12)
	if len(s.Departing) != 20 || len(s.Removable) != 240 {
		t.Fatalf("%d departing, %d removable; want 20 and 240", len(s.Departing), len(s.Removable))
	}
	if !slices.IsSorted(s.Removable) {
		t.Error("Removable is not sorted")
	}
	if got := len(tn.RoleAssignments()); got != 240 {
		t.Errorf("%d assignments in the tenant, want 240", got)
	}
	for _, id := range s.Departing {
		held := tn.RoleAssignmentsOf(id)
		seen := map[[2]string]bool{}
		for _, a := range held {
			if a.RoleDefinitionID == GlobalAdministrator {
				t.Errorf("%s holds Global Administrator", id)
			}
			seen[[2]string{a.RoleDefinitionID, a.DirectoryScopeID}] = true
		}
		if len(held) != 12 || len(seen) != 12 {
			t.Errorf("%s holds %d assignments (%d distinct), want 12", id, len(held), len(seen))
		}
		if len(tn.EligibilitiesOf(id)) != 0 || len(tn.MemberOf(id)) != 0 {
			t.Errorf("%s holds more than directory roles", id)
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(s.CSV)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 21 || rows[0][0] != "principal_id" || rows[1][0] != s.Departing[0] {
		t.Errorf("CSV: %d rows, header %v", len(rows), rows[0])
	}
	_, again := GenerateUniform(Config{Seed: 1}, 20, 12)
	if !bytes.Equal(s.CSV, again.CSV) || !slices.Equal(s.Removable, again.Removable) {
		t.Error("same seed, different tenant")
	}
}

func TestListingNarrowedByPrincipal(t *testing.T) {
	tn, s := GenerateUniform(Config{Seed: 2, PageSize: 5}, 30, 4)
	h := serveTenant(t, tn)
	// Three principals in one `in`, paged by five: every assignment of
	// theirs once, in id order, and nothing else.
	want := slices.Concat(tn.RoleAssignmentsOf(s.Departing[3]), tn.RoleAssignmentsOf(s.Departing[7]), tn.RoleAssignmentsOf(s.Departing[29]))
	var wantIDs []string
	for _, a := range want {
		wantIDs = append(wantIDs, a.ID)
	}
	slices.Sort(wantIDs)
	filter := "principalId in ('" + strings.ToUpper(s.Departing[3]) + "','" + s.Departing[7] + "','" + s.Departing[29] + "','" + s.Departing[7] + "')"
	next := h.server.URL() + assignmentsPath + "?$filter=" + url.QueryEscape(filter)
	var got []string
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		a := h.do(http.MethodGet, next)
		if a.status != http.StatusOK {
			t.Fatalf("%d %s", a.status, a.body)
		}
		got = append(got, ids(values(t, a))...)
		next, _ = a.json(t)["@odata.nextLink"].(string)
	}
	if !slices.Equal(got, wantIDs) {
		t.Fatalf("listed %v, want %v", got, wantIDs)
	}
	// Removing one takes it out of the narrowed listing too.
	gone, _ := tn.RoleAssignment(wantIDs[0])
	tn.RemoveRoleAssignment(gone.ID)
	a := h.do(http.MethodGet, h.server.URL()+assignmentsPath+"?$top=50&$filter="+url.QueryEscape("principalId eq '"+gone.PrincipalID+"'"))
	left := ids(values(t, a))
	if a.status != http.StatusOK || len(left) != 3 || slices.Contains(left, wantIDs[0]) {
		t.Fatalf("%d, listed %v after removing %s", a.status, left, wantIDs[0])
	}
}

func TestStatsPath(t *testing.T) {
	h := start(t, Config{Seed: 3})
	get := func() StatsReport {
		t.Helper()
		resp, err := http.Get(h.server.URL() + StatsPath)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", StatsPath, resp.Status)
		}
		var st StatsReport
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := get(); st.Requests != 0 {
		t.Fatalf("%d requests before any, want 0: the stats path is not counted", st.Requests)
	}
	h.do(http.MethodDelete, h.server.URL()+assignmentsPath+"/nope")
	st := get()
	if st.Requests != 1 || st.ByMethodStatus[http.MethodDelete][http.StatusNotFound] != 1 {
		t.Fatalf("stats %+v, want one DELETE answered 404", st.Stats)
	}
	resp, err := http.Post(h.server.URL()+StatsPath, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %s, want 405", StatsPath, resp.Status)
	}
}

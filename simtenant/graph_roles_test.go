package simtenant

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestAssignmentIDStyle(t *testing.T) {
	got := assignmentIDBase(GlobalAdministrator, "4ab0b690-479b-47ff-af8f-2576cf521872")
	if want := "lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI"; got != want {
		t.Fatalf("assignmentIDBase = %q, want %q", got, want)
	}
	tn := New(Config{})
	p := "4ab0b690-479b-47ff-af8f-2576cf521872"
	a1 := tn.AddRoleAssignment(RoleAssignment{PrincipalID: p, RoleDefinitionID: GlobalAdministrator})
	a2 := tn.AddRoleAssignment(RoleAssignment{PrincipalID: p, RoleDefinitionID: GlobalAdministrator, DirectoryScopeID: "/administrativeUnits/x"})
	if a1.ID != got+"-1" || a2.ID != got+"-2" || a1.DirectoryScopeID != "/" {
		t.Fatalf("ids %q %q scope %q", a1.ID, a2.ID, a1.DirectoryScopeID)
	}
}

// seedAssignments gives n principals one assignment each, plus two for the
// first principal.
func seedAssignments(tn *Tenant, n int) []string {
	var principals []string
	for range n {
		u := tn.AddUser(User{UserPrincipalName: fmt.Sprintf("u%d@contoso.onmicrosoft.com", len(principals)), DisplayName: "U"})
		principals = append(principals, u.ID)
		tn.AddRoleAssignment(RoleAssignment{PrincipalID: u.ID, RoleDefinitionID: UserAdministrator})
	}
	tn.AddRoleAssignment(RoleAssignment{PrincipalID: principals[0], RoleDefinitionID: SecurityReader, DirectoryScopeID: "/administrativeUnits/" + tn.NewID()})
	return principals
}

func TestListRoleAssignmentsFilter(t *testing.T) {
	h := start(t, Config{Seed: 3})
	ps := seedAssignments(h.tenant, 5)
	list := func(filter string) answer {
		return h.do("GET", assignmentsPath+"?$filter="+url.QueryEscape(filter))
	}
	tests := []struct {
		name   string
		filter string
		status int
		count  int
	}{
		{"eq", fmt.Sprintf("principalId eq '%s'", ps[0]), 200, 2},
		{"eq upper-case id", fmt.Sprintf("principalId eq '%s'", strings.ToUpper(ps[1])), 200, 1},
		{"in", fmt.Sprintf("principalId in ('%s','%s')", ps[1], ps[2]), 200, 2},
		{"and", fmt.Sprintf("principalId eq '%s' and roleDefinitionId eq '%s'", ps[0], SecurityReader), 200, 1},
		{"scope", "directoryScopeId eq '/'", 200, 5},
		{"role", fmt.Sprintf("roleDefinitionId eq '%s'", UserAdministrator), 200, 5},
		{"no match", "principalId eq '00000000-0000-0000-0000-000000000000'", 200, 0},
		{"injection as literal", fmt.Sprintf("principalId eq '%s'' or principalId ne ''x'", ps[0]), 200, 0},
		{"injection breaking out", fmt.Sprintf("principalId eq '%s' or principalId ne 'x'", ps[0]), 400, 0},
		{"unsupported property", "displayName eq 'x'", 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := list(tt.filter)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			if a.status == 400 {
				if code := a.errorCode(t); code != "BadRequest" {
					t.Fatalf("code %q", code)
				}
				if msg := a.errorMessage(t); !strings.HasPrefix(msg, "Invalid filter clause") {
					t.Fatalf("message %q", msg)
				}
				return
			}
			if n := len(values(t, a)); n != tt.count {
				t.Fatalf("%d results, want %d: %s", n, tt.count, a.body)
			}
		})
	}

	t.Run("kiota encoding", func(t *testing.T) {
		// kiota percent-encodes the $ of query option names.
		raw := "%24filter=principalId%20eq%20%27" + ps[0] + "%27&%24select=id,principalId"
		a := h.do("GET", assignmentsPath+"?"+raw)
		if a.status != 200 || len(values(t, a)) != 2 {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})

	t.Run("too many in values", func(t *testing.T) {
		var quoted []string
		for range maxInValues + 1 {
			quoted = append(quoted, "'"+ps[0]+"'")
		}
		a := list("principalId in (" + strings.Join(quoted, ",") + ")")
		if a.status != 400 || a.errorCode(t) != "Request_UnsupportedQuery" {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})

	t.Run("non-GUID id is a violation", func(t *testing.T) {
		before := len(h.tenant.Violations())
		list("principalId eq 'bob'")
		if v := h.tenant.Violations(); len(v) != before+1 || !strings.Contains(v[len(v)-1], "not a GUID") {
			t.Fatalf("violations %q", v)
		}
	})
}

func TestListRoleAssignmentsShape(t *testing.T) {
	h := start(t, Config{})
	ps := seedAssignments(h.tenant, 1)
	a := h.do("GET", assignmentsPath+"?$filter="+url.QueryEscape("principalId eq '"+ps[0]+"'"))
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	m := a.json(t)
	if m["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments" {
		t.Fatalf("context %v", m["@odata.context"])
	}
	if _, ok := m["@odata.nextLink"]; ok {
		t.Fatal("nextLink on the only page")
	}
	item := values(t, a)[0]
	for _, k := range []string{"id", "principalId", "roleDefinitionId", "directoryScopeId"} {
		if _, ok := item[k].(string); !ok {
			t.Errorf("%s missing in %v", k, item)
		}
	}
	if v, ok := item["appScopeId"]; !ok || v != nil {
		t.Errorf("appScopeId = %v, %v; want null", v, ok)
	}

	sel := values(t, h.do("GET", assignmentsPath+"?$select=principalId"))[0]
	if len(sel) != 2 || sel["id"] == nil || sel["principalId"] == nil {
		t.Errorf("$select=principalId gave %v", sel)
	}
	exp := values(t, h.do("GET", assignmentsPath+"?$expand=principal,roleDefinition($select=id)"))
	for _, it := range exp {
		if it["principal"] == nil || it["roleDefinition"] == nil {
			t.Errorf("$expand gave %v", it)
		}
	}
	principal := exp[0]["principal"].(map[string]any)
	if principal["@odata.type"] != "#microsoft.graph.user" {
		t.Errorf("expanded principal %v", principal)
	}
	for _, bad := range []string{"$select=nope", "$expand=nope", "$top=0", "$top=1000", "$top=x"} {
		if a := h.do("GET", assignmentsPath+"?"+bad); a.status != 400 {
			t.Errorf("%s: %d %s", bad, a.status, a.body)
		}
	}
	if a := h.do("GET", assignmentsPath+"?$count=true&$top=999"); a.status != 200 {
		t.Errorf("$count: %d", a.status)
	}
}

func TestPagingAbsoluteNextLink(t *testing.T) {
	h := start(t, Config{Seed: 9})
	var want []string
	for range 250 {
		a := h.tenant.AddRoleAssignment(RoleAssignment{PrincipalID: h.tenant.NewID(), RoleDefinitionID: HelpdeskAdministrator})
		want = append(want, a.ID)
	}
	slices.Sort(want)
	filter := url.QueryEscape("roleDefinitionId eq '" + HelpdeskAdministrator + "'")

	var got []string
	var sizes []int
	next := h.server.URL() + assignmentsPath + "?$filter=" + filter + "&$select=id,principalId"
	for next != "" {
		a := h.do("GET", next)
		if a.status != 200 {
			t.Fatalf("GET %s: %d %s", next, a.status, a.body)
		}
		page := values(t, a)
		sizes = append(sizes, len(page))
		got = append(got, ids(page)...)
		link, _ := a.json(t)["@odata.nextLink"].(string)
		if link != "" {
			if !strings.HasPrefix(link, h.server.URL()+assignmentsPath+"?") {
				t.Fatalf("nextLink %q is not absolute", link)
			}
			if !strings.Contains(link, "$filter="+filter) || !strings.Contains(link, "$select=id,principalId") {
				t.Fatalf("nextLink %q lost the query", link)
			}
			if strings.Count(link, "skiptoken") != 1 {
				t.Fatalf("nextLink %q", link)
			}
		}
		next = link
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) {
		t.Fatalf("page sizes %v", sizes)
	}
	if !slices.Equal(got, want) {
		t.Fatal("paging did not return every assignment once, in id order")
	}

	t.Run("top sets the page size", func(t *testing.T) {
		a := h.do("GET", assignmentsPath+"?$top=7")
		if n := len(values(t, a)); n != 7 {
			t.Fatalf("%d items", n)
		}
		link := a.json(t)["@odata.nextLink"].(string)
		if !strings.Contains(link, "$top=7") {
			t.Fatalf("nextLink %q", link)
		}
		if n := len(values(t, h.do("GET", link))); n != 7 {
			t.Fatalf("second page %d items", n)
		}
	})

	t.Run("deletes between pages skip nothing", func(t *testing.T) {
		a := h.do("GET", assignmentsPath+"?$top=10")
		first := ids(values(t, a))
		for _, id := range first {
			h.tenant.RemoveRoleAssignment(id)
		}
		second := ids(values(t, h.do("GET", a.json(t)["@odata.nextLink"].(string))))
		rest := h.tenant.RoleAssignments()
		if second[0] != rest[0].ID {
			t.Fatalf("second page starts at %s, want %s", second[0], rest[0].ID)
		}
	})

	t.Run("bad skiptoken", func(t *testing.T) {
		a := h.do("GET", assignmentsPath+"?$top=5")
		link := a.json(t)["@odata.nextLink"].(string)
		u, _ := url.Parse(link)
		token := u.Query().Get("$skiptoken")
		for _, q := range []string{
			"$skiptoken=garbage",
			"$skiptoken=",
			"$skiptoken=" + token[:len(token)-2] + "AA",
			"$filter=" + filter + "&$skiptoken=" + token, // another query's token
		} {
			if a := h.do("GET", assignmentsPath+"?"+q); a.status != 400 {
				t.Errorf("%s: %d %s", q, a.status, a.body)
			}
		}
	})
}

func TestGetAndDeleteRoleAssignment(t *testing.T) {
	h := start(t, Config{})
	tn := h.tenant
	user := tn.AddUser(User{UserPrincipalName: "a@contoso.onmicrosoft.com"})
	plain := tn.AddRoleAssignment(RoleAssignment{PrincipalID: user.ID, RoleDefinitionID: UserAdministrator})
	otherGA := tn.AddRoleAssignment(RoleAssignment{PrincipalID: user.ID, RoleDefinitionID: GlobalAdministrator})
	selfGA := tn.AddRoleAssignment(RoleAssignment{PrincipalID: tn.CallerID(), RoleDefinitionID: GlobalAdministrator})
	selfOther := tn.AddRoleAssignment(RoleAssignment{PrincipalID: tn.CallerID(), RoleDefinitionID: SecurityReader})
	ghost := tn.AddRoleAssignment(RoleAssignment{PrincipalID: user.ID, RoleDefinitionID: HelpdeskAdministrator})
	tn.MarkGhost(ghost.ID)

	byID := assignmentsPath + "/"
	if a := h.do("GET", byID+plain.ID); a.status != 200 || a.json(t)["principalId"] != user.ID {
		t.Fatalf("GET: %d %s", a.status, a.body)
	}
	if a := h.do("GET", byID+plain.ID+"?$select=roleDefinitionId"); a.status != 200 || a.json(t)["principalId"] != nil {
		t.Fatalf("GET $select: %d %s", a.status, a.body)
	}
	listed := ids(values(t, h.do("GET", assignmentsPath+"?$filter="+url.QueryEscape("principalId eq '"+user.ID+"'"))))
	if !slices.Contains(listed, ghost.ID) {
		t.Fatalf("ghost not listed: %v", listed)
	}

	tests := []struct {
		name   string
		method string
		id     string
		status int
		code   string
	}{
		{"delete", "DELETE", plain.ID, 204, ""},
		{"delete again", "DELETE", plain.ID, 404, "Request_ResourceNotFound"},
		{"get deleted", "GET", plain.ID, 404, "Request_ResourceNotFound"},
		{"get ghost", "GET", ghost.ID, 404, "Request_ResourceNotFound"},
		{"delete ghost", "DELETE", ghost.ID, 404, "Request_ResourceNotFound"},
		{"self GA refused", "DELETE", selfGA.ID, 400, "Request_BadRequest"},
		{"self other role", "DELETE", selfOther.ID, 204, ""},
		{"someone else's GA", "DELETE", otherGA.ID, 204, ""},
		{"never existed", "DELETE", "nope-1", 404, "Request_ResourceNotFound"},
	}
	for _, tt := range tests {
		a := h.do(tt.method, byID+tt.id)
		if a.status != tt.status {
			t.Fatalf("%s: %d %s", tt.name, a.status, a.body)
		}
		if tt.code != "" && a.errorCode(t) != tt.code {
			t.Fatalf("%s: code %s", tt.name, a.body)
		}
		if tt.status == 204 && len(a.body) != 0 {
			t.Fatalf("%s: 204 with body %q", tt.name, a.body)
		}
	}
	a := h.do("DELETE", byID+"missing-1")
	if want := "Resource 'missing-1' does not exist or one of its queried reference-property objects are not present."; a.errorMessage(t) != want {
		t.Fatalf("404 message %q", a.errorMessage(t))
	}
	a = h.do("DELETE", byID+selfGA.ID)
	if a.errorMessage(t) != "Removing self from Global Administrator built-in role is not allowed" {
		t.Fatalf("self message %q", a.errorMessage(t))
	}
	if _, ok := tn.RoleAssignment(selfGA.ID); !ok {
		t.Fatal("self GA was removed")
	}
	if _, ok := tn.RoleAssignment(ghost.ID); ok {
		t.Fatal("a ghost that answered 404 to DELETE is still listed")
	}
	left := tn.RoleAssignments()
	if len(left) != 1 || left[0].ID != selfGA.ID {
		t.Fatalf("left %v", left)
	}
	if s := tn.Stats(); s.ByMethodStatus["DELETE"][http.StatusNoContent] != 3 {
		t.Fatalf("stats %+v", s)
	}
}

package simtenant

import (
	"net/url"
	"strings"
	"testing"
)

func TestDeletedUsers(t *testing.T) {
	h := start(t, Config{PageSize: 1})
	alice := h.tenant.AddUser(User{UserPrincipalName: "alice@contoso.com", Mail: "alice@contoso.com", EmployeeID: "E1"})
	bob := h.tenant.AddUser(User{UserPrincipalName: "bob@contoso.com", Mail: "bob@contoso.com", EmployeeID: "E2"})
	h.tenant.AddUser(User{UserPrincipalName: "malice@contoso.com"})
	if _, ok := h.tenant.DeleteUser(strings.ToUpper(alice.ID)); !ok {
		t.Fatal("DeleteUser found nobody")
	}
	if _, ok := h.tenant.DeleteUser(alice.ID); ok {
		t.Fatal("a user was deleted twice")
	}
	h.tenant.DeleteUser(bob.ID)
	prefixed := strings.ReplaceAll(alice.ID, "-", "") + "alice@contoso.com"
	if got := h.tenant.DeletedUsers(); len(got) != 2 || (got[0].UserPrincipalName != prefixed && got[1].UserPrincipalName != prefixed) {
		t.Fatalf("DeletedUsers = %+v", got)
	}
	// Gone from /users, by any key.
	for _, f := range []string{"userPrincipalName eq 'alice@contoso.com'", "mail eq 'alice@contoso.com'", "employeeId eq 'E1'"} {
		a := h.do("GET", "/v1.0/users?$filter="+url.QueryEscape(f))
		if a.status != 200 || len(a.json(t)["value"].([]any)) != 0 {
			t.Errorf("/users %s: %d %s", f, a.status, a.body)
		}
	}
	if a := h.do("GET", "/v1.0/users/"+alice.ID); a.status != 404 {
		t.Errorf("GET /users/{deleted id}: %d", a.status)
	}

	eventual := withHeader("ConsistencyLevel", "eventual")
	list := func(cast, filter string, opts ...reqOption) ([]string, answer) {
		t.Helper()
		target := "/v1.0/directory/deletedItems/" + cast + "?$count=true&$select=id,userPrincipalName,deletedDateTime&$filter=" + url.QueryEscape(filter)
		var upns []string
		for target != "" {
			a := h.do("GET", target, opts...)
			if a.status != 200 {
				return nil, a
			}
			body := a.json(t)
			for _, v := range body["value"].([]any) {
				u := v.(map[string]any)
				if u["deletedDateTime"] == nil {
					t.Errorf("no deletedDateTime: %v", u)
				}
				upns = append(upns, u["userPrincipalName"].(string))
			}
			target, _ = body["@odata.nextLink"].(string)
		}
		return upns, answer{status: 200}
	}
	// endswith is an advanced query.
	if _, a := list("microsoft.graph.user", "endswith(userPrincipalName,'alice@contoso.com')"); a.status != 400 || a.errorCode(t) != "Request_UnsupportedQuery" {
		t.Errorf("endswith without ConsistencyLevel: %d %s", a.status, a.body)
	}
	for _, cast := range []string{"microsoft.graph.user", "graph.user"} {
		got, a := list(cast, "endsWith(userPrincipalName,'ALICE@contoso.com')", eventual)
		if a.status != 200 || len(got) != 1 || got[0] != prefixed {
			t.Errorf("%s endswith: %v %d %s", cast, got, a.status, a.body)
		}
	}
	// Equality on the UPN finds nobody: the id prefixes it.
	if got, _ := list("graph.user", "userPrincipalName eq 'alice@contoso.com'"); len(got) != 0 {
		t.Errorf("eq on a deleted user's UPN found %v", got)
	}
	if got, a := list("graph.user", "mail in ('alice@contoso.com','bob@contoso.com')", eventual); a.status != 200 || len(got) != 2 {
		t.Errorf("mail in: %v %d %s", got, a.status, a.body)
	}
	if got, _ := list("graph.user", "employeeId eq 'E2'"); len(got) != 1 {
		t.Errorf("employeeId eq: %v", got)
	}
	if a := h.do("GET", "/v1.0/directory/deletedItems"); a.status != 400 {
		t.Errorf("untyped deletedItems: %d", a.status)
	}

	denied := start(t, Config{Deny: []string{PermUserRead, PermDirectoryRead}})
	if a := denied.do("GET", "/v1.0/directory/deletedItems/microsoft.graph.user"); a.status != 403 {
		t.Errorf("without User.Read.All (nor Directory.Read.All): %d", a.status)
	}
}

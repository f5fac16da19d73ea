package simtenant

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestListUsersByHRKeys(t *testing.T) {
	h := start(t, Config{PageSize: 2})
	add := func(upn, mail, employeeID string) string {
		return h.tenant.AddUser(User{UserPrincipalName: upn, Mail: mail, EmployeeID: employeeID}).ID
	}
	alice := add("alice@contoso.onmicrosoft.com", "alice@contoso.com", "1")
	bob := add("bob@contoso.onmicrosoft.com", "shared@contoso.com", "2")
	carol := add("carol@contoso.onmicrosoft.com", "shared@contoso.com", "2")
	guest := add("gina_fabrikam.com#EXT#@contoso.onmicrosoft.com", "gina@fabrikam.com", "")
	quoted := add("obrien@contoso.onmicrosoft.com", "o'brien@contoso.com", "")

	// list follows every @odata.nextLink and returns the ids, sorted.
	list := func(filter string) ([]string, answer) {
		t.Helper()
		target := "/v1.0/users?$select=id,userPrincipalName,mail,employeeId&$filter=" + url.QueryEscape(filter)
		var ids []string
		for target != "" {
			a := h.do("GET", target)
			if a.status != 200 {
				return nil, a
			}
			body := a.json(t)
			for _, v := range body["value"].([]any) {
				u := v.(map[string]any)
				if _, ok := u["employeeId"]; !ok {
					t.Errorf("employeeId not selected: %v", u)
				}
				ids = append(ids, u["id"].(string))
			}
			target, _ = body["@odata.nextLink"].(string)
		}
		slices.Sort(ids)
		return ids, answer{status: 200}
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	for _, tt := range []struct {
		filter string
		want   []string
	}{
		{"userPrincipalName in ('ALICE@contoso.onmicrosoft.com','gina_fabrikam.com#EXT#@contoso.onmicrosoft.com')", sorted(alice, guest)},
		{"mail eq 'shared@contoso.com'", sorted(bob, carol)},
		{"mail in ('gina@fabrikam.com','nobody@contoso.com')", []string{guest}},
		{"employeeId in ('1','2')", sorted(alice, bob, carol)},
		{"employeeId eq '3'", nil},
		{"mail eq 'o''brien@contoso.com'", []string{quoted}},
		// A quote that is not doubled cannot end the literal early.
		{"mail in ('x'' or mail ne ''x')", nil},
	} {
		got, a := list(tt.filter)
		if a.status != 200 || !slices.Equal(got, tt.want) {
			t.Errorf("%s: %d %v, want %v (%s)", tt.filter, a.status, got, tt.want, a.body)
		}
	}

	var values []string
	for i := range 16 {
		values = append(values, fmt.Sprintf("'%d'", i))
	}
	if _, a := list("employeeId in (" + strings.Join(values, ",") + ")"); a.status != 400 || a.errorCode(t) != "Request_UnsupportedQuery" {
		t.Errorf("16 values: %d %s", a.status, a.body)
	}
	for _, bad := range []string{"mail ne 'x'", "displayName eq 'x'", "mail eq 'x' or mail eq 'y'", "mail eq 'x"} {
		if _, a := list(bad); a.status != 400 {
			t.Errorf("%s: %d %s, want 400", bad, a.status, a.body)
		}
	}
}

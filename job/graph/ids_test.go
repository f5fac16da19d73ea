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
	}
	for _, tt := range tests {
		if err := tt.src.CheckID(job.Assignment{ID: tt.id}); (err == nil) != tt.ok {
			t.Errorf("%T.CheckID(%q) = %v, want ok %v", tt.src, tt.id, err, tt.ok)
		}
	}
}

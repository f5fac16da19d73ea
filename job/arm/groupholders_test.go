package arm

import (
	"encoding/json"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/offboard/offboard/job"
)

func TestHeldByGroup(t *testing.T) {
	as := func(principalType string) job.Assignment {
		pt := armauthorization.PrincipalType(principalType)
		raw, _ := json.Marshal(armauthorization.RoleAssignment{Properties: &armauthorization.RoleAssignmentProperties{PrincipalType: &pt}})
		return job.Assignment{Raw: raw}
	}
	tests := []struct {
		name string
		a    job.Assignment
		want bool
	}{
		{"a group", as("Group"), true},
		{"a group, any case", as("group"), true},
		{"a user", as("User"), false},
		{"a service principal", as("ServicePrincipal"), false},
		{"a foreign group", as("ForeignGroup"), false},
		{"no principal type", job.Assignment{Raw: []byte(`{"properties":{}}`)}, false},
		{"not JSON", job.Assignment{Raw: []byte(`<html>`)}, false},
	}
	for _, tt := range tests {
		if got := heldByGroup(tt.a); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

package graph

import "testing"

func TestDeletesMember(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/v1.0/groups/g/members/m/$ref", false},
		{"/v1.0/groups/g/members/m/%24ref", false},
		{"/v1.0/groups/g/members/m", true},
		{"/v1.0/groups/g/members/m/", true},
		{"/v1.0/GROUPS/g/Members/m", true},
		{"/v1.0/groups/g/members/m/$ref/x", true},
		{"/v1.0/groups/g/members/m/microsoft.graph.user", true},
		{"/v1.0/groups/g", false},
		{"/v1.0/groups/g/members", false},
		{"/v1.0/roleManagement/directory/roleAssignments/x", false},
		{"/v1.0/users/u/memberOf", false},
	}
	for _, tt := range tests {
		if got := deletesMember(tt.path); got != tt.want {
			t.Errorf("deletesMember(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

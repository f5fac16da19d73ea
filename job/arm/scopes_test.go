package arm

import "testing"

func TestManagementGroupID(t *testing.T) {
	tests := []struct {
		scope, want string
		ok          bool
	}{
		{"/providers/Microsoft.Management/managementGroups/mg-1", "mg-1", true},
		{"/providers/microsoft.management/managementgroups/MG-1/", "MG-1", true},
		{"/providers/Microsoft.Management/managementGroups/", "", false},
		{"/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Authorization/roleAssignments/x", "", false},
		{"/subscriptions/s1", "", false},
	}
	for _, tt := range tests {
		got, ok := managementGroupID(tt.scope)
		if got != tt.want || ok != tt.ok {
			t.Errorf("managementGroupID(%q) = %q, %v; want %q, %v", tt.scope, got, ok, tt.want, tt.ok)
		}
	}
}

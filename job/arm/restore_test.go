package arm

import "testing"

func TestSafePath(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/", true},
		{"/subscriptions/s1", true},
		{"/subscriptions/s1/resourceGroups/rg-web/providers/Microsoft.Web/sites/app.prod", true},
		{"/providers/Microsoft.Management/managementGroups/mg/providers/Microsoft.Authorization/roleAssignments/x", true},
		{"", false},
		{"subscriptions/s1", false},
		{"/subscriptions/s1/../s2", false},
		{"/subscriptions/s1/./x", false},
		{"/subscriptions//s1", false},
		{"/subscriptions/s1/", false},
		{"/subscriptions/s1?api-version=1", false},
		{"/subscriptions/s1#x", false},
		{"/subscriptions/s1%2F..", false},
		{"/subscriptions/s 1", false},
		{"/subscriptions/s1\n", false},
	}
	for _, tt := range tests {
		if got := safePath(tt.path); got != tt.want {
			t.Errorf("safePath(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

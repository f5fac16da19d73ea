package arm

import (
	"errors"
	"fmt"
	"testing"
)

func TestLicenceMissing(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"the code", &Error{Status: 400, Code: "AadPremiumLicenseRequired", Message: "anything"}, true},
		{"the code, wrapped", fmt.Errorf("listing: %w", &Error{Status: 400, Code: "aadpremiumlicenserequired"}), true},
		{"AAD Premium 2", &Error{Status: 400, Code: "BadRequest", Message: "The tenant needs an AAD Premium 2 license."}, true},
		{"not onboarded", &Error{Status: 400, Code: "InvalidResourceType", Message: "The tenant has not onboarded to PIM."}, true},
		{"Graph's wording", &Error{Status: 403, Message: "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license."}, true},
		{"another 400", &Error{Status: 400, Code: "InvalidFilterParameter", Message: "The filter '' is not supported."}, false},
		{"throttled, whatever it says", &Error{Status: 429, Code: "AadPremiumLicenseRequired"}, false},
		{"a server error", &Error{Status: 503, Message: "premium 2"}, false},
		{"not an ARM answer", errors.New("AadPremiumLicenseRequired"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if _, got := licenceMissing(tt.err); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

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

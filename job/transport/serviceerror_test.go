package transport

import (
	"errors"
	"fmt"
	"testing"

	"github.com/offboard/offboard/job"
)

// One licence test for both services: the code decides. ARM's message
// wordings ("needs an AAD Premium 2 license", "has not onboarded to PIM")
// come from the portal's older APIs, not from ARM's roleEligibilitySchedules,
// which answers 400 AadPremiumLicenseRequired like Graph.
func TestLicenceMissing(t *testing.T) {
	const graphSays = "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license."
	licence := &ServiceError{Status: 400, Code: LicenceCode, Message: graphSays}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"Graph's answer", licence, true},
		{"ARM's answer", &ServiceError{Status: 400, Code: LicenceCode, Message: "The tenant needs an AAD Premium 2 license."}, true},
		{"the code in another case, wrapped", fmt.Errorf("listing: %w", &ServiceError{Status: 400, Code: "aadpremiumlicenserequired"}), true},
		{"wrapped by a page", fmt.Errorf("listing role eligibility schedules (page 1): %w", licence), true},
		{"one principal of a batch", job.ListingErrors{"a": errors.New("HTTP 503"), "b": fmt.Errorf("page 1: %w", licence)}, true},
		{"the wording without the code", &ServiceError{Status: 400, Code: "BadRequest", Message: "The tenant needs an AAD Premium 2 license."}, false},
		{"not onboarded, without the code", &ServiceError{Status: 400, Code: "InvalidResourceType", Message: "The tenant has not onboarded to PIM."}, false},
		{"another 400", &ServiceError{Status: 400, Code: "RoleAssignmentDoesNotExist"}, false},
		{"the code with another status", &ServiceError{Status: 403, Code: LicenceCode}, false},
		{"throttled, whatever it says", &ServiceError{Status: 429, Code: LicenceCode}, false},
		{"a batch without it", job.ListingErrors{"a": errors.New("HTTP 503")}, false},
		{"not a service's answer", errors.New(LicenceCode), false},
		{"none", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ue, ok := LicenceMissing(tc.err, job.SourcePIM)
			if ok != tc.want {
				t.Fatalf("LicenceMissing = %v, want %v", ok, tc.want)
			}
			if ok && ue.Part != job.SourcePIM {
				t.Errorf("unavailability %+v", ue)
			}
			if ok && tc.err == licence && ue.Reason != LicenceCode+": "+graphSays {
				t.Errorf("reason %q", ue.Reason)
			}
		})
	}
}

func TestServiceError(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{400, `{"error":{"code":"Request_BadRequest","message":"bad"}}`, "HTTP 400 Request_BadRequest: bad"},
		{403, `{"odata.error":{"code":"Authorization_RequestDenied","message":{"lang":"en","value":"Insufficient privileges"}}}`,
			"HTTP 403 Authorization_RequestDenied: Insufficient privileges"},
		{409, `{"error":{"code":"RoleAssignmentExists","message":"The role assignment already exists."}}`,
			"HTTP 409 RoleAssignmentExists: The role assignment already exists."},
		{502, "<html>\x00Bad gateway</html>", "HTTP 502: <html> Bad gateway</html>"},
		{404, "", "HTTP 404: Not Found"},
	} {
		if got := ErrorFromBody(tc.status, []byte(tc.body)).Error(); got != tc.want {
			t.Errorf("ErrorFromBody(%d, %q) = %q, want %q", tc.status, tc.body, got, tc.want)
		}
	}
	if !errors.Is(fmt.Errorf("x: %w", &ServiceError{Status: 404}), job.ErrNotFound) ||
		!errors.Is(&ServiceError{Status: 401}, job.ErrUnauthorized) || errors.Is(&ServiceError{Status: 403}, job.ErrNotFound) {
		t.Error("Is")
	}
}

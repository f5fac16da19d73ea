package graph

import (
	"errors"
	"fmt"
	"testing"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

func TestLicenceError(t *testing.T) {
	licence := &transport.ServiceError{Status: 400, Code: "AadPremiumLicenseRequired", Message: "The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license."}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"the answer", licence, true},
		{"wrapped by a page", fmt.Errorf("listing role eligibility schedules (page 1): %w", licence), true},
		{"one principal of a batch", job.ListingErrors{"a": errors.New("HTTP 503"), "b": fmt.Errorf("page 1: %w", licence)}, true},
		{"another 400", &transport.ServiceError{Status: 400, Code: "RoleAssignmentDoesNotExist"}, false},
		{"the code with another status", &transport.ServiceError{Status: 403, Code: "AadPremiumLicenseRequired"}, false},
		{"a batch without it", job.ListingErrors{"a": errors.New("HTTP 503")}, false},
		{"none", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ue, ok := transport.LicenceMissing(tc.err, job.SourcePIM)
			if ok != tc.want {
				t.Fatalf("licenceError = %v, want %v", ok, tc.want)
			}
			if ok && (ue.Part != job.SourcePIM || ue.Reason != "AadPremiumLicenseRequired: "+licence.Message) {
				t.Errorf("unavailability %+v", ue)
			}
		})
	}
}

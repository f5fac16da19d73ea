package report

import (
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
)

// TestHeldReasons: every reason a guard gives has its line on the summary
// page and its own what-to-do; the last owner's says of what.
func TestHeldReasons(t *testing.T) {
	fallback := HeldWhatToDo("")
	for _, tc := range []struct{ detail, toDo string }{
		{job.HeldProtected, "--protect"},
		{job.HeldSelf, "the job's own identity"},
		{job.HeldLastOwner, "owner to the group"},
		{job.HeldLastOwner + ": application Payroll (id) keeps its last owner", "owner to the application"},
		{job.HeldLastOwner + ": service principal Payroll (id) keeps its last owner", "owner to the service principal"},
		{job.HeldLastGlobalAdmin, "Global Administrator to another account"},
		{job.HeldDynamicMembership + ": group X's members follow its membership rule", "membership rule"},
		{job.HeldOnPremisesSynced + ": group X's members are managed in the on-premises directory", "on-premises directory"},
		{job.HeldMailEnabled + ": group X is a distribution list", "Exchange Online"},
	} {
		if leftInPlace(tc.detail) == "" {
			t.Errorf("%q: the summary page says nothing of why", tc.detail)
		}
		if got := HeldWhatToDo(tc.detail); got == fallback || !strings.Contains(got, tc.toDo) {
			t.Errorf("%q: what to do %q, want it to say %q", tc.detail, got, tc.toDo)
		}
	}
	if leftInPlace("no such reason") != "" {
		t.Error("a reason no guard gives has a line on the summary page")
	}
}

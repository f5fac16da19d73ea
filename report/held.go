package report

import (
	"strings"

	"github.com/offboard/offboard/job"
)

// heldReasons are why a guard leaves access in place on purpose: a skipped
// row's detail begins with the reason. Each says, in one line for the
// summary page (left), why the access is still there, and, for the
// attestation's reader (toDo), what a person does about it. The first
// whose prefix the detail begins with applies.
var heldReasons = []struct {
	prefix, left, toDo string
}{
	{job.HeldProtected, "named in --protect (a break-glass account): never touched",
		"the principal is on --protect (a break-glass account): remove its access by hand if it should not hold it, or take it off --protect"},
	{job.HeldSelf, "the identity the job runs as: never touched",
		"the principal is the job's own identity: remove its access by hand, with another account"},
	{job.HeldLastOwner + ": service principal ", "the last owner is kept: add another owner, then rerun",
		"add another owner to the service principal (or delete it if no longer needed), then run the watch again: it removes the principal as an owner"},
	{job.HeldLastOwner + ": ", "the last owner is kept: add another owner, then rerun",
		"add another owner to the application (or delete it if no longer needed), then run the watch again: it removes the principal as an owner"},
	{job.HeldLastOwner, "the last owner is kept: add another owner, then rerun",
		"add another owner to the group (or delete the group if no longer needed), then run the watch again: it removes the principal as an owner"},
	{job.HeldLastGlobalAdmin, "the tenant's last Global Administrator: assign another, then rerun",
		"assign Global Administrator to another account (a break-glass account), then run the watch again: it removes the role"},
	{job.HeldDynamicMembership, "a dynamic group: its membership rule decides; change the rule",
		"change the group's membership rule, or the principal's attributes, so that it no longer matches"},
	{job.HeldOnPremisesSynced, "synced from on-premises: change it there",
		"remove the principal from the group in the on-premises directory; the next sync removes it here"},
	{job.HeldMailEnabled, "a mail-enabled group: change it in Exchange",
		"remove the principal in Exchange Online (the Exchange admin center, or Remove-DistributionGroupMember / Set-DistributionGroup -ManagedBy)"},
}

// heldReasonOf is the entry of heldReasons a skipped row's detail begins
// with.
func heldReasonOf(detail string) (left, toDo string, ok bool) {
	for _, r := range heldReasons {
		if strings.HasPrefix(detail, r.prefix) {
			return r.left, r.toDo, true
		}
	}
	return "", "", false
}

// leftInPlace says why a skipped row's access was left where it is, and
// what to do about it, from its detail: "" for a reason no guard gives.
func leftInPlace(detail string) string {
	left, _, _ := heldReasonOf(detail)
	return left
}

// HeldWhatToDo says what a person does about access the job deliberately
// left, from the detail of its skipped row.
func HeldWhatToDo(detail string) string {
	if _, toDo, ok := heldReasonOf(detail); ok {
		return toDo
	}
	return "remove the access by hand, or remove what keeps the job from removing it, then run the watch again"
}

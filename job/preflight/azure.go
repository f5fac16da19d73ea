package preflight

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/arm"
	"github.com/offboard/offboard/job/transport"
)

// AzureChecker reads the identity's rights at its scopes (*arm.Checker).
type AzureChecker interface {
	Rights(ctx context.Context, principalID string) ([]arm.Rights, error)
	Eligibility(ctx context.Context, principalID, scope string) error
}

var _ AzureChecker = (*arm.Checker)(nil)

// Azure checks, for each scope, that the identity self may do there what
// the azure source's kinds need (needs: the registry's ARM actions for
// it), and that Azure PIM can be read (its licence). A checker that could
// not be made (setupErr) is one failed result.
func Azure(ctx context.Context, checker AzureChecker, setupErr error, self string, needs []string) []Result {
	rights, failed := readRights(ctx, checker, setupErr, self, job.SourceAzure,
		"assign the identity a role that may read and delete role assignments and request their removal at the scope "+
			"(User Access Administrator, or a custom role with the actions of README, Authentication and permissions)")
	if failed != nil {
		return failed
	}
	var out []Result
	for _, rt := range rights {
		out = append(out, judgeRights("azure-scope", rt, self, needs, "User Access Administrator",
			"it may read and delete role assignments and request assignment and eligibility removals"),
			eligibility(ctx, checker, self, rt.Scope))
	}
	return out
}

// judgeRights is a scope's result: missing, naming the actions of needs
// the identity lacks there and the role to assign, or ok, saying what it
// may do there.
func judgeRights(check string, rt arm.Rights, self string, needs []string, role, may string) Result {
	var lacking []string
	for _, action := range needs {
		if !rt.Allows(action) {
			lacking = append(lacking, action)
		}
	}
	r := Result{Check: check, Name: rt.Scope, Status: OK}
	held := "holds no role there"
	if len(rt.Roles) > 0 {
		held = "holds " + strings.Join(slices.Compact(slices.Sorted(slices.Values(rt.Roles))), ", ")
	}
	if len(lacking) == 0 {
		r.Detail = "the identity " + held + ": " + may
		return r
	}
	r.Status = Missing
	r.Detail = "the identity " + held + ": none grants " + strings.Join(lacking, " or ")
	r.Fix = fmt.Sprintf("az role assignment create --assignee-object-id %s --assignee-principal-type ServicePrincipal "+
		"--role \"%s\" --scope %s", self, role, rt.Scope)
	return r
}

// eligibility judges reading Azure PIM's eligibilities at one scope.
func eligibility(ctx context.Context, checker AzureChecker, self, scope string) Result {
	e := Result{Check: "source", Name: job.SourceAzure + "-eligibility " + scope, Status: OK, Detail: "Azure PIM read"}
	if err := checker.Eligibility(ctx, self, scope); err != nil {
		var ue *job.UnavailableError
		var ae *transport.ServiceError
		switch {
		case errors.As(err, &ue):
			e.Status, e.Detail = Unavailable, ue.Reason
			e.Fix = "the tenant needs a Microsoft Entra ID P2 or Governance licence for Azure PIM; without one it has no eligibilities to remove"
		case errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized):
			e.Status, e.Detail = Missing, err.Error()
			e.Fix = "assign the identity a role that may read role eligibility schedules at the scope (User Access Administrator)"
		default:
			e.Status, e.Detail = Error, err.Error()
		}
	}
	return e
}

// KeyVault checks, for each scope, that the identity self may do there
// what the keyvault source's kinds need (needs: the registry's ARM
// actions for it: list Key Vaults and change their access policies). The
// rights are read as Azure's are (Checker.Rights); a checker that could
// not be made (setupErr) is one failed result.
func KeyVault(ctx context.Context, checker AzureChecker, setupErr error, self string, needs []string) []Result {
	rights, failed := readRights(ctx, checker, setupErr, self, job.SourceKeyVault,
		"assign the identity a role that may read its role assignments and change Key Vault access policies at the scope "+
			"(Key Vault Contributor, with Reader or more; README, Authentication and permissions)")
	if failed != nil {
		return failed
	}
	var out []Result
	for _, rt := range rights {
		out = append(out, judgeRights("keyvault-scope", rt, self, needs, "Key Vault Contributor",
			"it may list Key Vaults and change their access policies"))
	}
	return out
}

// readRights reads the identity's rights at every scope for source, or
// answers the one result that says why it cannot: the checker could not
// be made (setupErr), the read failed (Missing with fix when it was
// refused), or no subscription can be listed.
func readRights(ctx context.Context, checker AzureChecker, setupErr error, self, source, fix string) ([]arm.Rights, []Result) {
	if setupErr != nil {
		return nil, []Result{{Check: "source", Name: source, Status: Error, Detail: setupErr.Error()}}
	}
	rights, err := checker.Rights(ctx, self)
	if err != nil {
		r := Result{Check: "source", Name: source, Status: Error, Detail: err.Error()}
		var ae *transport.ServiceError
		if errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized) {
			r.Status, r.Fix = Missing, fix
		}
		return nil, []Result{r}
	}
	if len(rights) == 0 {
		return nil, []Result{{Check: "source", Name: source, Status: Missing,
			Detail: "--azure-scopes all: the identity can list no subscription", Fix: "assign the identity a role at the subscriptions to clean"}}
	}
	return rights, nil
}

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/arm"
	"github.com/offboard/offboard/job/graph"
	"github.com/offboard/offboard/job/transport"
)

// The Graph application permissions each part of the job needs, and those
// that hold them too (a larger permission includes a smaller one).
var graphNeeds = map[string][]string{
	job.SourceDirectory: {"RoleManagement.ReadWrite.Directory"},
	job.SourcePIM:       {"RoleManagement.ReadWrite.Directory"},
	job.SourceGroups: {"GroupMember.ReadWrite.All", "RoleManagement.ReadWrite.Directory", "Application.Read.All",
		"PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup", "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"},
	"users": {"User.Read.All"},
}

var graphImplied = map[string][]string{
	"GroupMember.ReadWrite.All": {"Group.ReadWrite.All", "Directory.ReadWrite.All"},
	"User.Read.All":             {"User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	"Application.Read.All":      {"Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
}

// grantCommand is the README's command that grants an application
// permission to the job's identity.
func grantFix(perms []string) string {
	return "grant the application permission " + strings.Join(perms, " and ") +
		" to the job's identity, with admin consent (README, Deploy: Permissions)"
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// check runs every check and returns their results, in a stable order.
func (j *jobRun) check(ctx context.Context, inputErr, reportErr error) []checkResult {
	c := j.cfg
	var out []checkResult
	out = append(out, j.checkInput(ctx, inputErr)...)
	out = append(out, j.checkReport(reportErr)...)

	graphToken := j.creds.forAudience(c.GraphEndpoint)
	tok, err := graphToken(ctx)
	if err != nil {
		return append(out, checkResult{Check: "token", Name: "graph", Status: checkError, Detail: err.Error(),
			Fix: "configure the identity (README, Authentication)"})
	}
	self := c.SelfID
	if self == "" {
		if self, err = oidOf(tok); err != nil {
			return append(out, checkResult{Check: "token", Name: "graph", Status: checkError,
				Detail: "the job's own object id is unknown: " + err.Error(), Fix: "pass --self-id"})
		}
	}
	roles, hasRoles := rolesOf(tok)

	// Sources are built as a run builds them, but with no batching: each
	// check reads one principal, the job itself.
	c.GraphBatchSize = 1
	graphSources := slices.DeleteFunc(slices.Clone(c.Sources), func(s string) bool { return s == job.SourceAzure })
	jc := *j
	jc.cfg.Sources = graphSources
	sources, dir, _, err := jc.services(j.creds, graphToken)
	if err != nil {
		return append(out, checkResult{Check: "setup", Name: "graph", Status: checkError, Detail: err.Error()})
	}
	me := []job.Principal{{ID: self}}
	judge := func(part string, readErr error) checkResult {
		r := checkResult{Check: "source", Name: part, Status: checkOK}
		if part == "users" {
			r.Check = "permission"
		}
		need := graphNeeds[part]
		var lacking []string
		if hasRoles {
			for _, p := range need {
				if !hasPermission(roles, p) {
					lacking = append(lacking, p)
				}
			}
		}
		var ue *job.UnavailableError
		var ge *graph.Error
		switch {
		case len(lacking) > 0:
			r.Status, r.Detail, r.Fix = checkMissing, "the token's roles lack "+strings.Join(lacking, ", "), grantFix(lacking)
		case errors.As(readErr, &ue):
			r.Status, r.Detail = checkUnavailable, ue.Reason
			r.Fix = "the tenant needs a Microsoft Entra ID P2 or Governance licence for PIM; without one there is nothing for " +
				part + " to remove: leave it out of --sources"
		case errors.As(readErr, &ge) && (ge.Status == http.StatusForbidden || ge.Status == http.StatusUnauthorized):
			r.Status, r.Detail, r.Fix = checkMissing, readErr.Error(), grantFix(need)
		case readErr != nil:
			r.Status, r.Detail = checkError, readErr.Error()
		default:
			r.Detail = "read as the job (" + self + ")"
			if !hasRoles {
				r.Detail += "; the token has no roles claim: judged from the read alone"
			}
		}
		return r
	}
	for _, src := range sources {
		_, err := src.Find(ctx, me)
		out = append(out, judge(src.Name(), err))
	}
	// Resolving the input's user keys reads /users: the job's own id is
	// a service principal, so "no such user" proves the read works.
	// An azure-only run lists by object id and needs none of Graph's.
	if len(graphSources) > 0 {
		key := job.UserKey{Kind: job.KeyUPN, Value: self}
		res := dir.Resolve(ctx, []job.UserKey{key})[key]
		out = append(out, judge("users", res.Err))
	}

	if slices.Contains(c.Sources, job.SourceAzure) {
		out = append(out, j.checkAzure(ctx, self)...)
	}
	return out
}

// checkAzure checks, for each scope, that the identity may remove role
// assignments and request eligibility removals there, and that Azure PIM
// can be read (its licence).
func (j *jobRun) checkAzure(ctx context.Context, self string) []checkResult {
	c := j.cfg
	t := &transport.Transport{
		Base:           baseTransport(c.Concurrency, c.RequestTimeout),
		MaxAttempts:    c.MaxAttempts,
		AttemptTimeout: c.RequestTimeout,
		Log:            j.log,
		Pace:           (&subscriptionPaces{deleteRate: c.ARMDeleteRate, deleteBurst: c.ARMDeleteBurst}).pace,
	}
	u, _ := url.Parse(c.ARMEndpoint)
	checker, err := arm.NewChecker(arm.Config{
		Cloud:        clouds[c.Cloud].azcore,
		Endpoint:     c.armOverride(),
		Credential:   j.creds.arm(),
		Transport:    t,
		InsecureHTTP: u.Scheme == "http" && isLoopback(u),
		Scopes:       c.AzureScopes,
	})
	if err != nil {
		return []checkResult{{Check: "source", Name: job.SourceAzure, Status: checkError, Detail: err.Error()}}
	}
	rights, err := checker.Rights(ctx, self)
	if err != nil {
		r := checkResult{Check: "source", Name: job.SourceAzure, Status: checkError, Detail: err.Error()}
		var ae *arm.Error
		if errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized) {
			r.Status, r.Fix = checkMissing, "assign the identity a role that may read and delete role assignments at the scope "+
				"(User Access Administrator, or Role Based Access Control Administrator; README, Deploy: Permissions)"
		}
		return []checkResult{r}
	}
	if len(rights) == 0 {
		return []checkResult{{Check: "source", Name: job.SourceAzure, Status: checkMissing,
			Detail: "--azure-scopes all: the identity can list no subscription", Fix: "assign the identity a role at the subscriptions to clean"}}
	}
	var out []checkResult
	for _, rt := range rights {
		r := checkResult{Check: "azure-scope", Name: rt.Scope, Status: checkOK}
		held := "holds no role there"
		if len(rt.Roles) > 0 {
			held = "holds " + strings.Join(slices.Compact(slices.Sorted(slices.Values(rt.Roles))), ", ")
		}
		var lacking []string
		if !rt.DeleteAssignments {
			lacking = append(lacking, arm.ActionDeleteAssignment)
		}
		if !rt.RequestEligibility {
			lacking = append(lacking, arm.ActionRequestEligibility)
		}
		if len(lacking) > 0 {
			r.Status = checkMissing
			r.Detail = "the identity " + held + ": none grants " + strings.Join(lacking, " or ")
			r.Fix = fmt.Sprintf("az role assignment create --assignee-object-id %s --assignee-principal-type ServicePrincipal "+
				"--role \"User Access Administrator\" --scope %s", self, rt.Scope)
		} else {
			r.Detail = "the identity " + held + ": it may delete role assignments and request eligibility removals"
		}
		out = append(out, r)
		e := checkResult{Check: "source", Name: job.SourceAzure + "-eligibility " + rt.Scope, Status: checkOK, Detail: "Azure PIM read"}
		if err := checker.Eligibility(ctx, self, rt.Scope); err != nil {
			var ue *job.UnavailableError
			var ae *arm.Error
			switch {
			case errors.As(err, &ue):
				e.Status, e.Detail = checkUnavailable, ue.Reason
				e.Fix = "the tenant needs a Microsoft Entra ID P2 or Governance licence for Azure PIM; without one it has no eligibilities to remove"
			case errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized):
				e.Status, e.Detail = checkMissing, err.Error()
				e.Fix = "assign the identity a role that may read role eligibility schedules at the scope (User Access Administrator)"
			default:
				e.Status, e.Detail = checkError, err.Error()
			}
		}
		out = append(out, e)
	}
	return out
}

// rolesOf reads the roles claim of a JWT (the application permissions
// granted to the identity) without checking its signature; ok is false
// when the token has none (a static token, a managed identity's before
// any grant).
func rolesOf(token string) (roles []string, ok bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var claims struct {
		Roles *[]string `json:"roles"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Roles == nil {
		return nil, false
	}
	return *claims.Roles, true
}

// hasPermission reports whether the roles claim grants perm, itself or
// through a permission that includes it.
func hasPermission(roles []string, perm string) bool {
	for _, r := range roles {
		if strings.EqualFold(r, perm) || slices.ContainsFunc(graphImplied[perm], func(p string) bool { return strings.EqualFold(p, r) }) {
			return true
		}
	}
	return false
}

package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// DirectoryRoles is the `directory` source: active Entra ID role
// assignments (unified RBAC).
type DirectoryRoles struct {
	c *Client
}

var (
	_ job.Source       = DirectoryRoles{}
	_ job.Grouper      = DirectoryRoles{}
	_ job.BatchRemover = DirectoryRoles{}
)

// DirectoryRoles returns the `directory` source.
func (c *Client) DirectoryRoles() DirectoryRoles { return DirectoryRoles{c: c} }

// Name implements job.Source.
func (DirectoryRoles) Name() string { return job.SourceDirectory }

// GroupSize implements job.Grouper: principals listed with one
// `principalId in (...)` filter. Fifteen GUIDs keep the URL near 1 KB, well
// inside Graph's limits.
func (DirectoryRoles) GroupSize() int { return 15 }

func (s DirectoryRoles) assignments() *rolemanagement.DirectoryRoleAssignmentsRequestBuilder {
	return rolemanagement.NewDirectoryRoleAssignmentsRequestBuilderInternal(s.c.pathParams(), s.c.adapter)
}

// Find implements job.Source, following every @odata.nextLink. A group
// whose listing fails after the transport's retries is listed again one
// principal at a time (eq) before anything is failed, so that only the
// principals whose own listing fails are failed. A 400 to the group's `in`
// makes every later listing of the run use eq.
func (s DirectoryRoles) Find(ctx context.Context, principals []job.Principal) ([]job.Assignment, error) {
	if len(principals) < 2 {
		return s.find(ctx, principals)
	}
	if s.c.inOff.Load() {
		return listEach(ctx, principals, s.findOne)
	}
	found, err := s.find(ctx, principals)
	if err == nil || ctx.Err() != nil {
		return found, err
	}
	if inRefused(err) {
		s.c.noteInRefused(err)
	}
	return listEach(ctx, principals, s.findOne)
}

func (s DirectoryRoles) findOne(ctx context.Context, p job.Principal) ([]job.Assignment, error) {
	return s.find(ctx, []job.Principal{p})
}

// find lists the principals' assignments with one filter.
func (s DirectoryRoles) find(ctx context.Context, principals []job.Principal) ([]job.Assignment, error) {
	filter, err := principalFilter(principals)
	if err != nil {
		return nil, err
	}
	// One listing: a page it has read, or one past the cap, is refused.
	ctx = transport.Listing(ctx)
	list := s.assignments()
	page, err := list.Get(ctx, &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{Filter: &filter},
	})
	var out []job.Assignment
	for pages := 1; ; pages++ {
		if err != nil {
			return nil, fmt.Errorf("listing role assignments (page %d): %w", pages, classify(err))
		}
		for _, a := range page.GetValue() {
			out = append(out, job.Assignment{
				Source:           s.Name(),
				Kind:             job.KindDirectoryRole,
				ID:               transport.Deref(a.GetId()),
				PrincipalID:      transport.Deref(a.GetPrincipalId()),
				RoleDefinitionID: transport.Deref(a.GetRoleDefinitionId()),
				RoleName:         s.c.roleName(ctx, transport.Deref(a.GetRoleDefinitionId())),
				Scope:            scopeOf(a),
				Raw:              raw(a),
			})
		}
		next := page.GetOdataNextLink()
		if next == nil || *next == "" {
			return out, nil
		}
		page, err = list.WithUrl(*next).Get(ctx, nil)
	}
}

func scopeOf(a models.UnifiedRoleAssignmentable) string {
	if app := transport.Deref(a.GetAppScopeId()); app != "" {
		return app
	}
	return transport.Deref(a.GetDirectoryScopeId())
}

// Remove implements job.Source.
func (s DirectoryRoles) Remove(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	err := classify(s.assignments().ByUnifiedRoleAssignmentId(a.ID).Delete(ctx, nil))
	if refused, ok := refusedDelete(err); ok {
		if ue := s.c.pimUnavailable(); ue != nil {
			return job.Outcome{}, notThroughPIM(refused, ue)
		}
		out, perr := s.removeThroughPIM(ctx, a)
		if ue, ok := transport.LicenceMissing(perr, job.SourcePIM); ok {
			return job.Outcome{}, notThroughPIM(refused, s.c.notePIMUnavailable(ue))
		}
		return throughPIM(refused, out, perr)
	}
	return deleteOutcome(err)
}

// BatchSize implements job.BatchRemover.
func (s DirectoryRoles) BatchSize() int { return s.c.batchSize }

// RemoveBatch implements job.BatchRemover: the DELETEs go in batches, and
// those refused the way an assignment made through PIM may be go again as
// adminRemove requests, in batches too.
func (s DirectoryRoles) RemoveBatch(ctx context.Context, as []job.Assignment) []job.BatchResult {
	refused := map[int]*transport.ServiceError{}
	out := s.c.removeBatch(ctx, as, func(a job.Assignment) (*abstractions.RequestInformation, error) {
		return s.assignments().ByUnifiedRoleAssignmentId(a.ID).ToDeleteRequestInformation(ctx, nil)
	}, deleteOutcome)
	var again []job.Assignment
	var at []int
	for i, r := range out {
		if ge, ok := refusedDelete(r.Err); ok {
			if ue := s.c.pimUnavailable(); ue != nil {
				out[i].Err = notThroughPIM(ge, ue)
				continue
			}
			refused[i] = ge
			again = append(again, as[i])
			at = append(at, i)
		}
	}
	if len(again) == 0 {
		return out
	}
	requests := rolemanagement.NewDirectoryRoleAssignmentScheduleRequestsRequestBuilderInternal(s.c.pathParams(), s.c.adapter)
	pim := s.c.removeBatch(ctx, again, func(a job.Assignment) (*abstractions.RequestInformation, error) {
		return requests.ToPostRequestInformation(ctx, assignmentRemoval(a), nil)
	}, scheduleOutcome)
	for k, i := range at {
		out[i].Attempts += pim[k].Attempts
		out[i].Resent = out[i].Resent || pim[k].Resent
		if ue, ok := transport.LicenceMissing(pim[k].Err, job.SourcePIM); ok {
			out[i].Outcome, out[i].Err = job.Outcome{}, notThroughPIM(refused[i], s.c.notePIMUnavailable(ue))
			continue
		}
		out[i].Outcome, out[i].Err = throughPIM(refused[i], pim[k].Outcome, pim[k].Err)
	}
	return out
}

// deleteOutcome classifies the answer to a DELETE: 404 is already absent.
func deleteOutcome(err error) (job.Outcome, error) {
	var ge *transport.ServiceError
	switch {
	case err == nil:
		return job.Outcome{State: job.Removed}, nil
	case errors.As(err, &ge) && ge.Status == http.StatusNotFound:
		return job.Outcome{State: job.AlreadyAbsent, Detail: ge.Error()}, nil
	}
	return job.Outcome{}, err
}

// refusedDelete reports whether a role assignment's DELETE was refused in
// a way that the PIM way may get past. An assignment made through PIM may
// refuse a plain DELETE (what Graph answers then is unconfirmed, so any
// 400 is tried once more the PIM way).
func refusedDelete(err error) (*transport.ServiceError, bool) {
	var ge *transport.ServiceError
	if errors.As(err, &ge) && ge.Status == http.StatusBadRequest {
		return ge, true
	}
	return nil, false
}

// throughPIM is the outcome of an assignment removed the PIM way after its
// DELETE was refused: a refusal there keeps the first answer; a request
// the run cut off stays cut off (its outcome is unknown).
func throughPIM(refused *transport.ServiceError, out job.Outcome, err error) (job.Outcome, error) {
	switch {
	case err == nil && out.State == job.Removed:
		out.Detail = "removed with a roleAssignmentScheduleRequest (adminRemove): the plain DELETE was refused: " + refused.Error()
		return out, nil
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return job.Outcome{}, err
	}
	return job.Outcome{}, refused
}

// removeThroughPIM removes an active assignment with an adminRemove
// roleAssignmentScheduleRequest.
func (s DirectoryRoles) removeThroughPIM(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	requests := rolemanagement.NewDirectoryRoleAssignmentScheduleRequestsRequestBuilderInternal(s.c.pathParams(), s.c.adapter)
	_, err := requests.Post(ctx, assignmentRemoval(a), nil)
	return scheduleOutcome(classify(err))
}

// assignmentRemoval is the adminRemove request of an active assignment.
func assignmentRemoval(a job.Assignment) models.UnifiedRoleAssignmentScheduleRequestable {
	req := models.NewUnifiedRoleAssignmentScheduleRequest()
	fillScheduleRequest(req, models.ADMINREMOVE_UNIFIEDROLESCHEDULEREQUESTACTIONS, a)
	return req
}

// scheduleRequest is what PIM's schedule requests, of assignments and of
// eligibilities, have in common.
type scheduleRequest interface {
	SetAction(*models.UnifiedRoleScheduleRequestActions)
	SetPrincipalId(*string)
	SetRoleDefinitionId(*string)
	SetDirectoryScopeId(*string)
	SetAppScopeId(*string)
	SetJustification(*string)
}

// fillScheduleRequest sets the action, the assignment's principal, role
// and scope, and the justification of a schedule request.
func fillScheduleRequest(req scheduleRequest, action models.UnifiedRoleScheduleRequestActions, a job.Assignment) {
	dirScope, appScope := scopes(a)
	req.SetAction(&action)
	req.SetPrincipalId(&a.PrincipalID)
	req.SetRoleDefinitionId(&a.RoleDefinitionID)
	if dirScope != "" {
		req.SetDirectoryScopeId(&dirScope)
	}
	if appScope != "" {
		req.SetAppScopeId(&appScope)
	}
	req.SetJustification(&a.Justification)
}

// principalFilter builds `principalId eq '…'` or `principalId in ('…',…)`.
// Every id is checked to be a GUID first: nothing else may reach a filter.
func principalFilter(principals []job.Principal) (string, error) {
	if len(principals) == 0 {
		return "", errors.New("no principal to list")
	}
	if err := checkPrincipals(principals); err != nil {
		return "", fmt.Errorf("%w: refusing to put it in a filter", err)
	}
	quoted := make([]string, len(principals))
	for i, p := range principals {
		quoted[i] = "'" + p.ID + "'"
	}
	if len(quoted) == 1 {
		return "principalId eq " + quoted[0], nil
	}
	return "principalId in (" + strings.Join(quoted, ",") + ")", nil
}

package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"

	"github.com/offboard/offboard/job"
)

// DirectoryRoles is the `directory` source: active Entra ID role
// assignments (unified RBAC).
type DirectoryRoles struct {
	c *Client
}

var (
	_ job.Source  = DirectoryRoles{}
	_ job.Grouper = DirectoryRoles{}
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

// Find implements job.Source, following every @odata.nextLink.
func (s DirectoryRoles) Find(ctx context.Context, principals []job.Principal) ([]job.Assignment, error) {
	filter, err := principalFilter(principals)
	if err != nil {
		return nil, err
	}
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
				ID:               deref(a.GetId()),
				PrincipalID:      deref(a.GetPrincipalId()),
				RoleDefinitionID: deref(a.GetRoleDefinitionId()),
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
	if app := deref(a.GetAppScopeId()); app != "" {
		return app
	}
	return deref(a.GetDirectoryScopeId())
}

// Remove implements job.Source.
func (s DirectoryRoles) Remove(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	err := classify(s.assignments().ByUnifiedRoleAssignmentId(a.ID).Delete(ctx, nil))
	var ge *Error
	switch {
	case err == nil:
		return job.Outcome{State: job.Removed}, nil
	case errors.As(err, &ge) && ge.Status == http.StatusNotFound:
		return job.Outcome{State: job.AlreadyAbsent, Detail: ge.Error()}, nil
	case errors.As(err, &ge) && ge.Status == http.StatusBadRequest:
		// An assignment made through PIM may refuse a plain DELETE (what
		// Graph answers then is unconfirmed, so any 400 is tried once
		// more the PIM way; a refusal there keeps the first answer).
		out, perr := s.removeThroughPIM(ctx, a)
		if perr == nil && out.State == job.Removed {
			out.Detail = "removed with a roleAssignmentScheduleRequest (adminRemove): the plain DELETE was refused: " + ge.Error()
			return out, nil
		}
	}
	return job.Outcome{}, err
}

// removeThroughPIM removes an active assignment with an adminRemove
// roleAssignmentScheduleRequest.
func (s DirectoryRoles) removeThroughPIM(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	dirScope, appScope := scopes(a)
	req := models.NewUnifiedRoleAssignmentScheduleRequest()
	action := models.ADMINREMOVE_UNIFIEDROLESCHEDULEREQUESTACTIONS
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
	requests := rolemanagement.NewDirectoryRoleAssignmentScheduleRequestsRequestBuilderInternal(s.c.pathParams(), s.c.adapter)
	_, err := requests.Post(ctx, req, nil)
	return scheduleOutcome(err)
}

// principalFilter builds `principalId eq '…'` or `principalId in ('…',…)`.
// Every id is checked to be a GUID first: nothing else may reach a filter.
func principalFilter(principals []job.Principal) (string, error) {
	if len(principals) == 0 {
		return "", errors.New("no principal to list")
	}
	quoted := make([]string, len(principals))
	for i, p := range principals {
		if !job.IsGUID(p.ID) {
			return "", fmt.Errorf("principal id %q is not a GUID: refusing to put it in a filter", p.ID)
		}
		quoted[i] = "'" + p.ID + "'"
	}
	if len(quoted) == 1 {
		return "principalId eq " + quoted[0], nil
	}
	return "principalId in (" + strings.Join(quoted, ",") + ")", nil
}

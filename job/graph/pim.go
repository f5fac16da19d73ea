package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// Eligibilities is the `pim` source: a principal's direct PIM eligibilities
// for Entra roles. Eligibilities through a group (memberType Group or
// Inherited) belong to the group and are left to it.
type Eligibilities struct {
	c *Client
}

var (
	_ job.Source       = Eligibilities{}
	_ job.Grouper      = Eligibilities{}
	_ job.BatchRemover = Eligibilities{}
)

// Eligibilities returns the `pim` source.
func (c *Client) Eligibilities() Eligibilities { return Eligibilities{c: c} }

// Name implements job.Source.
func (Eligibilities) Name() string { return job.SourcePIM }

// GroupSize implements job.Grouper: with batching, a group's first pages
// go in one $batch; without, each principal is a group of its own.
func (s Eligibilities) GroupSize() int { return s.c.batchSize }

// Find implements job.Source. roleEligibilitySchedules takes eq and ne
// only, so each principal is listed with a request of its own; with
// batching, those of the group travel in one $batch.
//
// In a tenant without PIM's licence, the first answer saying so makes the
// source unavailable: Find answers a *job.UnavailableError from then on,
// without a request.
func (s Eligibilities) Find(ctx context.Context, principals []job.Principal) ([]job.Assignment, error) {
	if ue := s.c.pimUnavailable(); ue != nil {
		return nil, ue
	}
	found, err := s.c.listGroup(ctx, principals, func(p job.Principal) (*abstractions.RequestInformation, error) {
		config, err := eligibilityQuery(p)
		if err != nil {
			return nil, err
		}
		return s.schedules().ToGetRequestInformation(ctx, config)
	}, s.list)
	if ue, ok := transport.LicenceMissing(err, job.SourcePIM); ok {
		return nil, s.c.notePIMUnavailable(ue)
	}
	return found, err
}

func (s Eligibilities) schedules() *rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilder {
	return rolemanagement.NewDirectoryRoleEligibilitySchedulesRequestBuilderInternal(s.c.pathParams(), s.c.adapter)
}

// eligibilityQuery is the first page's query: the principal's schedules.
func eligibilityQuery(p job.Principal) (*rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetRequestConfiguration, error) {
	filter, err := principalFilter([]job.Principal{p})
	if err != nil {
		return nil, err
	}
	return &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleEligibilitySchedulesRequestBuilderGetQueryParameters{Filter: &filter},
	}, nil
}

// list lists one principal's direct eligibilities, from its first page's
// answer in a batch, or (first nil) sending that page itself, following
// every @odata.nextLink.
func (s Eligibilities) list(ctx context.Context, p job.Principal, first *transport.SubAnswer) ([]job.Assignment, error) {
	list := s.schedules()
	var page models.UnifiedRoleEligibilityScheduleCollectionResponseable
	var err error
	if first != nil {
		page, err = readPage[models.UnifiedRoleEligibilityScheduleCollectionResponseable](*first,
			models.CreateUnifiedRoleEligibilityScheduleCollectionResponseFromDiscriminatorValue)
	} else {
		config, cerr := eligibilityQuery(p)
		if cerr != nil {
			return nil, cerr
		}
		page, err = list.Get(ctx, config)
		err = classify(err)
	}
	var out []job.Assignment
	for pages := 1; ; pages++ {
		if err != nil {
			return nil, fmt.Errorf("listing role eligibility schedules (page %d): %w", pages, err)
		}
		for _, e := range page.GetValue() {
			if transport.Deref(e.GetMemberType()) != "Direct" {
				continue
			}
			scope := transport.Deref(e.GetDirectoryScopeId())
			if app := transport.Deref(e.GetAppScopeId()); app != "" {
				scope = app
			}
			out = append(out, job.Assignment{
				Source:           s.Name(),
				Kind:             job.KindDirectoryRoleEligibility,
				ID:               transport.Deref(e.GetId()),
				PrincipalID:      transport.Deref(e.GetPrincipalId()),
				RoleDefinitionID: transport.Deref(e.GetRoleDefinitionId()),
				RoleName:         s.c.roleName(ctx, transport.Deref(e.GetRoleDefinitionId())),
				Scope:            scope,
				Note:             "eligible",
				Raw:              raw(e),
			})
		}
		next := page.GetOdataNextLink()
		if next == nil || *next == "" {
			return out, nil
		}
		page, err = list.WithUrl(*next).Get(ctx, nil)
		err = classify(err)
	}
}

// scopes reads the directory and app scope an assignment was listed with.
func scopes(a job.Assignment) (directory, app string) {
	var r struct {
		DirectoryScopeID string `json:"directoryScopeId"`
		AppScopeID       string `json:"appScopeId"`
	}
	if len(a.Raw) > 0 && json.Unmarshal(a.Raw, &r) == nil && (r.DirectoryScopeID != "" || r.AppScopeID != "") {
		return r.DirectoryScopeID, r.AppScopeID
	}
	return a.Scope, ""
}

// Remove implements job.Source with an adminRemove schedule request.
func (s Eligibilities) Remove(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	if ue := s.c.pimUnavailable(); ue != nil {
		return job.Outcome{}, ue
	}
	_, err := s.requests().Post(ctx, eligibilityRemoval(a), nil)
	out, err := scheduleOutcome(classify(err))
	return out, s.c.pimCheck(err)
}

// BatchSize implements job.BatchRemover.
func (s Eligibilities) BatchSize() int { return s.c.batchSize }

// RemoveBatch implements job.BatchRemover: the adminRemove requests go in
// batches.
func (s Eligibilities) RemoveBatch(ctx context.Context, as []job.Assignment) []job.BatchResult {
	requests := s.requests()
	if ue := s.c.pimUnavailable(); ue != nil {
		out := make([]job.BatchResult, len(as))
		for i := range out {
			out[i].Err = ue
		}
		return out
	}
	out := s.c.removeBatch(ctx, as, func(a job.Assignment) (*abstractions.RequestInformation, error) {
		return requests.ToPostRequestInformation(ctx, eligibilityRemoval(a), nil)
	}, scheduleOutcome)
	for i := range out {
		out[i].Err = s.c.pimCheck(out[i].Err)
	}
	return out
}

func (s Eligibilities) requests() *rolemanagement.DirectoryRoleEligibilityScheduleRequestsRequestBuilder {
	return rolemanagement.NewDirectoryRoleEligibilityScheduleRequestsRequestBuilderInternal(s.c.pathParams(), s.c.adapter)
}

// eligibilityRemoval is the adminRemove request of an eligibility.
func eligibilityRemoval(a job.Assignment) models.UnifiedRoleEligibilityScheduleRequestable {
	req := models.NewUnifiedRoleEligibilityScheduleRequest()
	fillScheduleRequest(req, models.ADMINREMOVE_UNIFIEDROLESCHEDULEREQUESTACTIONS, a)
	return req
}

// scheduleOutcome classifies the (classified) answer to an adminRemove
// request: PIM answers 400 RoleAssignmentDoesNotExist when there is
// nothing to remove.
func scheduleOutcome(err error) (job.Outcome, error) {
	var ge *transport.ServiceError
	switch {
	case err == nil:
		return job.Outcome{State: job.Removed}, nil
	case errors.As(err, &ge) && ge.Status == http.StatusBadRequest && ge.Code == "RoleAssignmentDoesNotExist":
		return job.Outcome{State: job.AlreadyAbsent, Detail: ge.Error()}, nil
	}
	return job.Outcome{}, err
}

package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

var _ job.Restorer = (*Source)(nil)

const roleAssignmentsPath = "/providers/microsoft.authorization/roleassignments/"

// Restore implements job.Restorer. A role assignment is PUT back under its
// original id (scope and name) with its role, principal, principal type,
// condition and description: ARM answers 201 when it creates it, 200 when
// an assignment of that name is there already, and 409 RoleAssignmentExists
// when the principal holds the role at the scope under another name. An
// eligibility is re-created with an AdminAssign request.
func (s *Source) Restore(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	if err := checkKind(s.Name(), a); err != nil {
		return job.Outcome{}, err
	}
	if a.Kind == job.KindAzureRoleEligibility {
		return s.restoreEligibility(ctx, a)
	}
	var ra armauthorization.RoleAssignment
	if len(a.Raw) == 0 || json.Unmarshal(a.Raw, &ra) != nil || ra.Properties == nil || ra.Name == nil {
		return job.Outcome{}, errors.New("the run's journal holds no record of the role assignment as ARM listed it: restore it by hand")
	}
	name := *ra.Name
	// The id passed its kind's check; the record must be of it.
	if !strings.HasSuffix(strings.ToLower(a.ID), roleAssignmentsPath+strings.ToLower(name)) {
		return job.Outcome{}, fmt.Errorf("refusing to PUT role assignment %q: not a role assignment id", a.ID)
	}
	p := ra.Properties
	params := armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID:                   p.RoleDefinitionID,
		PrincipalID:                        p.PrincipalID,
		PrincipalType:                      p.PrincipalType,
		Condition:                          p.Condition,
		ConditionVersion:                   p.ConditionVersion,
		Description:                        p.Description,
		DelegatedManagedIdentityResourceID: p.DelegatedManagedIdentityResourceID,
	}}
	var resp *http.Response
	_, err := s.assignments.CreateByID(policy.WithCaptureResponse(ctx, &resp), a.ID, params, nil)
	err = classify(err)
	var ae *transport.ServiceError
	switch {
	case err == nil && resp != nil && resp.StatusCode == http.StatusOK:
		return job.Outcome{State: job.AlreadyPresent, Detail: "HTTP 200: an assignment of this name exists"}, nil
	case err == nil:
		return job.Outcome{State: job.Restored}, nil
	case errors.As(err, &ae) && ae.Status == http.StatusConflict && ae.Code == "RoleAssignmentExists":
		return job.Outcome{State: job.AlreadyPresent, Detail: ae.Error()}, nil
	}
	return job.Outcome{}, err
}

// restoreEligibility sends an AdminAssign request at the schedule's scope
// with its schedule resumed at now (job.Schedule.Resume) and its
// condition.
func (s *Source) restoreEligibility(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	var e armauthorization.RoleEligibilitySchedule
	if len(a.Raw) == 0 || json.Unmarshal(a.Raw, &e) != nil || e.Properties == nil {
		return job.Outcome{}, errors.New("the run's journal holds no record of the eligibility as ARM listed it: restore it by hand")
	}
	p := e.Properties
	scope := transport.Deref(p.Scope)
	if scope == "" {
		scope = a.Scope
	}
	if !safePath(scope) {
		return job.Outcome{}, fmt.Errorf("refusing to send a request at scope %q", scope)
	}
	var sched job.Schedule
	if p.StartDateTime != nil {
		sched.Start = *p.StartDateTime
	}
	if p.EndDateTime != nil {
		sched.End = *p.EndDateTime
	}
	sched, note, err := sched.Resume(time.Now())
	if err != nil {
		return job.Outcome{}, err
	}
	expiration := &armauthorization.RoleEligibilityScheduleRequestPropertiesScheduleInfoExpiration{
		Type: to(armauthorization.TypeNoExpiration),
	}
	if !sched.End.IsZero() {
		expiration = &armauthorization.RoleEligibilityScheduleRequestPropertiesScheduleInfoExpiration{
			Type: to(armauthorization.TypeAfterDateTime), EndDateTime: &sched.End,
		}
	}
	name, err := newName()
	if err != nil {
		return job.Outcome{}, err
	}
	resp, err := s.requests.Create(ctx, scope, name, armauthorization.RoleEligibilityScheduleRequest{
		Properties: &armauthorization.RoleEligibilityScheduleRequestProperties{
			PrincipalID:      &a.PrincipalID,
			RoleDefinitionID: &a.RoleDefinitionID,
			RequestType:      to(armauthorization.RequestTypeAdminAssign),
			Justification:    &a.Justification,
			Condition:        p.Condition,
			ConditionVersion: p.ConditionVersion,
			ScheduleInfo: &armauthorization.RoleEligibilityScheduleRequestPropertiesScheduleInfo{
				StartDateTime: &sched.Start,
				Expiration:    expiration,
			},
		},
	}, nil)
	err = classify(err)
	var ae *transport.ServiceError
	switch {
	case err == nil:
		if rp := resp.Properties; rp != nil && transport.Deref(rp.TargetRoleEligibilityScheduleID) != "" {
			note = job.JoinDetail(note, "re-created as "+*rp.TargetRoleEligibilityScheduleID)
		}
		return job.Outcome{State: job.Restored, Detail: note}, nil
	case errors.As(err, &ae) && ae.Code == "RoleAssignmentExists":
		return job.Outcome{State: job.AlreadyPresent, Detail: ae.Error()}, nil
	}
	return job.Outcome{}, err
}

// safePath accepts an ARM id or scope from the journal only when it can
// name nothing but itself once put into a URL path: absolute, no empty,
// "." or ".." segment, no query, fragment, escape or blank.
func safePath(p string) bool {
	if p == "/" {
		return true
	}
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#%\\ ") {
		return false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for _, r := range seg {
			if r < 0x20 || r == 0x7f {
				return false
			}
		}
	}
	return true
}

func to[T any](v T) *T { return &v }

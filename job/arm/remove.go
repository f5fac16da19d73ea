package arm

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// Remove implements job.Source. DeleteByID reports success for 200 and 204
// alike: the captured status tells removed (200) from already absent (204).
// A DELETE refused with 400 is tried once more the PIM way: an active
// assignment PIM manages may refuse a plain DELETE (what ARM answers then
// is unconfirmed, so any 400 is), and an AdminRemove
// roleAssignmentScheduleRequest at its scope removes it.
func (s *Source) Remove(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	if a.Kind == job.KindAzureRoleEligibility {
		return s.removeEligibility(ctx, a)
	}
	var resp *http.Response
	_, err := s.assignments.DeleteByID(policy.WithCaptureResponse(ctx, &resp), a.ID, nil)
	if err != nil {
		err = classify(err)
		var refused *transport.ServiceError
		if errors.As(err, &refused) && refused.Status == http.StatusBadRequest {
			return s.removeThroughPIM(ctx, a, refused)
		}
		return job.Outcome{}, err
	}
	if resp != nil && resp.StatusCode == http.StatusNoContent {
		return job.Outcome{State: job.AlreadyAbsent, Detail: "HTTP 204"}, nil
	}
	return job.Outcome{State: job.Removed}, nil
}

// removeThroughPIM removes an active assignment whose DELETE was refused
// with an AdminRemove roleAssignmentScheduleRequest at its scope. A
// refusal there keeps the DELETE's answer; a request the run cut off stays
// cut off.
func (s *Source) removeThroughPIM(ctx context.Context, a job.Assignment, refused *transport.ServiceError) (job.Outcome, error) {
	name, err := newName()
	if err != nil {
		return job.Outcome{}, err
	}
	remove := armauthorization.RequestTypeAdminRemove
	_, err = s.assignmentRequests.Create(ctx, a.Scope, name, armauthorization.RoleAssignmentScheduleRequest{
		Properties: &armauthorization.RoleAssignmentScheduleRequestProperties{
			PrincipalID:      &a.PrincipalID,
			RoleDefinitionID: &a.RoleDefinitionID,
			RequestType:      &remove,
			Justification:    &a.Justification,
		},
	}, nil)
	switch {
	case err == nil:
		return job.Outcome{State: job.Removed, Detail: "removed with a roleAssignmentScheduleRequest (AdminRemove): the plain DELETE was refused: " + refused.Error()}, nil
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return job.Outcome{}, err
	}
	return job.Outcome{}, refused
}

// removeEligibility sends an AdminRemove request at the schedule's own
// scope (an inherited one's too).
func (s *Source) removeEligibility(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	name, err := newName()
	if err != nil {
		return job.Outcome{}, err
	}
	remove := armauthorization.RequestTypeAdminRemove
	_, err = s.requests.Create(ctx, a.Scope, name, armauthorization.RoleEligibilityScheduleRequest{
		Properties: &armauthorization.RoleEligibilityScheduleRequestProperties{
			PrincipalID:      &a.PrincipalID,
			RoleDefinitionID: &a.RoleDefinitionID,
			RequestType:      &remove,
			Justification:    &a.Justification,
		},
	}, nil)
	err = classify(err)
	var ae *transport.ServiceError
	switch {
	case err == nil:
		return job.Outcome{State: job.Removed}, nil
	case errors.As(err, &ae) && ae.Code == "RoleAssignmentDoesNotExist":
		return job.Outcome{State: job.AlreadyAbsent, Detail: ae.Error()}, nil
	}
	return job.Outcome{}, err
}

// classify turns an azcore.ResponseError into the service's answer,
// ARM's own code and message read from its body, in the one way every
// service's error body is read (azcore has read the body already and left
// a copy in RawResponse).
func classify(err error) error {
	var re *azcore.ResponseError
	if err == nil || !errors.As(err, &re) {
		return err
	}
	e := &transport.ServiceError{Status: re.StatusCode, Code: re.ErrorCode}
	if re.RawResponse != nil && re.RawResponse.Body != nil {
		if body, rerr := io.ReadAll(re.RawResponse.Body); rerr == nil && len(body) > 0 {
			code, msg := transport.ErrorText(body)
			e.Code, e.Message = cmp.Or(e.Code, code), msg
		}
	}
	return e
}

// newName is a fresh GUID for a request resource's name.
func newName() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making a request name: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

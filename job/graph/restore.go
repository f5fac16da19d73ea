package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

var (
	_ job.Restorer = DirectoryRoles{}
	_ job.Restorer = Eligibilities{}
	_ job.Restorer = Memberships{}
)

// codeExists is what roleAssignments and PIM's schedule requests answer
// (400) to the creation of an assignment that is there already.
const codeExists = "RoleAssignmentExists"

// Restore implements job.Restorer: POST roleAssignments with the principal,
// role and scope the assignment was listed with. Graph gives the new
// assignment a new id, which the detail names (the report keeps the old).
func (s DirectoryRoles) Restore(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	if err := checkKind(s.Name(), a); err != nil {
		return job.Outcome{}, err
	}
	dirScope, appScope := scopes(a)
	body := models.NewUnifiedRoleAssignment()
	body.SetPrincipalId(&a.PrincipalID)
	body.SetRoleDefinitionId(&a.RoleDefinitionID)
	if dirScope != "" {
		body.SetDirectoryScopeId(&dirScope)
	}
	if appScope != "" {
		body.SetAppScopeId(&appScope)
	}
	made, err := s.assignments().Post(ctx, body, nil)
	out, err := createOutcome(err)
	if out.State == job.Restored && made != nil {
		out.Detail = recreatedAs(a.ID, transport.Deref(made.GetId()))
	}
	return out, err
}

// Restore implements job.Restorer with an adminAssign schedule request
// carrying the eligibility's schedule, resumed at now (job.Schedule.Resume):
// an expired one is a final error, one whose start has passed starts now
// and keeps its end.
func (s Eligibilities) Restore(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	if err := checkKind(s.Name(), a); err != nil {
		return job.Outcome{}, err
	}
	sched, err := eligibilitySchedule(a.Raw)
	if err != nil {
		return job.Outcome{}, err
	}
	sched, note, err := sched.Resume(time.Now())
	if err != nil {
		return job.Outcome{}, err
	}
	req := models.NewUnifiedRoleEligibilityScheduleRequest()
	fillScheduleRequest(req, models.ADMINASSIGN_UNIFIEDROLESCHEDULEREQUESTACTIONS, a)
	req.SetScheduleInfo(requestSchedule(sched))
	requests := rolemanagement.NewDirectoryRoleEligibilityScheduleRequestsRequestBuilderInternal(s.c.pathParams(), s.c.adapter)
	made, err := requests.Post(ctx, req, nil)
	out, err := createOutcome(err)
	if out.State == job.Restored {
		if made != nil {
			note = job.JoinDetail(note, recreatedAs(a.ID, transport.Deref(made.GetTargetScheduleId())))
		}
		out.Detail = note
	}
	return out, err
}

// eligibilitySchedule reads the schedule of a roleEligibilitySchedule as
// the run's journal recorded it. A duration is turned into the end it
// gives from the original start.
func eligibilitySchedule(raw json.RawMessage) (job.Schedule, error) {
	var e struct {
		ScheduleInfo *struct {
			StartDateTime *time.Time `json:"startDateTime"`
			Expiration    *struct {
				Type        string     `json:"type"`
				EndDateTime *time.Time `json:"endDateTime"`
				Duration    string     `json:"duration"`
			} `json:"expiration"`
		} `json:"scheduleInfo"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &e) != nil || e.ScheduleInfo == nil {
		return job.Schedule{}, errors.New("the run's journal holds no schedule for this eligibility: restore it by hand")
	}
	var s job.Schedule
	if t := e.ScheduleInfo.StartDateTime; t != nil {
		s.Start = *t
	}
	exp := e.ScheduleInfo.Expiration
	if exp == nil {
		return s, nil
	}
	switch strings.ToLower(exp.Type) {
	case "afterdatetime":
		if exp.EndDateTime == nil {
			return job.Schedule{}, errors.New("the recorded schedule ends afterDateTime without an endDateTime")
		}
		s.End = *exp.EndDateTime
	case "afterduration":
		iso, err := serialization.ParseISODuration(exp.Duration)
		var d time.Duration
		if err == nil {
			d, err = iso.ToDuration()
		}
		if err != nil || s.Start.IsZero() {
			return job.Schedule{}, fmt.Errorf("the recorded schedule's duration %q from start %v cannot be read", exp.Duration, s.Start)
		}
		s.End = s.Start.Add(d)
	}
	return s, nil
}

// Restore implements job.Restorer, each kind of access its own way: POST
// /groups/{id}/members/$ref or /owners/$ref with the principal's
// directoryObjects URL, or a PIM for Groups adminAssign request with the
// schedule the journal recorded, resumed at now.
func (s Memberships) Restore(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	if err := checkKind(s.Name(), a); err != nil {
		return job.Outcome{}, err
	}
	groupID, memberID := groupOf(a.ID), a.PrincipalID
	g, _ := groupAccessOf(a.Kind)
	if !g.ref {
		info, err := s.scheduleRequest(ctx, groupID, g, a, false)
		if err != nil {
			return job.Outcome{}, err
		}
		return createOutcome(s.c.adapter.SendNoContent(ctx, info, abstractions.ErrorMappings{
			"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue,
		}))
	}
	ref := models.NewReferenceCreate()
	odataID := s.c.base + "/directoryObjects/" + memberID
	ref.SetOdataId(&odataID)
	item := groups.NewGroupsRequestBuilderInternal(s.c.pathParams(), s.c.adapter).ByGroupId(groupID)
	var err error
	relation := "members"
	if g.owner {
		relation = "owners"
		err = classify(item.Owners().Ref().Post(ctx, ref, nil))
	} else {
		err = classify(item.Members().Ref().Post(ctx, ref, nil))
	}
	var ge *transport.ServiceError
	switch {
	case err == nil:
		return job.Outcome{State: job.Restored}, nil
	case errors.As(err, &ge) && ge.Status == http.StatusBadRequest:
		// Graph answers a reference already present with 400
		// Request_BadRequest, the code of its other refusals too (a group
		// nested in a role-assignable one): the group's members (owners)
		// are listed to tell them apart.
		if held, lerr := s.c.relation(ctx, groupID, relation); lerr == nil {
			for _, h := range held {
				if strings.EqualFold(h, memberID) {
					return job.Outcome{State: job.AlreadyPresent, Detail: ge.Error()}, nil
				}
			}
		}
	}
	return job.Outcome{}, err
}

// createOutcome classifies the answer to the creation of an assignment:
// 400 RoleAssignmentExists means it is there already.
func createOutcome(err error) (job.Outcome, error) {
	err = classify(err)
	var ge *transport.ServiceError
	switch {
	case err == nil:
		return job.Outcome{State: job.Restored}, nil
	case errors.As(err, &ge) && ge.Status == http.StatusBadRequest && ge.Code == codeExists:
		return job.Outcome{State: job.AlreadyPresent, Detail: ge.Error()}, nil
	}
	return job.Outcome{}, err
}

// recreatedAs names the id the service gave the re-created assignment
// when it is not the old one.
func recreatedAs(old, id string) string {
	if id == "" || id == old {
		return ""
	}
	return "re-created as " + id
}

package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	kiotajson "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// assignedTo reads whether an app role assignment, as the journal keeps
// it, was granted to a service principal (true) or a user (false): the
// collection its removal and re-creation go to.
func assignedTo(a job.Assignment) (sp bool, err error) {
	var v struct {
		PrincipalType string `json:"principalType"`
	}
	_ = json.Unmarshal(a.Raw, &v)
	switch {
	case strings.EqualFold(v.PrincipalType, "ServicePrincipal"):
		return true, nil
	case strings.EqualFold(v.PrincipalType, "User"):
		return false, nil
	}
	return false, fmt.Errorf("app role assignment %s: principal type %q is neither User nor ServicePrincipal", a.ID, v.PrincipalType)
}

// removal builds the request that removes an access of its kind: the
// owner's reference (…/owners/{id}/$ref, never the owner object), or the
// app role assignment under its principal.
func (s Apps) removal(ctx context.Context, a job.Assignment) (*abstractions.RequestInformation, error) {
	switch a.Kind {
	case job.KindAppOwner:
		return applications.NewApplicationsRequestBuilderInternal(s.c.pathParams(), s.c.adapter).ByApplicationId(a.ID).
			Owners().ByDirectoryObjectId(a.PrincipalID).Ref().ToDeleteRequestInformation(ctx, nil)
	case job.KindServicePrincipalOwner:
		return serviceprincipals.NewServicePrincipalsRequestBuilderInternal(s.c.pathParams(), s.c.adapter).ByServicePrincipalId(a.ID).
			Owners().ByDirectoryObjectId(a.PrincipalID).Ref().ToDeleteRequestInformation(ctx, nil)
	}
	sp, err := assignedTo(a)
	if err != nil {
		return nil, err
	}
	if sp {
		return serviceprincipals.NewServicePrincipalsRequestBuilderInternal(s.c.pathParams(), s.c.adapter).ByServicePrincipalId(a.PrincipalID).
			AppRoleAssignments().ByAppRoleAssignmentId(a.ID).ToDeleteRequestInformation(ctx, nil)
	}
	return users.NewUsersRequestBuilderInternal(s.c.pathParams(), s.c.adapter).ByUserId(a.PrincipalID).
		AppRoleAssignments().ByAppRoleAssignmentId(a.ID).ToDeleteRequestInformation(ctx, nil)
}

// Remove implements job.Source: 204 removed, 404 already absent.
func (s Apps) Remove(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	info, err := s.removal(ctx, a)
	if err != nil {
		return job.Outcome{}, err
	}
	return deleteOutcome(classify(s.c.adapter.SendNoContent(ctx, info, abstractions.ErrorMappings{
		"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue,
	})))
}

// BatchSize implements job.BatchRemover.
func (s Apps) BatchSize() int { return s.c.batchSize }

// RemoveBatch implements job.BatchRemover: the removals go in batches.
func (s Apps) RemoveBatch(ctx context.Context, as []job.Assignment) []job.BatchResult {
	return s.c.removeBatch(ctx, as, func(a job.Assignment) (*abstractions.RequestInformation, error) {
		return s.removal(ctx, a)
	}, deleteOutcome)
}

// Check implements job.Guard: Graph lets the last owner of an application
// or a service principal go, the job does not. When every owner of an
// object would be removed, those rows are skipped, the detail naming the
// object. It decides from the index the listing built.
func (s Apps) Check(_ context.Context, items []*job.Item) (string, error) {
	idx := s.idx.built()
	if idx == nil {
		return "", nil
	}
	rows := map[string][]*job.Item{} // owned object → its planned owner removals
	for _, it := range items {
		if it.Source != job.SourceApps || it.State != job.Planned ||
			it.Kind != job.KindAppOwner && it.Kind != job.KindServicePrincipalOwner {
			continue
		}
		rows[job.NormalizeGUID(it.AssignmentID)] = append(rows[job.NormalizeGUID(it.AssignmentID)], it)
	}
	for id, planned := range rows {
		o := idx.object(id)
		if o == nil {
			continue
		}
		leaving := map[string]bool{}
		for _, it := range planned {
			leaving[job.NormalizeGUID(it.PrincipalID)] = true
		}
		stays := false
		for _, ow := range o.owners {
			stays = stays || !leaving[ow]
		}
		if stays {
			continue
		}
		for _, it := range planned {
			if err := it.Step(job.Guarded, job.Words{"reason": job.HeldLastOwner + ": " + o.what() + " " + o.name + " (" + o.id + ") keeps its last owner"}); err != nil {
				return "", err
			}
		}
	}
	return "", nil
}

// Restore implements job.Restorer: POST …/owners/$ref with the principal's
// directoryObjects URL, or POST …/appRoleAssignments with the principal,
// the resource and the app role the journal recorded. A 400 is told apart
// from "already there" by listing the owners (assignments).
func (s Apps) Restore(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	if err := checkKind(s.Name(), a); err != nil {
		return job.Outcome{}, err
	}
	if a.Kind == job.KindAppRoleAssignment {
		return s.restoreAssignment(ctx, a)
	}
	o := &appObject{id: a.ID, sp: a.Kind == job.KindServicePrincipalOwner}
	ref := models.NewReferenceCreate()
	odataID := s.c.base + "/directoryObjects/" + a.PrincipalID
	ref.SetOdataId(&odataID)
	var err error
	if o.sp {
		err = serviceprincipals.NewServicePrincipalsRequestBuilderInternal(s.c.pathParams(), s.c.adapter).ByServicePrincipalId(a.ID).
			Owners().Ref().Post(ctx, ref, nil)
	} else {
		err = applications.NewApplicationsRequestBuilderInternal(s.c.pathParams(), s.c.adapter).ByApplicationId(a.ID).
			Owners().Ref().Post(ctx, ref, nil)
	}
	err = classify(err)
	var ge *transport.ServiceError
	switch {
	case err == nil:
		return job.Outcome{State: job.Restored}, nil
	case errors.As(err, &ge) && ge.Status == http.StatusBadRequest:
		info, lerr := ownersPage(ctx, s.c, o)
		var u string
		if lerr == nil {
			uri, uerr := info.GetUri()
			if lerr = uerr; uerr == nil {
				u = uri.String()
			}
		}
		if lerr == nil {
			if owners, lerr := readOwners(transport.Listing(ctx), s.c, o, u, nil); lerr == nil {
				for _, id := range owners {
					if strings.EqualFold(id, a.PrincipalID) {
						return job.Outcome{State: job.AlreadyPresent, Detail: ge.Error()}, nil
					}
				}
			}
		}
	}
	return job.Outcome{}, err
}

// restoreAssignment re-creates an app role assignment. Graph gives it a
// new id, which the detail names.
func (s Apps) restoreAssignment(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	sp, err := assignedTo(a)
	if err != nil {
		return job.Outcome{}, err
	}
	resourceID := appRoleAssignmentScope.FindStringSubmatch(a.Scope)[1]
	// The three ids are GUIDs (CheckID): the body is read as Graph's
	// JSON, which is how the SDK's model takes them.
	body, err := appRoleAssignmentBody(a.PrincipalID, resourceID, a.RoleDefinitionID)
	if err != nil {
		return job.Outcome{}, err
	}
	var made models.AppRoleAssignmentable
	if sp {
		made, err = serviceprincipals.NewServicePrincipalsRequestBuilderInternal(s.c.pathParams(), s.c.adapter).ByServicePrincipalId(a.PrincipalID).
			AppRoleAssignments().Post(ctx, body, nil)
	} else {
		made, err = users.NewUsersRequestBuilderInternal(s.c.pathParams(), s.c.adapter).ByUserId(a.PrincipalID).
			AppRoleAssignments().Post(ctx, body, nil)
	}
	err = classify(err)
	var ge *transport.ServiceError
	switch {
	case err == nil:
		out := job.Outcome{State: job.Restored}
		if made != nil {
			out.Detail = recreatedAs(a.ID, transport.Deref(made.GetId()))
		}
		return out, nil
	case errors.As(err, &ge) && ge.Status == http.StatusBadRequest:
		// Graph refuses a duplicate with 400: the principal's assignments
		// say whether this one is there.
		held, lerr := s.readAssignments(transport.Listing(ctx), a.PrincipalID, sp, nil)
		if lerr == nil {
			for _, h := range held {
				if strings.EqualFold(uuidText(h.GetPrincipalId()), a.PrincipalID) &&
					strings.EqualFold(uuidText(h.GetResourceId()), resourceID) &&
					strings.EqualFold(uuidText(h.GetAppRoleId()), a.RoleDefinitionID) {
					return job.Outcome{State: job.AlreadyPresent, Detail: ge.Error()}, nil
				}
			}
		}
	}
	return job.Outcome{}, err
}

// appRoleAssignmentBody is the body of POST …/appRoleAssignments.
func appRoleAssignmentBody(principalID, resourceID, appRoleID string) (models.AppRoleAssignmentable, error) {
	b, _ := json.Marshal(map[string]string{"principalId": principalID, "resourceId": resourceID, "appRoleId": appRoleID})
	node, err := kiotajson.NewJsonParseNode(b)
	if err != nil {
		return nil, err
	}
	v, err := node.GetObjectValue(models.CreateAppRoleAssignmentFromDiscriminatorValue)
	if err != nil {
		return nil, err
	}
	body, ok := v.(models.AppRoleAssignmentable)
	if !ok {
		return nil, errors.New("building the app role assignment")
	}
	return body, nil
}

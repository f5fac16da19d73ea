package graph

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// Apps is the `apps` source: what a departing principal holds over
// applications. Its ownerships of application objects and service
// principals (an owner can add a credential to the object and act as it),
// and the app roles assigned to it: a service principal's application
// permissions (Microsoft Graph's RoleManagement.ReadWrite.Directory among
// them), a user's app roles on enterprise applications.
//
// Ownerships come from one index of the tenant's applications and service
// principals with their owners (appindex.go): Graph does not let an
// application identity list /users/{id}/ownedObjects. App role
// assignments are listed per principal, from /servicePrincipals/{id}/ or
// /users/{id}/appRoleAssignments (the index tells a service principal
// apart; a principal that is no user is tried as a service principal),
// the first pages in $batch. Each resource's app roles are read once a
// run, to name the role.
//
// Assignment ids: an ownership's is the owned object's id, its kind
// (app-owner, service-principal-owner) saying which collection it is in;
// an app role assignment's is Graph's id of it.
type Apps struct {
	c   *Client
	idx *appIndex
	// resources are the resource service principals' names and app
	// roles, read once each.
	resources *resourceRoles
}

var (
	_ job.Source       = Apps{}
	_ job.Grouper      = Apps{}
	_ job.BatchRemover = Apps{}
	_ job.Guard        = Apps{}
	_ job.IDChecker    = Apps{}
	_ job.Restorer     = Apps{}
)

// Apps returns the `apps` source.
func (c *Client) Apps() Apps {
	return Apps{c: c, idx: &appIndex{}, resources: &resourceRoles{known: map[string]*resource{}}}
}

// Name implements job.Source.
func (Apps) Name() string { return job.SourceApps }

// GroupSize implements job.Grouper: every principal comes in one Find,
// matched against the index built once; the app role listings go in
// batches of the client's size all the same.
func (Apps) GroupSize() int { return maxPrincipals }

// appRoleAssignmentScope is an app role assignment's scope as the job
// writes it: its resource service principal.
var appRoleAssignmentScope = regexp.MustCompile(`^/servicePrincipals/([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`)

// ownerScope is the scope of an ownership row: the owned object.
func ownerScope(kind, id string) string {
	if kind == job.KindServicePrincipalOwner {
		return "/servicePrincipals/" + id
	}
	return "/applications/" + id
}

// Find implements job.Source: the principals' ownerships from the index,
// and their app role assignments. A principal whose app role listing
// failed is named in a job.ListingErrors; its ownerships stand.
func (s Apps) Find(ctx context.Context, principals []job.Principal) ([]job.Assignment, error) {
	if err := checkPrincipals(principals); err != nil {
		return nil, err
	}
	idx, err := s.idx.get(ctx, s.c)
	if err != nil {
		return nil, err
	}
	var out []job.Assignment
	for _, p := range principals {
		for _, o := range idx.ownedBy(p.ID) {
			kind := job.KindAppOwner
			if o.sp {
				kind = job.KindServicePrincipalOwner
			}
			out = append(out, job.Assignment{
				Source:      s.Name(),
				Kind:        kind,
				ID:          o.id,
				PrincipalID: p.ID,
				RoleName:    o.name,
				Scope:       ownerScope(kind, o.id),
				Note:        "owner of " + o.what() + " " + o.name + " (appId " + o.appID + ")",
				Raw:         o.raw(),
			})
		}
	}
	held, lerr := s.c.listGroup(ctx, principals, func(p job.Principal) (*abstractions.RequestInformation, error) {
		return s.assignmentsPage(ctx, p.ID, idx.isSP(p.ID))
	}, func(ctx context.Context, p job.Principal, first *transport.SubAnswer) ([]job.Assignment, error) {
		return s.listAssignments(ctx, idx, p, first)
	})
	var named job.ListingErrors
	if lerr != nil && !errors.As(lerr, &named) {
		return nil, lerr
	}
	held = s.nameRoles(ctx, held)
	return append(out, held...), lerr
}

// assignmentsPage builds the first page of a principal's app role
// assignments, under servicePrincipals or under users.
func (s Apps) assignmentsPage(ctx context.Context, id string, sp bool) (*abstractions.RequestInformation, error) {
	top := int32(999)
	if sp {
		return serviceprincipals.NewServicePrincipalsRequestBuilderInternal(s.c.pathParams(), s.c.adapter).ByServicePrincipalId(id).
			AppRoleAssignments().ToGetRequestInformation(ctx, &serviceprincipals.ItemAppRoleAssignmentsRequestBuilderGetRequestConfiguration{
			QueryParameters: &serviceprincipals.ItemAppRoleAssignmentsRequestBuilderGetQueryParameters{Top: &top},
		})
	}
	return users.NewUsersRequestBuilderInternal(s.c.pathParams(), s.c.adapter).ByUserId(id).
		AppRoleAssignments().ToGetRequestInformation(ctx, &users.ItemAppRoleAssignmentsRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemAppRoleAssignmentsRequestBuilderGetQueryParameters{Top: &top},
	})
}

// listAssignments reads a principal's app role assignments. A principal
// that is no user (404 under users) is listed as a service principal; one
// that is neither (a group, a deleted object) holds none the job removes.
// Only the principal's own are kept: a user's listing also returns those
// of the groups it is a direct member of.
func (s Apps) listAssignments(ctx context.Context, idx *appIndex, p job.Principal, first *transport.SubAnswer) ([]job.Assignment, error) {
	sp := idx.isSP(p.ID)
	found, err := s.readAssignments(ctx, p.ID, sp, first)
	if !sp && errors.Is(err, job.ErrNotFound) {
		found, err = s.readAssignments(transport.Listing(ctx), p.ID, true, nil)
	}
	if errors.Is(err, job.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing app role assignments: %w", err)
	}
	var out []job.Assignment
	for _, a := range found {
		if !strings.EqualFold(uuidText(a.GetPrincipalId()), p.ID) {
			continue
		}
		out = append(out, job.Assignment{
			Source:           s.Name(),
			Kind:             job.KindAppRoleAssignment,
			ID:               transport.Deref(a.GetId()),
			PrincipalID:      p.ID,
			RoleDefinitionID: uuidText(a.GetAppRoleId()),
			Scope:            "/servicePrincipals/" + uuidText(a.GetResourceId()),
			Note:             transport.Deref(a.GetResourceDisplayName()), // named by nameRoles
			Raw:              raw(a),
		})
	}
	return out, nil
}

// readAssignments reads every page of a principal's app role assignments.
func (s Apps) readAssignments(ctx context.Context, id string, sp bool, first *transport.SubAnswer) ([]models.AppRoleAssignmentable, error) {
	info, err := s.assignmentsPage(ctx, id, sp)
	if err != nil {
		return nil, err
	}
	u, err := info.GetUri()
	if err != nil {
		return nil, err
	}
	return readAll(ctx, u.String(), first, models.CreateAppRoleAssignmentCollectionResponseFromDiscriminatorValue,
		func(ctx context.Context, u string) (models.AppRoleAssignmentCollectionResponseable, error) {
			if sp {
				return serviceprincipals.NewItemAppRoleAssignmentsRequestBuilder(u, s.c.adapter).Get(ctx, nil)
			}
			return users.NewItemAppRoleAssignmentsRequestBuilder(u, s.c.adapter).Get(ctx, nil)
		})
}

// uuidText is a GUID the SDK parsed, as text ("" for none).
func uuidText[T fmt.Stringer](u *T) string {
	if u == nil {
		return ""
	}
	return (*u).String()
}

// zeroGUID is the app role id of an assignment to an application without
// a specific role (default access).
const zeroGUID = "00000000-0000-0000-0000-000000000000"

// nameRoles names each app role assignment's role (its value, as a token's
// roles claim carries it) and resource, from the resource service
// principal's app roles, read once a run for each resource.
func (s Apps) nameRoles(ctx context.Context, as []job.Assignment) []job.Assignment {
	var ids []string
	for _, a := range as {
		if m := appRoleAssignmentScope.FindStringSubmatch(a.Scope); m != nil {
			ids = append(ids, m[1])
		}
	}
	s.resources.learn(ctx, s.c, ids)
	for i, a := range as {
		m := appRoleAssignmentScope.FindStringSubmatch(a.Scope)
		if m == nil {
			continue
		}
		name, value := s.resources.role(m[1], a.RoleDefinitionID)
		if name == "" {
			name = a.Note
		}
		as[i].RoleName = value
		switch {
		case value != "":
			as[i].Note = name + ": " + value
		case a.RoleDefinitionID == zeroGUID:
			as[i].Note = name + ": default access"
		default:
			as[i].Note = name + ": app role " + a.RoleDefinitionID
		}
	}
	return as
}

// resourceRoles are the resource service principals a run has read.
type resourceRoles struct {
	mu    sync.Mutex
	known map[string]*resource // by lower-case id; a failed read is known too, empty
}

// resource is a service principal's name and app roles (lower-case id →
// value).
type resource struct {
	name  string
	roles map[string]string
}

// role answers the name of a resource and the value of one of its app
// roles, each "" when unknown.
func (r *resourceRoles) role(resourceID, appRoleID string) (name, value string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.known[strings.ToLower(resourceID)]
	if res == nil {
		return "", ""
	}
	return res.name, res.roles[strings.ToLower(appRoleID)]
}

// learn reads the resources not yet known: GET /servicePrincipals/{id}
// with $select=id,displayName,appRoles, in $batch when batching. A read
// that fails leaves the role unnamed; the row goes ahead all the same.
func (r *resourceRoles) learn(ctx context.Context, c *Client, ids []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var todo []string
	for _, id := range ids {
		k := strings.ToLower(id)
		if _, ok := r.known[k]; !ok {
			r.known[k] = &resource{}
			todo = append(todo, k)
		}
	}
	if len(todo) == 0 {
		return
	}
	cfg := &serviceprincipals.ServicePrincipalItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &serviceprincipals.ServicePrincipalItemRequestBuilderGetQueryParameters{Select: []string{"id", "displayName", "appRoles"}},
	}
	item := func(id string) *serviceprincipals.ServicePrincipalItemRequestBuilder {
		return serviceprincipals.NewServicePrincipalsRequestBuilderInternal(c.pathParams(), c.adapter).ByServicePrincipalId(id)
	}
	got := map[string]models.ServicePrincipalable{}
	if c.batchSize > 1 && len(todo) > 1 {
		subs := make([]transport.SubRequest, len(todo))
		var idx []int
		for i, id := range todo {
			info, err := item(id).ToGetRequestInformation(ctx, cfg)
			if err == nil {
				subs[i], err = c.subRequest(info)
			}
			if err == nil {
				idx = append(idx, i)
			}
		}
		for i, a := range c.sendBatch(ctx, subs, idx) {
			if sp, err := readPage[models.ServicePrincipalable](a, models.CreateServicePrincipalFromDiscriminatorValue); err == nil {
				got[todo[i]] = sp
			}
		}
	} else {
		for _, id := range todo {
			if sp, err := item(id).Get(ctx, cfg); err == nil && sp != nil {
				got[id] = sp
			}
		}
	}
	for id, sp := range got {
		res := &resource{name: transport.Deref(sp.GetDisplayName()), roles: map[string]string{}}
		for _, role := range sp.GetAppRoles() {
			if rid := uuidText(role.GetId()); rid != "" {
				res.roles[strings.ToLower(rid)] = transport.Deref(role.GetValue())
			}
		}
		r.known[id] = res
	}
}

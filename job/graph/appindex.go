package graph

import (
	"context"
	"encoding/json"
	"fmt"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/applications"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/serviceprincipals"
	"golang.org/x/sync/errgroup"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// appIndex is the tenant's applications and service principals with their
// owners, built once a run. Graph documents GET /users/{id}/ownedObjects
// as not supported for an application identity, so the owners are read
// from the objects' side: GET /applications and GET /servicePrincipals
// with $expand=owners, matched locally against the principals. Graph's
// $expand on a directory object's relationship answers at most 20
// objects and no @odata.nextLink: an object that comes with that many
// owners has its owners listed again, every page of
// /{applications|servicePrincipals}/{id}/owners, the first pages in
// $batch. A tenant of 2,000 applications and as many service principals
// is listed in about forty round trips, whatever the number of
// principals.
type appIndex struct {
	builtOnce

	objects map[string]*appObject   // by lower-case id
	owned   map[string][]*appObject // by lower-case owner id
}

// appObject is an application or a service principal as the index knows
// it.
type appObject struct {
	id, name, appID string
	sp              bool     // a service principal, not an application
	owners          []string // lower-case ids
}

// what names the object's type in words.
func (o *appObject) what() string {
	if o.sp {
		return "service principal"
	}
	return "application"
}

// expandLimit is how many objects Graph's $expand of a directory object's
// relationship answers at most.
const expandLimit = 20

// get builds the index on the first call and answers it (or its failure)
// to every call of the run.
func (x *appIndex) get(ctx context.Context, c *Client) (*appIndex, error) {
	if err := x.once(ctx, func() error { return x.build(ctx, c) }); err != nil {
		return nil, fmt.Errorf("listing the applications and service principals with their owners: %w", err)
	}
	return x, nil
}

// built is the index when it was built without error, or nil.
func (x *appIndex) built() *appIndex {
	if !x.ok() {
		return nil
	}
	return x
}

// isSP reports whether an id is a service principal's.
func (x *appIndex) isSP(id string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	o := x.objects[job.NormalizeGUID(id)]
	return o != nil && o.sp
}

// ownedBy copies what a principal owns.
func (x *appIndex) ownedBy(id string) []*appObject {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]*appObject(nil), x.owned[job.NormalizeGUID(id)]...)
}

// object is the object with an id, or nil.
func (x *appIndex) object(id string) *appObject {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.objects[job.NormalizeGUID(id)]
}

// build lists both collections at once, then the owners of the objects
// whose expansion may have been cut.
func (x *appIndex) build(ctx context.Context, c *Client) error {
	x.objects, x.owned = map[string]*appObject{}, map[string][]*appObject{}
	var apps []models.Applicationable
	var sps []models.ServicePrincipalable
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		apps, err = listApplications(gctx, c)
		return err
	})
	g.Go(func() (err error) {
		sps, err = listServicePrincipals(gctx, c)
		return err
	})
	if err := g.Wait(); err != nil {
		return err
	}
	var cut []*appObject
	// An object whose id is not a GUID stays in the index: its owners'
	// rows are refused by CheckID (failed, unexpected id from the
	// service), never put in a request.
	add := func(id, name, appID string, sp bool, owners []models.DirectoryObjectable) {
		if id == "" || x.objects[job.NormalizeGUID(id)] != nil {
			return
		}
		o := &appObject{id: id, name: name, appID: appID, sp: sp}
		x.objects[job.NormalizeGUID(id)] = o
		if len(owners) >= expandLimit && job.IsGUID(id) {
			cut = append(cut, o)
			return
		}
		for _, ow := range owners {
			o.owners = append(o.owners, transport.Deref(ow.GetId()))
		}
	}
	for _, a := range apps {
		add(transport.Deref(a.GetId()), transport.Deref(a.GetDisplayName()), transport.Deref(a.GetAppId()), false, a.GetOwners())
	}
	for _, s := range sps {
		add(transport.Deref(s.GetId()), transport.Deref(s.GetDisplayName()), transport.Deref(s.GetAppId()), true, s.GetOwners())
	}
	if err := x.listOwners(ctx, c, cut); err != nil {
		return err
	}
	for _, o := range x.objects {
		var owners []string
		for _, id := range o.owners {
			if !job.IsGUID(id) {
				continue
			}
			k := job.NormalizeGUID(id)
			owners = append(owners, k)
			x.owned[k] = append(x.owned[k], o)
		}
		o.owners = owners
	}
	return nil
}

// listApplications reads every application with its owners.
func listApplications(ctx context.Context, c *Client) ([]models.Applicationable, error) {
	top := int32(999)
	info, err := applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter).ToGetRequestInformation(ctx,
		&applications.ApplicationsRequestBuilderGetRequestConfiguration{
			QueryParameters: &applications.ApplicationsRequestBuilderGetQueryParameters{
				Select: []string{"id", "appId", "displayName"}, Expand: []string{"owners"}, Top: &top,
			},
		})
	if err != nil {
		return nil, err
	}
	u, err := info.GetUri()
	if err != nil {
		return nil, err
	}
	out, err := readAll(ctx, u.String(), nil, models.CreateApplicationCollectionResponseFromDiscriminatorValue,
		func(ctx context.Context, u string) (models.ApplicationCollectionResponseable, error) {
			return applications.NewApplicationsRequestBuilder(u, c.adapter).Get(ctx, nil)
		})
	if err != nil {
		return nil, fmt.Errorf("the applications: %w", err)
	}
	return out, nil
}

// listServicePrincipals reads every service principal with its owners.
func listServicePrincipals(ctx context.Context, c *Client) ([]models.ServicePrincipalable, error) {
	top := int32(999)
	info, err := serviceprincipals.NewServicePrincipalsRequestBuilderInternal(c.pathParams(), c.adapter).ToGetRequestInformation(ctx,
		&serviceprincipals.ServicePrincipalsRequestBuilderGetRequestConfiguration{
			QueryParameters: &serviceprincipals.ServicePrincipalsRequestBuilderGetQueryParameters{
				Select: []string{"id", "appId", "displayName"}, Expand: []string{"owners"}, Top: &top,
			},
		})
	if err != nil {
		return nil, err
	}
	u, err := info.GetUri()
	if err != nil {
		return nil, err
	}
	out, err := readAll(ctx, u.String(), nil, models.CreateServicePrincipalCollectionResponseFromDiscriminatorValue,
		func(ctx context.Context, u string) (models.ServicePrincipalCollectionResponseable, error) {
			return serviceprincipals.NewServicePrincipalsRequestBuilder(u, c.adapter).Get(ctx, nil)
		})
	if err != nil {
		return nil, fmt.Errorf("the service principals: %w", err)
	}
	return out, nil
}

// ownersPage builds the first page of an object's owners.
func ownersPage(ctx context.Context, c *Client, o *appObject) (*abstractions.RequestInformation, error) {
	top := int32(999)
	if o.sp {
		return serviceprincipals.NewServicePrincipalsRequestBuilderInternal(c.pathParams(), c.adapter).ByServicePrincipalId(o.id).Owners().
			ToGetRequestInformation(ctx, &serviceprincipals.ItemOwnersRequestBuilderGetRequestConfiguration{
				QueryParameters: &serviceprincipals.ItemOwnersRequestBuilderGetQueryParameters{Select: []string{"id"}, Top: &top},
			})
	}
	return applications.NewApplicationsRequestBuilderInternal(c.pathParams(), c.adapter).ByApplicationId(o.id).Owners().
		ToGetRequestInformation(ctx, &applications.ItemOwnersRequestBuilderGetRequestConfiguration{
			QueryParameters: &applications.ItemOwnersRequestBuilderGetQueryParameters{Select: []string{"id"}, Top: &top},
		})
}

// readOwners reads every page of an object's owners, the first from a
// batch's answer when there is one.
func readOwners(ctx context.Context, c *Client, o *appObject, firstURL string, first *transport.SubAnswer) ([]string, error) {
	owners, err := readAll(ctx, firstURL, first, models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue,
		func(ctx context.Context, u string) (models.DirectoryObjectCollectionResponseable, error) {
			if o.sp {
				return serviceprincipals.NewItemOwnersRequestBuilder(u, c.adapter).Get(ctx, nil)
			}
			return applications.NewItemOwnersRequestBuilder(u, c.adapter).Get(ctx, nil)
		})
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(owners))
	for _, ow := range owners {
		ids = append(ids, transport.Deref(ow.GetId()))
	}
	return ids, nil
}

// listOwners lists the owners of objects whose expansion may be cut: the
// first pages in $batch (or alone without batching), the rest alone. An
// object deleted since it was listed owns nothing.
func (x *appIndex) listOwners(ctx context.Context, c *Client, objects []*appObject) error {
	urls := make([]string, len(objects))
	subs := make([]transport.SubRequest, len(objects))
	answers := make([]*transport.SubAnswer, len(objects))
	var idx []int
	for i, o := range objects {
		info, err := ownersPage(ctx, c, o)
		if err != nil {
			return err
		}
		u, err := info.GetUri()
		if err != nil {
			return err
		}
		urls[i] = u.String()
		if c.batchSize > 1 {
			if subs[i], err = c.subRequest(info); err != nil {
				return err
			}
			idx = append(idx, i)
		}
	}
	if c.batchSize > 1 && len(idx) > 0 {
		for i, a := range c.sendBatch(ctx, subs, idx) {
			answers[i] = &a
		}
	}
	for i, o := range objects {
		owners, err := readOwners(ctx, c, o, urls[i], answers[i])
		if err = goneIsEmpty(err); err != nil {
			return fmt.Errorf("the owners of %s %s: %w", o.what(), o.id, err)
		}
		o.owners = owners
	}
	return nil
}

// raw is what the journal keeps of an owned object: enough for a person
// to know it, the row's kind and id saying the rest.
func (o *appObject) raw() json.RawMessage {
	b, _ := json.Marshal(map[string]string{"id": o.id, "appId": o.appID, "displayName": o.name})
	return b
}

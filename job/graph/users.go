package graph

import (
	"context"
	"fmt"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

var _ job.Directory = (*Client)(nil)

// maxInValues is how many values Graph's `in` takes in a directory query.
const maxInValues = 15

// userProperty is the user property a kind of key is compared with.
func userProperty(kind string) string {
	switch kind {
	case job.KeyUPN:
		return "userPrincipalName"
	case job.KeyMail:
		return "mail"
	case job.KeyEmployeeID:
		return "employeeId"
	}
	return ""
}

// userQuery is one GET /users: up to maxInValues values of one kind of
// key, and the keys they answer.
type userQuery struct {
	kind   string
	values []string // distinct, ignoring case: Graph compares them so
	keys   []job.UserKey
	// eq: one value, compared with eq rather than in (Graph refused in
	// on this property).
	eq bool
}

// Resolve implements job.Directory: GET /users?$filter=prop in ('a','b'),
// one request per kind of key and 15 values, the first pages of all of
// them in $batch when batching is on, each following its @odata.nextLink
// alone. A query that fails is sent again one value at a time before any
// of its keys is failed. A 400 to `employeeId in (...)` (Graph's filter
// table for directory objects leaves `in` on employeeId unstated) makes
// every employee id of the run go with eq, one a request, logged once. A
// value is checked (job.CheckKey) and its quotes doubled before it goes
// into the filter; one that fails the check is answered job.ErrInvalidKey
// and never sent.
func (c *Client) Resolve(ctx context.Context, keys []job.UserKey) map[job.UserKey]job.Resolution {
	out := make(map[job.UserKey]job.Resolution, len(keys))
	var queries []*userQuery
	open := map[string]*userQuery{}   // kind → the query still filling
	placed := map[string]*userQuery{} // kind and lower-cased value → its query
	for _, k := range keys {
		if _, done := out[k]; done {
			continue
		}
		if why := job.CheckKey(k); why != "" {
			out[k] = job.Resolution{Err: fmt.Errorf("%w: %s %s", job.ErrInvalidKey, k.Kind, why)}
			continue
		}
		id := k.String()
		q := placed[id]
		if q == nil {
			q = open[k.Kind]
			eq := k.Kind == job.KeyEmployeeID && c.employeeInOff.Load()
			if q == nil || len(q.values) == maxInValues || eq {
				q = &userQuery{kind: k.Kind, eq: eq}
				open[k.Kind] = q
				queries = append(queries, q)
			}
			q.values = append(q.values, k.Value)
			placed[id] = q
		}
		q.keys = append(q.keys, k)
		out[k] = job.Resolution{} // answered below
	}

	firsts := c.lookupFirstPages(ctx, len(queries), func(i int) (*abstractions.RequestInformation, error) {
		return c.users().ToGetRequestInformation(ctx, queries[i].config())
	})
	for i, q := range queries {
		found, err := c.listUsers(ctx, q, firsts[i])
		if err != nil && !q.eq && q.kind == job.KeyEmployeeID && inRefused(err) && ctx.Err() == nil {
			c.noteEmployeeInRefused(err)
			for _, one := range q.each() {
				one.eq = true
				found, err := c.listUsers(ctx, one, nil)
				answer(out, one.keys, found, err)
			}
			continue
		}
		if err != nil && len(q.values) > 1 && ctx.Err() == nil {
			// One value's broken lookup (a nextLink that does not end, an
			// answer that cannot be read) fails only the keys that need
			// it: the query's values are looked up one by one before any
			// key is failed.
			for _, one := range q.each() {
				found, err := c.listUsers(ctx, one, nil)
				answer(out, one.keys, found, err)
			}
			continue
		}
		answer(out, q.keys, found, err)
	}
	return out
}

// each splits the query into one query a value, each with its keys.
func (q *userQuery) each() []*userQuery {
	out := make([]*userQuery, len(q.values))
	for i, v := range q.values {
		out[i] = &userQuery{kind: q.kind, values: []string{v}}
		for _, k := range q.keys {
			if strings.EqualFold(k.Value, v) {
				out[i].keys = append(out[i].keys, k)
			}
		}
	}
	return out
}

// answer sets each key's resolution: the users of found whose property is
// the key's value, or the lookup's error.
func answer(out map[job.UserKey]job.Resolution, keys []job.UserKey, found []models.Userable, err error) {
	for _, k := range keys {
		if err != nil {
			out[k] = job.Resolution{Err: err}
			continue
		}
		var res job.Resolution
		for _, u := range found {
			if strings.EqualFold(userValue(u, k.Kind), k.Value) {
				res.Users = append(res.Users, job.DirectoryUser{ID: transport.Deref(u.GetId()), UPN: transport.Deref(u.GetUserPrincipalName())})
			}
		}
		out[k] = res
	}
}

func (c *Client) users() *users.UsersRequestBuilder {
	return users.NewUsersRequestBuilderInternal(c.pathParams(), c.adapter)
}

// config is the query's first page: the users whose property is one of
// the values, each an OData string literal with its quotes doubled.
func (q *userQuery) config() *users.UsersRequestBuilderGetRequestConfiguration {
	lits := odataStrings(q.values)
	filter := userProperty(q.kind) + " in (" + strings.Join(lits, ",") + ")"
	if q.eq && len(lits) == 1 {
		filter = userProperty(q.kind) + " eq " + lits[0]
	}
	return &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: &filter,
			Select: []string{"id", "userPrincipalName", "mail", "employeeId"},
		},
	}
}

// listUsers lists the query's users, from its first page's answer in a
// batch, or (first nil) sending that page itself, following every
// @odata.nextLink. It is one listing (transport.Listing): a page it has
// read, or one past the cap, is refused.
func (c *Client) listUsers(ctx context.Context, q *userQuery, first *transport.SubAnswer) ([]models.Userable, error) {
	ctx = transport.Listing(ctx)
	list := c.users()
	return userPages(first, "GET /users by "+userProperty(q.kind),
		func() (models.UserCollectionResponseable, error) { return list.Get(ctx, q.config()) },
		func(next string) (models.UserCollectionResponseable, error) { return list.WithUrl(next).Get(ctx, nil) })
}

// userPages reads a listing of users: its first page from the batch's
// answer, or (first nil) from get, then every @odata.nextLink through
// next. what names the listing in its errors.
func userPages(first *transport.SubAnswer, what string, get func() (models.UserCollectionResponseable, error),
	next func(string) (models.UserCollectionResponseable, error)) ([]models.Userable, error) {
	var page models.UserCollectionResponseable
	var err error
	if first != nil {
		page, err = readPage[models.UserCollectionResponseable](*first, models.CreateUserCollectionResponseFromDiscriminatorValue)
	} else {
		page, err = get()
		err = classify(err)
	}
	var out []models.Userable
	for pages := 1; ; pages++ {
		if err != nil {
			return nil, fmt.Errorf("%s (page %d): %w", what, pages, err)
		}
		out = append(out, page.GetValue()...)
		link := page.GetOdataNextLink()
		if link == nil || *link == "" {
			return out, nil
		}
		page, err = next(*link)
		err = classify(err)
	}
}

// noteEmployeeInRefused makes employee ids go with eq for the rest of the
// run, logging it the first time.
func (c *Client) noteEmployeeInRefused(err error) {
	if c.employeeInOff.CompareAndSwap(false, true) {
		c.log.Warn("Graph refused `in` on employeeId: employee ids are looked up one a request (eq) for the rest of the run",
			zap.Error(err))
	}
}

// lookupFirstPages is firstPages for the user lookups, which batch their
// first pages only when there are two or more: answers[i] is query i's
// first page in the batch, or why it could not be built, or nil (the
// lookup sends its page itself).
func (c *Client) lookupFirstPages(ctx context.Context, n int, build func(i int) (*abstractions.RequestInformation, error)) []*transport.SubAnswer {
	if c.batchSize < 2 || n < 2 {
		return make([]*transport.SubAnswer, n)
	}
	_, answers, errs := c.firstPages(ctx, n, build)
	for i, err := range errs {
		answers[i] = &transport.SubAnswer{Err: err}
	}
	return answers
}

// odataStrings are the values as OData string literals: each quoted,
// its quotes doubled.
func odataStrings(values []string) []string {
	lits := make([]string, len(values))
	for i, v := range values {
		lits[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return lits
}

// userValue is the user's property that a kind of key is compared with.
func userValue(u models.Userable, kind string) string {
	switch kind {
	case job.KeyUPN:
		return transport.Deref(u.GetUserPrincipalName())
	case job.KeyMail:
		return transport.Deref(u.GetMail())
	case job.KeyEmployeeID:
		return transport.Deref(u.GetEmployeeId())
	}
	return ""
}

var _ job.ObjectChecker = (*Client)(nil)

// Absent implements job.ObjectChecker with getByIds (a read, a thousand
// ids a request): the ids it does not return name no user, service
// principal or group of the tenant (a soft-deleted object is not
// returned either).
func (c *Client) Absent(ctx context.Context, ids []string) (map[string]bool, error) {
	ps := make([]job.Principal, 0, len(ids))
	for _, id := range ids {
		if job.IsGUID(id) { // only a GUID goes into a request
			ps = append(ps, job.Principal{ID: id})
		}
	}
	types, err := principalTypes(ctx, c, ps)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, p := range ps {
		if _, ok := types[job.NormalizeGUID(p.ID)]; !ok {
			out[p.ID] = true
		}
	}
	return out, nil
}

package graph

import (
	"context"
	"fmt"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/directory"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

var _ job.DeletedDirectory = (*Client)(nil)

// deletedQuery is one GET of soft-deleted users: one UPN, or up to
// maxInValues mails or employee ids, and the keys they answer.
type deletedQuery struct {
	kind   string
	values []string // distinct, ignoring case
	keys   []job.UserKey
}

// ResolveDeleted implements job.DeletedDirectory with GET
// /directory/deletedItems/graph.user (msgraph-sdk-go's cast; Graph's
// reference writes microsoft.graph.user), which User.Read.All reads.
// Entra prefixes a deleted user's userPrincipalName with its object id
// without hyphens, so a UPN is found with
// endswith(userPrincipalName,'{upn}'), one a request, and kept only when
// the UPN is exactly that prefix and the key; endswith is an advanced
// query, so every request carries ConsistencyLevel: eventual and
// $count=true. Mails and employee ids go with `in`, 15 a request, as for
// live users. The first pages go in $batch; each follows its
// @odata.nextLink alone. A query of several values that fails is sent
// again one value at a time.
func (c *Client) ResolveDeleted(ctx context.Context, keys []job.UserKey) map[job.UserKey]job.Resolution {
	out := make(map[job.UserKey]job.Resolution, len(keys))
	queries := deletedQueries(keys, out)
	firsts := c.lookupFirstPages(ctx, len(queries), func(i int) (*abstractions.RequestInformation, error) {
		return c.deletedUsers().ToGetRequestInformation(ctx, queries[i].config())
	})
	for i, q := range queries {
		found, err := c.listDeleted(ctx, q, firsts[i])
		if err != nil && len(q.values) > 1 && ctx.Err() == nil {
			for _, v := range q.values {
				one := &deletedQuery{kind: q.kind, values: []string{v}}
				for _, k := range q.keys {
					if strings.EqualFold(k.Value, v) {
						one.keys = append(one.keys, k)
					}
				}
				found, err := c.listDeleted(ctx, one, nil)
				answerDeleted(out, one.keys, found, err)
			}
			continue
		}
		answerDeleted(out, q.keys, found, err)
	}
	return out
}

// deletedQueries groups the keys into queries: a UPN alone, mails and
// employee ids 15 distinct values a query. A key whose value may not go
// into a request is answered job.ErrInvalidKey in out.
func deletedQueries(keys []job.UserKey, out map[job.UserKey]job.Resolution) []*deletedQuery {
	var queries []*deletedQuery
	open := map[string]*deletedQuery{}
	placed := map[string]*deletedQuery{}
	for _, k := range keys {
		if _, done := out[k]; done {
			continue
		}
		if why := job.CheckKey(k); why != "" {
			out[k] = job.Resolution{Err: fmt.Errorf("%w: %s %s", job.ErrInvalidKey, k.Kind, why)}
			continue
		}
		q := placed[k.String()]
		if q == nil {
			q = open[k.Kind]
			if q == nil || len(q.values) == maxInValues || k.Kind == job.KeyUPN {
				q = &deletedQuery{kind: k.Kind}
				open[k.Kind] = q
				queries = append(queries, q)
			}
			q.values = append(q.values, k.Value)
			placed[k.String()] = q
		}
		q.keys = append(q.keys, k)
		out[k] = job.Resolution{}
	}
	return queries
}

func (c *Client) deletedUsers() *directory.DeletedItemsGraphUserRequestBuilder {
	return directory.NewDeletedItemsGraphUserRequestBuilderInternal(c.pathParams(), c.adapter)
}

// eventual are the headers of an advanced query.
func eventual() *abstractions.RequestHeaders {
	h := abstractions.NewRequestHeaders()
	h.Add("ConsistencyLevel", "eventual")
	return h
}

// config is the query's first page, with the advanced query parameters.
func (q *deletedQuery) config() *directory.DeletedItemsGraphUserRequestBuilderGetRequestConfiguration {
	lits := odataStrings(q.values)
	filter := userProperty(q.kind) + " in (" + strings.Join(lits, ",") + ")"
	if q.kind == job.KeyUPN {
		filter = "endswith(userPrincipalName," + lits[0] + ")"
	}
	count := true
	return &directory.DeletedItemsGraphUserRequestBuilderGetRequestConfiguration{
		Headers: eventual(),
		QueryParameters: &directory.DeletedItemsGraphUserRequestBuilderGetQueryParameters{
			Filter: &filter, Count: &count,
			Select: []string{"id", "userPrincipalName", "mail", "employeeId"},
		},
	}
}

// listDeleted lists the query's deleted users, from its first page's
// answer in a batch, or (first nil) sending that page itself, following
// every @odata.nextLink; one listing (transport.Listing).
func (c *Client) listDeleted(ctx context.Context, q *deletedQuery, first *transport.SubAnswer) ([]models.Userable, error) {
	ctx = transport.Listing(ctx)
	list := c.deletedUsers()
	return userPages(first, "GET /directory/deletedItems/microsoft.graph.user by "+userProperty(q.kind),
		func() (models.UserCollectionResponseable, error) { return list.Get(ctx, q.config()) },
		func(next string) (models.UserCollectionResponseable, error) {
			return list.WithUrl(next).Get(ctx, &directory.DeletedItemsGraphUserRequestBuilderGetRequestConfiguration{Headers: eventual()})
		})
}

// answerDeleted sets each key's resolution: the deleted users whose
// property is the key's value (for a UPN: the id without hyphens, then
// the key), each with the UPN it had, or the lookup's error.
func answerDeleted(out map[job.UserKey]job.Resolution, keys []job.UserKey, found []models.Userable, err error) {
	for _, k := range keys {
		if err != nil {
			out[k] = job.Resolution{Err: err}
			continue
		}
		var res job.Resolution
		for _, u := range found {
			id, upn := transport.Deref(u.GetId()), transport.Deref(u.GetUserPrincipalName())
			prefix := strings.ReplaceAll(strings.ToLower(id), "-", "")
			had := upn
			if len(upn) > len(prefix) && strings.EqualFold(upn[:len(prefix)], prefix) {
				had = upn[len(prefix):]
			}
			match := strings.EqualFold(userValue(u, k.Kind), k.Value)
			if k.Kind == job.KeyUPN {
				match = had != upn && strings.EqualFold(had, k.Value)
			}
			if match {
				res.Users = append(res.Users, job.DirectoryUser{ID: id, UPN: had, Deleted: true})
			}
		}
		out[k] = res
	}
}

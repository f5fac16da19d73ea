package graph

import (
	"context"
	"fmt"

	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/offboard/offboard/job"
)

var _ job.Directory = (*Client)(nil)

// ResolveUPN returns the object id of the user with this UPN. The SDK's
// URI template percent-encodes the segment, so a guest's "#EXT#" reaches
// Graph as "%23EXT%23" and not as a fragment.
func (c *Client) ResolveUPN(ctx context.Context, upn string) (string, error) {
	b := users.NewUsersRequestBuilderInternal(c.pathParams(), c.adapter).ByUserId(upn)
	u, err := b.Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id"}},
	})
	if err != nil {
		return "", fmt.Errorf("GET /users/{upn}: %w", classify(err))
	}
	id := deref(u.GetId())
	if id == "" {
		return "", fmt.Errorf("GET /users/{upn}: the answer has no id")
	}
	return id, nil
}

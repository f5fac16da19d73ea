package graph

import (
	"context"
	"fmt"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"
	"go.uber.org/zap"

	"github.com/offboard/offboard/job/transport"
)

// roleNames is the tenant's directory role definitions' display names, by
// id and template id, read once per run (one listing, a page or two: a
// tenant has about a hundred built-in roles and few custom ones) for the
// report's role_name. A listing that fails leaves every name empty: a name
// is information, never a reason to fail a row.
type roleNames struct {
	builtOnce
	names map[string]string
}

// roleName is the display name of the directory role definition id, or ""
// when it cannot be read.
func (c *Client) roleName(ctx context.Context, id string) string {
	err := c.roles.once(ctx, func() error {
		names, err := c.listRoleNames(ctx)
		if err != nil {
			c.log.Warn("role names unreadable: report rows show role ids only", zap.Error(err))
			return err
		}
		c.roles.names = names
		return nil
	})
	if err != nil {
		return ""
	}
	c.roles.mu.Lock()
	defer c.roles.mu.Unlock()
	return c.roles.names[strings.ToLower(id)]
}

// listRoleNames reads every role definition's id, template id and display
// name, following @odata.nextLink under the bounded paging rule.
func (c *Client) listRoleNames(ctx context.Context) (map[string]string, error) {
	ctx = transport.Listing(ctx)
	list := rolemanagement.NewDirectoryRoleDefinitionsRequestBuilderInternal(c.pathParams(), c.adapter)
	page, err := list.Get(ctx, &rolemanagement.DirectoryRoleDefinitionsRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleDefinitionsRequestBuilderGetQueryParameters{
			Select: []string{"id", "templateId", "displayName"},
		},
	})
	names := map[string]string{}
	for pages := 1; ; pages++ {
		if err != nil {
			return nil, fmt.Errorf("listing role definitions (page %d): %w", pages, classify(err))
		}
		for _, d := range page.GetValue() {
			name := transport.Deref(d.GetDisplayName())
			for _, id := range []string{transport.Deref(d.GetId()), transport.Deref(d.GetTemplateId())} {
				if id != "" {
					names[strings.ToLower(id)] = name
				}
			}
		}
		next := page.GetOdataNextLink()
		if next == nil || *next == "" {
			return names, nil
		}
		page, err = list.WithUrl(*next).Get(ctx, nil)
	}
}

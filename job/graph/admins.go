package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/rolemanagement"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

var _ job.Admins = (*Client)(nil)

// GlobalAdmins implements job.Admins: every active Global Administrator
// assignment, with the members of the groups that hold one.
func (c *Client) GlobalAdmins(ctx context.Context) ([]job.AdminHolder, error) {
	filter := "roleDefinitionId eq '" + job.GlobalAdministrator + "'"
	list := rolemanagement.NewDirectoryRoleAssignmentsRequestBuilderInternal(c.pathParams(), c.adapter)
	pages := transport.Listing(ctx)
	page, err := list.Get(pages, &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetRequestConfiguration{
		QueryParameters: &rolemanagement.DirectoryRoleAssignmentsRequestBuilderGetQueryParameters{
			Filter: &filter, Expand: []string{"principal"},
		},
	})
	var out []job.AdminHolder
	for n := 1; ; n++ {
		if err != nil {
			err = fmt.Errorf("listing Global Administrator assignments (page %d): %w", n, classify(err))
			return nil, needs(err, "RoleManagement.Read.Directory (RoleManagement.ReadWrite.Directory includes it)")
		}
		for _, a := range page.GetValue() {
			h := job.AdminHolder{AssignmentID: transport.Deref(a.GetId()), PrincipalID: job.NormalizeGUID(transport.Deref(a.GetPrincipalId()))}
			if p := a.GetPrincipal(); p != nil && transport.Deref(p.GetOdataType()) == "#microsoft.graph.group" {
				h.Group = true
				if h.Members, err = c.members(ctx, h.PrincipalID); err != nil {
					return nil, err
				}
			}
			out = append(out, h)
		}
		next := page.GetOdataNextLink()
		if next == nil || *next == "" {
			return out, nil
		}
		page, err = list.WithUrl(*next).Get(pages, nil)
	}
}

// members lists a group's direct members' ids.
func (c *Client) members(ctx context.Context, groupID string) ([]string, error) {
	ids, err := c.relation(ctx, groupID, "members")
	return ids, needs(err, "GroupMember.Read.All (GroupMember.ReadWrite.All, Group.Read.All, Group.ReadWrite.All or Directory.Read.All include it)")
}

// needs makes a 403 in err a job.PermissionError naming permission.
func needs(err error, permission string) error {
	var ge *transport.ServiceError
	if errors.As(err, &ge) && ge.Status == http.StatusForbidden {
		return &job.PermissionError{Permission: permission, Err: err}
	}
	return err
}

// relation lists the ids of a group's direct members or its owners.
func (c *Client) relation(ctx context.Context, groupID, relation string) ([]string, error) {
	if !job.IsGUID(groupID) {
		return nil, fmt.Errorf("group id %q is not a GUID", groupID)
	}
	var out []string
	ctx = transport.Listing(ctx)
	next := c.base + "/groups/" + url.PathEscape(groupID) + "/" + relation + "?%24select=id&%24top=999"
	for pages := 1; next != ""; pages++ {
		var page models.DirectoryObjectCollectionResponseable
		var err error
		if relation == "owners" {
			page, err = groups.NewItemOwnersRequestBuilder(next, c.adapter).Get(ctx, nil)
		} else {
			page, err = groups.NewItemMembersRequestBuilder(next, c.adapter).Get(ctx, nil)
		}
		if err != nil {
			return nil, fmt.Errorf("listing the %s of group %s (page %d): %w", relation, groupID, pages, classify(err))
		}
		for _, m := range page.GetValue() {
			out = append(out, transport.Deref(m.GetId()))
		}
		next = transport.Deref(page.GetOdataNextLink())
	}
	return out, nil
}

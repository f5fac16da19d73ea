package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// Memberships is the `groups` source: a principal's memberships in
// role-assignable groups, which hand the group's roles to their members.
// Other groups are left alone. A group cannot be a member of a
// role-assignable group, so every such membership is direct.
type Memberships struct {
	c *Client
}

var (
	_ job.Source       = Memberships{}
	_ job.Grouper      = Memberships{}
	_ job.BatchRemover = Memberships{}
)

// Memberships returns the `groups` source.
func (c *Client) Memberships() Memberships { return Memberships{c: c} }

// Name implements job.Source.
func (Memberships) Name() string { return job.SourceGroups }

// GroupSize implements job.Grouper: with batching, a group's first pages
// go in one $batch; without, each principal is a group of its own.
func (s Memberships) GroupSize() int { return s.c.batchSize }

// Find implements job.Source. It reads /directoryObjects/{id}/memberOf,
// which serves users, service principals and groups alike, without a
// $filter (an advanced query), and keeps the objects that are groups with
// isAssignableToRole: memberOf also returns directoryRole objects. Each
// principal takes a request of its own; with batching, those of the group
// travel in one $batch.
func (s Memberships) Find(ctx context.Context, principals []job.Principal) ([]job.Assignment, error) {
	return s.c.listGroup(ctx, principals, func(p job.Principal) (*abstractions.RequestInformation, error) {
		first, err := s.firstPage(p)
		if err != nil {
			return nil, err
		}
		return users.NewItemMemberOfRequestBuilder(first, s.c.adapter).ToGetRequestInformation(ctx, nil)
	}, s.list)
}

// firstPage is the URL of a principal's first page of memberships.
func (s Memberships) firstPage(p job.Principal) (string, error) {
	if !job.IsGUID(p.ID) {
		return "", fmt.Errorf("principal id %q is not a GUID", p.ID)
	}
	return s.c.base + "/directoryObjects/" + url.PathEscape(p.ID) + "/memberOf?%24top=999", nil
}

// list lists one principal's memberships of role-assignable groups, from
// its first page's answer in a batch, or (first nil) sending that page
// itself, following every @odata.nextLink.
func (s Memberships) list(ctx context.Context, p job.Principal, first *transport.SubAnswer) ([]job.Assignment, error) {
	next, err := s.firstPage(p)
	if err != nil {
		return nil, err
	}
	var out []job.Assignment
	for pages := 1; next != ""; pages++ {
		var page models.DirectoryObjectCollectionResponseable
		if pages == 1 && first != nil {
			page, err = readPage[models.DirectoryObjectCollectionResponseable](*first,
				models.CreateDirectoryObjectCollectionResponseFromDiscriminatorValue)
		} else {
			page, err = users.NewItemMemberOfRequestBuilder(next, s.c.adapter).Get(ctx, nil)
			err = classify(err)
		}
		if errors.Is(err, job.ErrNotFound) && pages == 1 {
			// The object is gone from the directory (HR deleted the
			// account first): it is a member of nothing.
			break
		} else if err != nil {
			return nil, fmt.Errorf("listing memberships (page %d): %w", pages, err)
		}
		for _, o := range page.GetValue() {
			g, ok := o.(models.Groupable)
			if !ok || deref(o.GetOdataType()) != "#microsoft.graph.group" {
				continue
			}
			if a := g.GetIsAssignableToRole(); a == nil || !*a {
				continue
			}
			out = append(out, job.Assignment{
				Source:      s.Name(),
				ID:          deref(g.GetId()),
				PrincipalID: p.ID,
				Scope:       "/groups/" + deref(g.GetId()),
				Note:        "group " + deref(g.GetDisplayName()),
				Raw:         raw(g),
			})
		}
		next = deref(page.GetOdataNextLink())
	}
	return out, nil
}

// Remove implements job.Source.
func (s Memberships) Remove(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	return deleteOutcome(classify(s.removeMember(ctx, a.ID, a.PrincipalID)))
}

// BatchSize implements job.BatchRemover.
func (s Memberships) BatchSize() int { return s.c.batchSize }

// RemoveBatch implements job.BatchRemover: the DELETEs of the references
// go in batches.
func (s Memberships) RemoveBatch(ctx context.Context, as []job.Assignment) []job.BatchResult {
	return s.c.removeBatch(ctx, as, func(a job.Assignment) (*abstractions.RequestInformation, error) {
		return s.memberRef(ctx, a.ID, a.PrincipalID)
	}, deleteOutcome)
}

// removeMember removes a membership with the request memberRef builds.
func (s Memberships) removeMember(ctx context.Context, groupID, memberID string) error {
	info, err := s.memberRef(ctx, groupID, memberID)
	if err != nil {
		return err
	}
	return s.c.adapter.SendNoContent(ctx, info, abstractions.ErrorMappings{
		"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue,
	})
}

// memberRef is the one place that builds the removal of a membership,
// sent alone or in a batch. It always addresses the reference,
// .../members/{id}/$ref: without /$ref Graph deletes the member object
// itself. The SDK offers no DELETE on .../members/{id}, and memberGuard
// (sendBatch, for a batch) refuses one before it leaves the process.
func (s Memberships) memberRef(ctx context.Context, groupID, memberID string) (*abstractions.RequestInformation, error) {
	if !job.IsGUID(groupID) || !job.IsGUID(memberID) {
		return nil, fmt.Errorf("group %q or member %q is not a GUID", groupID, memberID)
	}
	return groups.NewGroupsRequestBuilderInternal(s.c.pathParams(), s.c.adapter).
		ByGroupId(groupID).Members().ByDirectoryObjectId(memberID).Ref().ToDeleteRequestInformation(ctx, nil)
}

// memberGuard refuses, before it leaves the process, any DELETE of a
// group member that does not address the reference (/$ref): that request
// would delete the user or service principal itself.
type memberGuard struct {
	next http.RoundTripper
}

// errMemberDelete is what memberGuard answers instead of sending.
var errMemberDelete = errors.New("refusing DELETE .../members/{id} without /$ref: Graph would delete the member object itself")

func (g memberGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodDelete && deletesMember(req.URL.EscapedPath()) {
		return nil, errMemberDelete
	}
	return g.next.RoundTrip(req)
}

// deletesMember reports whether a path is .../groups/{g}/members/{m}
// (any case, any trailing slash) rather than .../members/{m}/$ref.
func deletesMember(escapedPath string) bool {
	p := strings.ToLower(strings.TrimRight(escapedPath, "/"))
	segs := strings.Split(p, "/")
	for i := 0; i+3 < len(segs); i++ {
		if segs[i] == "groups" && segs[i+2] == "members" {
			rest := segs[i+4:]
			return !(len(rest) == 1 && (rest[0] == "$ref" || rest[0] == "%24ref"))
		}
	}
	return false
}

package blob

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/offboard/offboard/job/transport"
)

// maxTree bounds how many blobs ListTree returns: a report root holds a
// few files per report.
const maxTree = 1_000_000

// ListTree returns every blob under prefix, sub-folders included, by name.
// It is one listing (transport.Listing): a page whose continuation marker
// it has already followed, or one past the page cap, ends it with
// transport.ErrListingLoops.
func (s *Store) ListTree(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	pager := s.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	pages, marker := transport.Listing(ctx), ""
	for pager.More() {
		if err := transport.Page(pages, marker, prefix); err != nil {
			return nil, fmt.Errorf("listing %s: %w", prefix, err)
		}
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", prefix, scrub(err))
		}
		if page.NextMarker != nil {
			marker = *page.NextMarker
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name == nil || !strings.HasPrefix(*b.Name, prefix) {
				continue
			}
			o := Object{Name: *b.Name}
			if b.Properties != nil && b.Properties.LastModified != nil {
				o.Modified = *b.Properties.LastModified
			}
			out = append(out, o)
			if len(out) > maxTree {
				return nil, fmt.Errorf("listing %s: more than %d blobs", prefix, maxTree)
			}
		}
	}
	return out, nil
}

package blob

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// maxTree bounds how many blobs ListTree returns: a report root holds a
// few files per report.
const maxTree = 1_000_000

// ListTree returns every blob under prefix, sub-folders included, by name.
func (s *Store) ListTree(ctx context.Context, prefix string) ([]Object, error) {
	var out []Object
	pager := s.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", prefix, scrub(err))
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

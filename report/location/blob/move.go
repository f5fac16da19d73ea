package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azb "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// A drop-folder file that finished cleanly is moved to another folder of
// the same account: a server-side copy, verified, then a delete of the
// source that holds only while the source is still the blob that was
// copied (its ETag).

// ReadTagged returns a blob's content, at most max bytes, and its ETag.
func (s *Store) ReadTagged(ctx context.Context, name string, max int64) ([]byte, azcore.ETag, error) {
	resp, err := s.c.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
			return nil, "", fmt.Errorf("%s: %w", name, ErrNotFound)
		}
		return nil, "", fmt.Errorf("reading %s: %w", name, scrub(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", name, scrub(err))
	}
	if int64(len(data)) > max {
		return nil, "", fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	var etag azcore.ETag
	if resp.ETag != nil {
		etag = *resp.ETag
	}
	return data, etag, nil
}

// ErrChanged is returned when a blob is no longer the one that was read
// (its ETag changed): it was rewritten or deleted meanwhile.
var ErrChanged = errors.New("the blob changed since it was read")

// copyPoll is how often a pending server-side copy is looked at.
const copyPoll = 500 * time.Millisecond

// CopyFrom copies the blob srcName of src (a container of the same
// account) to dst, server-side, only as it was at etag, and never over a
// blob dst already names. It returns when the copy has succeeded; the
// caller verifies the copy before deleting the source.
func (s *Store) CopyFrom(ctx context.Context, dst string, src *Store, srcName string, etag azcore.ETag) error {
	d := s.c.NewBlobClient(dst)
	none := azcore.ETagAny
	resp, err := d.StartCopyFromURL(ctx, src.c.NewBlobClient(srcName).URL(), &azb.StartCopyFromURLOptions{
		SourceModifiedAccessConditions: &azb.SourceModifiedAccessConditions{SourceIfMatch: &etag},
		AccessConditions:               &azb.AccessConditions{ModifiedAccessConditions: &azb.ModifiedAccessConditions{IfNoneMatch: &none}},
	})
	switch {
	case bloberror.HasCode(err, bloberror.SourceConditionNotMet, bloberror.CannotVerifyCopySource, bloberror.BlobNotFound):
		return fmt.Errorf("copying %s: %w", srcName, ErrChanged)
	case err != nil:
		return fmt.Errorf("copying %s to %s: %w", srcName, dst, scrub(err))
	}
	status := resp.CopyStatus
	for status != nil && *status == azb.CopyStatusTypePending {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(copyPoll):
		}
		p, err := d.GetProperties(ctx, nil)
		if err != nil {
			return fmt.Errorf("waiting for the copy to %s: %w", dst, scrub(err))
		}
		status = p.CopyStatus
	}
	if status != nil && *status != azb.CopyStatusTypeSuccess {
		return fmt.Errorf("the copy of %s to %s ended %s", srcName, dst, *status)
	}
	return nil
}

// DeleteIf deletes a blob only while its ETag is etag: a file rewritten
// since it was read and copied is kept.
func (s *Store) DeleteIf(ctx context.Context, name string, etag azcore.ETag) error {
	_, err := s.c.NewBlobClient(name).Delete(ctx, &azb.DeleteOptions{
		AccessConditions: &azb.AccessConditions{ModifiedAccessConditions: &azb.ModifiedAccessConditions{IfMatch: &etag}},
	})
	switch {
	case bloberror.HasCode(err, bloberror.ConditionNotMet, bloberror.BlobNotFound):
		return fmt.Errorf("deleting %s: %w", name, ErrChanged)
	case err != nil:
		return fmt.Errorf("deleting %s: %w", name, scrub(err))
	}
	return nil
}

// SameAccount reports whether two locations are in one storage account
// (a server-side copy between them needs no other credential).
func (l Location) SameAccount(o Location) bool {
	return l.Container[:strings.LastIndex(l.Container, "/")] == o.Container[:strings.LastIndex(o.Container, "/")]
}

// Package blob is offboard's adapter to Azure Blob Storage, where an
// unattended run finds HR's drop folder and leaves its reports: a container
// app's disk is gone when it exits. It reads and lists blobs, uploads whole
// files atomically (a block blob commits at once, so a reader never sees
// half a report), mirrors the journal to an append blob, and holds the run
// lock as a blob lease that expires by itself if the run dies.
package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/appendblob"
	azb "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"
)

// Location is a place in Blob Storage: a container and a path in it.
type Location struct {
	// Container is the container's URL: https://{account}.blob.core.windows.net/{container}
	// or, for the emulator, http://127.0.0.1:{port}/{account}/{container}.
	Container string
	// Name is the container's name.
	Name string
	// Path is the blob name, or a prefix ending in "/" for a folder.
	Path string
}

// blobHosts are the blob service hosts of the clouds.
var blobHosts = []string{".blob.core.windows.net", ".blob.core.usgovcloudapi.net", ".blob.core.chinacloudapi.cn"}

// Parse tells a blob URL from a local path. ok is false for a local path.
func Parse(raw string) (loc Location, ok bool, err error) {
	if !strings.HasPrefix(raw, "https://") && !strings.HasPrefix(raw, "http://") {
		return Location{}, false, nil
	}
	// A query is where a SAS signature travels: refused, and never
	// repeated in an error, which a log would keep.
	shown := raw
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		shown = raw[:i]
	}
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
		return Location{}, true, fmt.Errorf("%q is not a blob URL without query, fragment or user info (a query or user info is not shown)", shown)
	}
	raw = shown
	segs := strings.SplitN(strings.TrimPrefix(u.EscapedPath(), "/"), "/", 3)
	host := strings.ToLower(u.Hostname())
	switch {
	case u.Scheme == "https" && slices.ContainsFunc(blobHosts, func(h string) bool { return strings.HasSuffix(host, h) }):
		// https://{account}.blob.core.../{container}/{path}
		if len(segs) < 2 || segs[0] == "" {
			return Location{}, true, fmt.Errorf("%q names no container and path", raw)
		}
		return location(u.Scheme+"://"+u.Host, segs[0], strings.Join(segs[1:], "/"), raw)
	case u.Scheme == "http" && isLoopback(host):
		// The emulator: http://127.0.0.1:{port}/{account}/{container}/{path}
		if len(segs) < 3 || segs[0] == "" || segs[1] == "" {
			return Location{}, true, fmt.Errorf("%q names no account, container and path", raw)
		}
		return location(u.Scheme+"://"+u.Host+"/"+segs[0], segs[1], segs[2], raw)
	}
	return Location{}, true, fmt.Errorf("%q is neither a blob service URL (https://{account}.blob.core.windows.net/...) nor the emulator on loopback", raw)
}

func location(service, containerName, path, raw string) (Location, bool, error) {
	if path == "" && strings.HasSuffix(raw, containerName+"/") {
		// https://{account}.blob.../{container}/: the container's root,
		// a folder.
		return Location{Container: service + "/" + containerName, Name: containerName}, true, nil
	}
	p, err := url.PathUnescape(path)
	if err != nil || p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "//") {
		return Location{}, true, fmt.Errorf("%q: bad blob path", raw)
	}
	// A dot segment would let a location name another's blobs (a report
	// written into its parent's); tools read "\" as "/".
	for _, seg := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if strings.Trim(seg, ".") == "" {
			return Location{}, true, fmt.Errorf("%q: a blob path with a %q segment is refused", raw, seg)
		}
	}
	return Location{Container: service + "/" + containerName, Name: containerName, Path: p}, true, nil
}

// Redact returns s with the query of every URL in it removed: a SAS
// signature must reach no log and no error.
func Redact(s string) string {
	return urlQuery.ReplaceAllString(s, "$1")
}

var urlQuery = regexp.MustCompile(`(?i)(https?://[^\s"'?#]*)[?#][^\s"']*`)

// scrubbed is an error of the service's SDK whose text loses the query of
// the URLs it names (a network error names the signed URL of a SAS
// connection string); errors.Is and As still see the original.
type scrubbed struct{ err error }

func (e scrubbed) Error() string { return Redact(e.err.Error()) }
func (e scrubbed) Unwrap() error { return e.err }

func scrub(err error) error {
	if err == nil {
		return nil
	}
	return scrubbed{err}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Folder reports whether the location names a folder (a prefix, or the
// container's root).
func (l Location) Folder() bool { return l.Path == "" || strings.HasSuffix(l.Path, "/") }

// Prefix is the prefix of the blobs under the location taken as a folder:
// its path with one trailing slash, or nothing at the container's root.
func (l Location) Prefix() string {
	if l.Path == "" {
		return ""
	}
	return strings.TrimSuffix(l.Path, "/") + "/"
}

// Join returns the location of name under a folder location.
func (l Location) Join(name string) Location {
	l.Path = l.Prefix() + name
	return l
}

// String is the location's URL.
func (l Location) String() string { return l.Container + "/" + l.Path }

// Store reads and writes one container.
type Store struct {
	c *container.Client
}

// Credentials say how to reach the service: a connection string
// (AZURE_STORAGE_CONNECTION_STRING) when given, else a token credential
// (audience https://storage.azure.com).
type Credentials struct {
	ConnectionString string
	Token            azcore.TokenCredential
}

// Open returns a store for the location's container.
func Open(l Location, cr Credentials) (*Store, error) {
	var (
		c   *container.Client
		err error
	)
	if cr.ConnectionString != "" {
		c, err = container.NewClientFromConnectionString(cr.ConnectionString, l.Name, nil)
	} else {
		opts := &container.ClientOptions{}
		opts.InsecureAllowCredentialWithHTTP = strings.HasPrefix(l.Container, "http://")
		c, err = container.NewClient(l.Container, cr.Token, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: %s: %w", l.Container, scrub(err))
	}
	return &Store{c: c}, nil
}

// ErrNotFound is returned for a blob that does not exist.
var ErrNotFound = errors.New("blob not found")

// Read returns a blob's content, at most max bytes (ErrTooLarge beyond).
func (s *Store) Read(ctx context.Context, name string, max int64) ([]byte, error) {
	resp, err := s.c.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
			return nil, fmt.Errorf("%s: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("reading %s: %w", name, scrub(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, scrub(err))
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	return data, nil
}

// Object is a blob of a listing.
type Object struct {
	Name     string
	Modified time.Time
}

// List returns the blobs directly under a folder prefix whose names end in
// suffix, oldest first (by last modification, then name).
func (s *Store) List(ctx context.Context, prefix, suffix string) ([]Object, error) {
	all, err := s.ListTree(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(all, func(o Object) bool {
		// Another suffix, or in a sub-folder.
		return !strings.HasSuffix(strings.ToLower(o.Name), suffix) || strings.Contains(strings.TrimPrefix(o.Name, prefix), "/")
	})
	slices.SortFunc(out, func(a, b Object) int {
		if c := a.Modified.Compare(b.Modified); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// Upload writes a whole blob in one request: it appears complete or not
// at all.
func (s *Store) Upload(ctx context.Context, name string, data []byte) error {
	_, err := s.c.NewBlockBlobClient(name).UploadBuffer(ctx, data, nil)
	if err != nil {
		return fmt.Errorf("uploading %s: %w", name, scrub(err))
	}
	return nil
}

// maxAppend is the most an append blob takes in one block.
const maxAppend = 4 << 20

// Journal mirrors a local, append-only file to an append blob.
type Journal struct {
	c *appendblob.Client
	// sent is how much of the local file the blob holds.
	sent int64
}

// Journal returns the mirror of a local journal whose blob held prev
// before the run; local is the file now. When the blob holds a prefix of
// it, the rest is appended; otherwise (a torn last line was cut locally)
// the blob is written anew.
func (s *Store) Journal(ctx context.Context, name string, prev []byte, local io.ReaderAt, size int64) (*Journal, error) {
	j := &Journal{c: s.c.NewAppendBlobClient(name)}
	head := make([]byte, min(int64(len(prev)), size))
	if _, err := local.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, err
	}
	if len(prev) > 0 && int64(len(prev)) <= size && bytes.Equal(head, prev) {
		j.sent = int64(len(prev))
	} else if _, err := j.c.Create(ctx, nil); err != nil {
		return nil, fmt.Errorf("creating %s: %w", name, scrub(err))
	}
	return j, j.Sync(ctx, local, size)
}

// Sync appends the complete lines the local file holds, up to size,
// beyond what was sent. A line still being written is left for the next
// call.
func (j *Journal) Sync(ctx context.Context, local io.ReaderAt, size int64) error {
	for j.sent < size {
		buf := make([]byte, min(size-j.sent, maxAppend))
		n, err := local.ReadAt(buf, j.sent)
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading the journal: %w", err)
		}
		end := bytes.LastIndexByte(buf[:n], '\n')
		if end < 0 {
			return nil
		}
		chunk := buf[:end+1]
		if _, err := j.c.AppendBlock(ctx, streaming.NopCloser(bytes.NewReader(chunk)), nil); err != nil {
			return fmt.Errorf("appending to the journal blob: %w", scrub(err))
		}
		j.sent += int64(len(chunk))
	}
	return nil
}

// ReadIfAny returns a blob's content, or nil when there is none.
func (s *Store) ReadIfAny(ctx context.Context, name string, max int64) ([]byte, error) {
	data, err := s.Read(ctx, name, max)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return data, err
}

// ErrBusy is returned when another run holds the lease.
var ErrBusy = errors.New("another run holds the report location's lease")

// BusyError is ErrBusy with what the lock blob says of the lease's
// holder: the metadata the holder set when it took the lease, and the
// lease's duration ("fixed", "infinite"; "" when it could not be read).
type BusyError struct {
	Metadata map[string]*string
	Duration string
}

func (e *BusyError) Error() string { return ErrBusy.Error() }
func (e *BusyError) Unwrap() error { return ErrBusy }

// RenewEvery is how often a held lease is renewed.
const RenewEvery = LeaseDuration / 3

// Lock is a held lease, renewed in the background until Release.
type Lock struct {
	l      *lease.BlobClient
	bb     *blockblob.Client
	stop   context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	lost   error
	period time.Duration
}

// LeaseDuration is how long a lease lives without renewal: a killed run's
// lock is gone a minute later.
const LeaseDuration = 60 * time.Second

// Lock takes the lease on the named blob (created empty if missing),
// records holder (when not nil) as the blob's metadata, and keeps
// renewing the lease. Another's lease is a *BusyError.
func (s *Store) Lock(ctx context.Context, name string, holder map[string]*string) (*Lock, error) {
	bb := s.c.NewBlockBlobClient(name)
	if _, err := bb.GetProperties(ctx, nil); bloberror.HasCode(err, bloberror.BlobNotFound) {
		if _, err := bb.UploadBuffer(ctx, nil, nil); err != nil && !bloberror.HasCode(err, bloberror.LeaseIDMissing) {
			return nil, fmt.Errorf("creating the lock blob %s: %w", name, scrub(err))
		}
	} else if err != nil {
		return nil, fmt.Errorf("reading the lock blob %s: %w", name, scrub(err))
	}
	lc, err := lease.NewBlobClient(bb, nil)
	if err != nil {
		return nil, scrub(err)
	}
	if _, err := lc.AcquireLease(ctx, int32(LeaseDuration/time.Second), nil); err != nil {
		if bloberror.HasCode(err, bloberror.LeaseAlreadyPresent) {
			busy := &BusyError{}
			if props, err := bb.GetProperties(ctx, nil); err == nil {
				busy.Metadata = props.Metadata
				if props.LeaseDuration != nil {
					busy.Duration = string(*props.LeaseDuration)
				}
			}
			return nil, busy
		}
		return nil, fmt.Errorf("taking the lease on %s: %w", name, scrub(err))
	}
	if holder != nil {
		// Advice for a run refused meanwhile: the lease holds without it.
		_, _ = bb.SetMetadata(ctx, holder, &azb.SetMetadataOptions{AccessConditions: leased(lc)})
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	l := &Lock{l: lc, bb: bb, stop: stop, done: make(chan struct{}), period: RenewEvery}
	go l.renew(rctx)
	return l, nil
}

func (l *Lock) renew(ctx context.Context) {
	defer close(l.done)
	t := time.NewTicker(l.period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := l.l.RenewLease(ctx, nil); err != nil && ctx.Err() == nil {
			l.mu.Lock()
			l.lost = scrub(err)
			l.mu.Unlock()
		}
	}
}

// Lost returns the error of a failed renewal, if any.
func (l *Lock) Lost() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// leased are the access conditions of a request under lc's lease.
func leased(lc *lease.BlobClient) *azb.AccessConditions {
	return &azb.AccessConditions{LeaseAccessConditions: &azb.LeaseAccessConditions{LeaseID: lc.LeaseID()}}
}

// Release stops renewing, clears the holder's record and gives the lease
// back.
func (l *Lock) Release(ctx context.Context) error {
	l.stop()
	<-l.done
	_, _ = l.bb.SetMetadata(ctx, nil, &azb.SetMetadataOptions{AccessConditions: leased(l.l)})
	if _, err := l.l.ReleaseLease(ctx, nil); err != nil {
		return fmt.Errorf("releasing the lease: %w", scrub(err))
	}
	return nil
}

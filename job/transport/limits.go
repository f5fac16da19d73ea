package transport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// What a service's answer may make the job do is bounded: a request goes
// only to the configured endpoints (the token with it), a listing follows
// at most MaxPages pages and never the same page twice, and a successful
// answer holds at most MaxBody bytes.

// MaxPages is how many pages one listing may take. Graph pages hold up to
// 999 objects, ARM's a few hundred: a thousand pages is far beyond any
// principal's assignments.
const MaxPages = 1000

// MaxBody is the largest successful answer the transport reads: Graph
// pages (999 objects at most) and ARM pages are far smaller.
const MaxBody = maxBuffered

// ErrTooLarge is the error of an attempt whose successful answer is longer
// than MaxBody. It is final: the same request gets the same answer.
var ErrTooLarge = fmt.Errorf("the answer is larger than %d MiB", MaxBody>>20)

// ErrOtherHost is the error of a request to a scheme and host that is not
// one of the transport's Endpoints: it is refused, never sent.
var ErrOtherHost = errors.New("refusing a request to a host other than the configured endpoint")

// ErrListingLoops is the error of a listing whose next page is one it has
// already read, or that runs past MaxPages pages.
var ErrListingLoops = errors.New("the listing does not end")

// origin is a URL's scheme and host, lower-cased, without the scheme's
// default port: what the token is bound to.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	switch port := u.Port(); {
	case port == "", scheme == "https" && port == "443", scheme == "http" && port == "80":
	default:
		host += ":" + port
	}
	return scheme + "://" + host
}

// allowed reports whether u may be sent to: with no Endpoints, anywhere.
func (t *Transport) allowed(u *url.URL) error {
	if len(t.Endpoints) == 0 {
		return nil
	}
	got := origin(u)
	for _, e := range t.Endpoints {
		if eu, err := url.Parse(e); err == nil && origin(eu) == got {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is not %s", ErrOtherHost, got, strings.Join(t.Endpoints, " or "))
}

// pages is one listing's record of the pages it asked for.
type pages struct {
	mu   sync.Mutex
	seen map[string]bool
}

type pagesKey struct{}

// Listing returns a context for one listing: every GET the transport
// sends with it is a page of that listing, and a page asked for twice, or
// one beyond MaxPages, is refused with ErrListingLoops before it is sent.
// A listing's first page and each @odata.nextLink or nextLink it follows
// are sent with the one context.
func Listing(ctx context.Context) context.Context {
	return context.WithValue(ctx, pagesKey{}, &pages{seen: map[string]bool{}})
}

// visit records a page of the listing ctx belongs to, if any.
func visit(ctx context.Context, req *http.Request) error {
	if !isRead(req.Method) {
		return nil
	}
	return Page(ctx, req.URL.String(), req.URL.Path)
}

// Page records a page of the listing ctx belongs to (Listing), if any, by
// what names it: a page asked for twice, or one beyond MaxPages, is
// ErrListingLoops, the error naming it by shown. The transport records
// every GET itself; Page is for a listing whose requests do not go
// through a Transport (Blob Storage's, by its continuation marker).
func Page(ctx context.Context, page, shown string) error {
	p, ok := ctx.Value(pagesKey{}).(*pages)
	if !ok {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.seen[page]:
		return fmt.Errorf("%w: its next page is one it has already read (%s)", ErrListingLoops, shown)
	case len(p.seen) >= MaxPages:
		return fmt.Errorf("%w: more than %d pages", ErrListingLoops, MaxPages)
	}
	p.seen[page] = true
	return nil
}

package transport

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// expiringCredential issues a new token on every GetToken, valid for an
// hour of the fake clock, and remembers when each one expires.
type expiringCredential struct {
	clock   *fakeClock
	mu      sync.Mutex
	issued  map[string]time.Time
	scopes  []string
	refresh int
}

func (c *expiringCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh++
	tok := fmt.Sprintf("token-%d", c.refresh)
	exp := c.clock.Now().Add(time.Hour)
	c.issued[tok] = exp
	c.scopes = append(c.scopes, o.Scopes...)
	return azcore.AccessToken{Token: tok, ExpiresOn: exp}, nil
}

// valid reports whether tok was issued and has not expired by the clock.
func (c *expiringCredential) valid(tok string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.issued[tok]
	return ok && c.clock.Now().Before(exp)
}

// TestTokenCacheRefreshesBeforeExpiry drives a run of five hours (on a fake
// clock) through the job's transport to a service that refuses expired
// tokens as Graph does (401 InvalidAuthenticationToken): the cache hands
// out a token until five minutes before it expires, then a new one, so no
// request is ever refused and no 401 can reach a row.
func TestTokenCacheRefreshesBeforeExpiry(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)}
	cred := &expiringCredential{clock: clock, issued: map[string]time.Time{}}
	var mu sync.Mutex
	used := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		used[tok]++
		mu.Unlock()
		if !cred.valid(tok) {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired."}}`)
			return
		}
		io.WriteString(w, `{"value":[]}`)
	}))
	defer srv.Close()

	creds := Credentials{cred: cred, now: clock.Now}
	tr := &Transport{Base: http.DefaultTransport, Token: creds.ForAudience(srv.URL + "/"), MaxAttempts: 1}
	const step = 7 * time.Minute
	requests := 0
	for elapsed := time.Duration(0); elapsed <= 5*time.Hour; elapsed += step {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1.0/roleManagement/directory/roleAssignments", nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		requests++
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("after %v: HTTP %d: an expired token was sent", elapsed, resp.StatusCode)
		}
		clock.Advance(step)
	}
	// One token per 55 minutes (an hour less the five-minute margin), not
	// one per request.
	if cred.refresh < 5 || cred.refresh > 7 || cred.refresh >= requests {
		t.Errorf("%d tokens for %d requests over five hours, want about one per 55 minutes", cred.refresh, requests)
	}
	if len(used) != cred.refresh {
		t.Errorf("%d distinct tokens sent, %d issued: every refreshed token is used", len(used), cred.refresh)
	}
	for _, s := range cred.scopes {
		if s != srv.URL+"/.default" {
			t.Errorf("token asked for scope %q, want %q", s, srv.URL+"/.default")
		}
	}
}

func TestOIDOf(t *testing.T) {
	// header.payload.signature with payload {"oid":"AAAAAAAA-1111-2222-3333-444444444444"}
	tok := "eyJhbGciOiJub25lIn0.eyJvaWQiOiJBQUFBQUFBQS0xMTExLTIyMjItMzMzMy00NDQ0NDQ0NDQ0NDQifQ.x"
	if id, err := OIDOf(tok); err != nil || id != "aaaaaaaa-1111-2222-3333-444444444444" {
		t.Errorf("OIDOf = %q, %v", id, err)
	}
	for _, bad := range []string{"opaque", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.x"} {
		if _, err := OIDOf(bad); err == nil {
			t.Errorf("OIDOf(%q) accepted", bad)
		}
	}
}

// TestOneTokenCachePerAudience: the job learns its own id and calls Graph
// with two token sources of one audience; a credential that does not cache
// (the Azure CLI's) must be asked once, not once per source.
func TestOneTokenCachePerAudience(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)}
	cred := &expiringCredential{clock: clock, issued: map[string]time.Time{}}
	creds := Credentials{cred: cred, now: clock.Now, audiences: &audiences{byRoot: map[string]TokenSource{}}}
	for _, src := range []TokenSource{creds.ForAudience("https://graph.example"), creds.ForAudience("https://graph.example"),
		creds.ForAudience("https://arm.example")} {
		if _, err := src(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if cred.refresh != 2 {
		t.Errorf("%d tokens asked for two audiences, want 2", cred.refresh)
	}
}

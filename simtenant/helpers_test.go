package simtenant

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is a tenant served on a loopback port, with a client carrying its
// token.
type harness struct {
	t      *testing.T
	tenant *Tenant
	server *Server
	http   *http.Client
}

func start(t *testing.T, cfg Config) *harness {
	t.Helper()
	tenant := New(cfg)
	return serveTenant(t, tenant)
}

func serveTenant(t *testing.T, tenant *Tenant) *harness {
	t.Helper()
	srv, err := tenant.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &harness{t: t, tenant: tenant, server: srv, http: &http.Client{Timeout: 30 * time.Second}}
}

// answer is a response read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic map.
func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", a.body, err)
	}
	return m
}

// errorCode returns the code of either error shape.
func (a answer) errorCode(t *testing.T) string {
	t.Helper()
	m := a.json(t)
	if e, ok := m["error"].(map[string]any); ok {
		return e["code"].(string)
	}
	if e, ok := m["odata.error"].(map[string]any); ok {
		return e["code"].(string)
	}
	t.Fatalf("no error in %s", a.body)
	return ""
}

// errorMessage returns the message of either error shape.
func (a answer) errorMessage(t *testing.T) string {
	t.Helper()
	m := a.json(t)
	if e, ok := m["error"].(map[string]any); ok {
		return e["message"].(string)
	}
	if e, ok := m["odata.error"].(map[string]any); ok {
		return e["message"].(map[string]any)["value"].(string)
	}
	t.Fatalf("no error in %s", a.body)
	return ""
}

type reqOption func(*http.Request)

func withHeader(k, v string) reqOption { return func(r *http.Request) { r.Header.Set(k, v) } }

func noAuth() reqOption { return func(r *http.Request) { r.Header.Del("Authorization") } }

func withBody(b []byte) reqOption {
	return func(r *http.Request) {
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
	}
}

// do sends a request to a path (relative to the server) or an absolute URL.
func (h *harness) do(method, target string, opts ...reqOption) answer {
	h.t.Helper()
	a, err := h.try(context.Background(), method, target, opts...)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, target, err)
	}
	return a
}

func (h *harness) try(ctx context.Context, method, target string, opts ...reqOption) (answer, error) {
	if !strings.HasPrefix(target, "http") {
		target = h.server.URL() + target
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+h.tenant.Token())
	for _, o := range opts {
		o(req)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: body}, err
}

// values returns the "value" array of a list answer.
func values(t *testing.T, a answer) []map[string]any {
	t.Helper()
	var page struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(a.body, &page); err != nil {
		t.Fatalf("list body %q: %v", a.body, err)
	}
	return page.Value
}

func ids(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["id"].(string))
	}
	return out
}

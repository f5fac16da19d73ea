package simtenant

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestToken(t *testing.T) {
	tn := New(Config{Seed: 5})
	parts := strings.Split(tn.Token(), ".")
	if len(parts) != 3 || parts[2] == "" {
		t.Fatalf("token %q is not a three-part JWT", tn.Token())
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	if claims["oid"] != tn.CallerID() || claims["tid"] != tn.TenantID() ||
		claims["aud"] != "https://graph.microsoft.com" || claims["appid"] != tn.CallerAppID() {
		t.Fatalf("claims %v", claims)
	}
	if exp := int64(claims["exp"].(float64)); exp < time.Now().Add(50*365*24*time.Hour).Unix() {
		t.Fatalf("exp %d is not far in the future", exp)
	}
	if _, ok := tn.ServicePrincipal(tn.CallerID()); !ok {
		t.Fatal("the caller is not a service principal of the tenant")
	}
	if New(Config{Seed: 5}).Token() != tn.Token() {
		t.Fatal("same seed, different token")
	}
}

func TestAuthentication(t *testing.T) {
	h := start(t, Config{})
	tests := []struct {
		name    string
		opts    []reqOption
		message string
	}{
		{"no header", []reqOption{noAuth()}, "Access token is empty."},
		{"empty bearer", []reqOption{withHeader("Authorization", "Bearer ")}, "Access token is empty."},
		{"wrong token", []reqOption{withHeader("Authorization", "Bearer abc.def.ghi")}, "Access token validation failure."},
		{"wrong scheme", []reqOption{withHeader("Authorization", "Basic "+h.tenant.Token())}, "Access token validation failure."},
	}
	for _, tt := range tests {
		a := h.do("GET", assignmentsPath, tt.opts...)
		if a.status != 401 || a.errorCode(t) != "InvalidAuthenticationToken" || a.errorMessage(t) != tt.message {
			t.Errorf("%s: %d %s", tt.name, a.status, a.body)
		}
	}
	if a := h.do("GET", assignmentsPath, withHeader("Authorization", "bearer "+h.tenant.Token())); a.status != 200 {
		t.Errorf("lower-case scheme: %d", a.status)
	}
	if a := h.do("DELETE", assignmentsPath+"/x-1", noAuth()); a.status != 401 {
		t.Errorf("DELETE without token: %d", a.status)
	}
}

func TestRoutingAndErrorShapes(t *testing.T) {
	h := start(t, Config{})
	a := h.do("GET", "/v1.0/nothingHere/x")
	if a.status != 400 || a.errorCode(t) != "BadRequest" || a.errorMessage(t) != "Resource not found for the segment 'nothingHere'." {
		t.Errorf("unknown route: %d %s", a.status, a.body)
	}
	a = h.do("GET", "/v1.0/roleManagement/directory/nope")
	if a.errorMessage(t) != "Resource not found for the segment 'nope'." {
		t.Errorf("unknown leaf: %s", a.body)
	}
	a = h.do("POST", assignmentsPath+"/x-1")
	if a.status != 405 || a.header.Get("Allow") == "" {
		t.Errorf("wrong method: %d %v %s", a.status, a.header, a.body)
	}
	if a := h.do("GET", "/V1.0/RoleManagement/Directory/RoleAssignments"); a.status != 200 {
		t.Errorf("segments are case-insensitive in Graph: %d", a.status)
	}

	a = h.do("GET", "/v1.0/users/nobody", withHeader("client-request-id", "abc-123"))
	if a.header.Get("request-id") == "" || a.header.Get("client-request-id") != "abc-123" {
		t.Errorf("headers %v", a.header)
	}
	if a.header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q", a.header.Get("Content-Type"))
	}
	inner := a.json(t)["error"].(map[string]any)["innerError"].(map[string]any)
	if inner["request-id"] != a.header.Get("request-id") || inner["client-request-id"] != "abc-123" {
		t.Errorf("innerError %v", inner)
	}

	legacy := start(t, Config{LegacyErrors: true})
	a = legacy.do("DELETE", assignmentsPath+"/gone-1")
	e, ok := a.json(t)["odata.error"].(map[string]any)
	if !ok || e["code"] != "Request_ResourceNotFound" {
		t.Fatalf("legacy: %s", a.body)
	}
	if msg := e["message"].(map[string]any); msg["lang"] != "en" || !strings.HasPrefix(msg["value"].(string), "Resource 'gone-1'") {
		t.Fatalf("legacy message %v", msg)
	}
}

func gzipped(t *testing.T, s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGzipRequestBody(t *testing.T) {
	h := start(t, Config{})
	a1 := h.tenant.AddRoleAssignment(RoleAssignment{PrincipalID: h.tenant.NewID(), RoleDefinitionID: SecurityReader})
	body := `{"justification":"offboarding"}`
	a := h.do("DELETE", assignmentsPath+"/"+a1.ID, withHeader("Content-Encoding", "gzip"), withBody(gzipped(t, body)))
	if a.status != 204 {
		t.Fatalf("gzip body: %d %s", a.status, a.body)
	}
	reqs := h.tenant.Requests()
	if got := string(reqs[len(reqs)-1].Body); got != body {
		t.Fatalf("logged body %q", got)
	}

	a2 := h.tenant.AddRoleAssignment(RoleAssignment{PrincipalID: h.tenant.NewID(), RoleDefinitionID: SecurityReader})
	a = h.do("DELETE", assignmentsPath+"/"+a2.ID, withHeader("Content-Encoding", "gzip"), withBody([]byte("not gzip at all")))
	if a.status != 400 || a.errorCode(t) != "BadRequest" {
		t.Fatalf("broken gzip: %d %s", a.status, a.body)
	}
	if _, ok := h.tenant.RoleAssignment(a2.ID); !ok {
		t.Fatal("a request with a broken body changed the tenant")
	}
}

func TestThrottleWrites(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, WriteRate: 0.4, WriteBurst: 2}) // a token every 2.5 s
	tn := h.tenant
	var as []RoleAssignment
	for range 4 {
		as = append(as, tn.AddRoleAssignment(RoleAssignment{PrincipalID: tn.NewID(), RoleDefinitionID: SecurityReader}))
	}
	del := func(a RoleAssignment) answer { return h.do("DELETE", assignmentsPath+"/"+a.ID) }
	if del(as[0]).status != 204 || del(as[1]).status != 204 {
		t.Fatal("burst refused")
	}
	a := del(as[2])
	if a.status != 429 {
		t.Fatalf("over the burst: %d", a.status)
	}
	if a.header.Get("Retry-After") != "3" { // ceil(2.5 s)
		t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
	}
	if a.header.Get("x-ms-throttle-information") != "WriteLimitExceeded" ||
		a.header.Get("x-ms-throttle-scope") != "Tenant_Application/ReadWrite/"+tn.TenantID()+"/"+tn.CallerAppID() {
		t.Errorf("headers %v", a.header)
	}
	if a.errorCode(t) != "TooManyRequests" {
		t.Errorf("body %s", a.body)
	}
	if _, ok := tn.RoleAssignment(as[2].ID); !ok {
		t.Fatal("a throttled DELETE removed the assignment")
	}
	// Reads have their own bucket.
	if a := h.do("GET", assignmentsPath); a.status != 200 {
		t.Fatalf("read after write throttling: %d", a.status)
	}
	clk.Advance(2400 * time.Millisecond)
	if a := del(as[2]); a.status != 429 {
		t.Fatalf("before the token is back: %d", a.status)
	}
	clk.Advance(100 * time.Millisecond)
	if a := del(as[2]); a.status != 204 {
		t.Fatalf("after the token is back: %d %s", a.status, a.body)
	}
	s := tn.Stats()
	if s.Throttled != 2 || s.ByMethodStatus["DELETE"][429] != 2 || s.ByStatus[204] != 3 {
		t.Fatalf("stats %+v", s)
	}
	// Both retries came back before the Retry-After (3 s) they were given
	// had passed on the tenant's clock.
	if v := tn.Violations(); len(v) != 2 || !strings.Contains(v[0], "before the Retry-After") {
		t.Fatalf("violations %q", v)
	}
}

func TestThrottleReads(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now, ReadRU: 4, ReadWindow: 8 * time.Second}) // 1 RU per 2 s
	// $expand costs 2, $select+$expand 1, plain 1: 4 RU.
	for _, q := range []string{"?$expand=principal", "?$select=id&$expand=principal", ""} {
		if a := h.do("GET", assignmentsPath+q); a.status != 200 {
			t.Fatalf("%s: %d", q, a.status)
		}
	}
	a := h.do("GET", assignmentsPath+"?$expand=principal")
	if a.status != 429 || a.header.Get("x-ms-throttle-information") != "ResourceUnitLimitExceeded" || a.header.Get("Retry-After") != "4" {
		t.Fatalf("%d %v", a.status, a.header)
	}
	clk.Advance(2 * time.Second)
	if a := h.do("GET", "/v1.0/users/nobody?$select=id"); a.status != 404 {
		t.Fatalf("one RU back: %d", a.status)
	}
	if a := h.do("DELETE", assignmentsPath+"/x-1"); a.status != 404 {
		t.Fatalf("writes are not charged to reads: %d", a.status)
	}
}

func TestReadCost(t *testing.T) {
	tests := map[string]int{
		"":                        1,
		"$select=id":              1,
		"$expand=principal":       2,
		"$select=id&$expand=x":    1,
		"$filter=principalId+eq+": 1,
	}
	for q, want := range tests {
		v, _ := url.ParseQuery(q)
		if got := readCost(v); got != want {
			t.Errorf("readCost(%q) = %d, want %d", q, got, want)
		}
	}
}

func TestThrottleOff(t *testing.T) {
	h := start(t, Config{ReadRU: -1, WriteRate: -1})
	for range 50 {
		if a := h.do("DELETE", assignmentsPath+"/x-1"); a.status != 404 {
			t.Fatalf("%d", a.status)
		}
	}
}

func TestRules(t *testing.T) {
	h := start(t, Config{})
	tn := h.tenant
	x := tn.AddRoleAssignment(RoleAssignment{PrincipalID: tn.NewID(), RoleDefinitionID: SecurityReader})
	y := tn.AddRoleAssignment(RoleAssignment{PrincipalID: tn.NewID(), RoleDefinitionID: SecurityReader})
	z := tn.AddRoleAssignment(RoleAssignment{PrincipalID: tn.NewID(), RoleDefinitionID: SecurityReader})

	t.Run("first DELETE of X gets 429", func(t *testing.T) {
		tn.AddRule(Rule{Method: "DELETE", PathContains: x.ID, Times: 1, Status: 429, Header: http.Header{"Retry-After": {"2"}}})
		a := h.do("DELETE", assignmentsPath+"/"+x.ID)
		if a.status != 429 || a.header.Get("Retry-After") != "2" || a.errorCode(t) != "TooManyRequests" {
			t.Fatalf("%d %v %s", a.status, a.header, a.body)
		}
		if _, ok := tn.RoleAssignment(x.ID); !ok {
			t.Fatal("a scripted 429 changed the tenant")
		}
		if a := h.do("GET", assignmentsPath+"/"+x.ID); a.status != 200 {
			t.Fatalf("rule matched a GET: %d", a.status)
		}
		// An honest client would wait 2 s; the tenant notices it did not.
		if a := h.do("DELETE", assignmentsPath+"/"+x.ID); a.status != 204 {
			t.Fatalf("rule not used up: %d", a.status)
		}
		if v := tn.Violations(); len(v) != 1 {
			t.Fatalf("violations %q", v)
		}
	})

	t.Run("every request 503 three times", func(t *testing.T) {
		tn.ClearRules()
		tn.AddRule(Rule{Times: 3, Status: 503})
		var got []int
		for range 4 {
			got = append(got, h.do("GET", "/v1.0/users/nobody").status)
		}
		if fmt.Sprint(got) != "[503 503 503 404]" {
			t.Fatalf("statuses %v", got)
		}
	})

	t.Run("403 for Y, legacy for Z, malformed JSON", func(t *testing.T) {
		tn.ClearRules()
		tn.AddRule(Rule{PathContains: y.ID, Status: 403})
		tn.AddRule(Rule{PathContains: z.ID, Legacy: true})
		tn.AddRule(Rule{Method: "GET", QueryContains: "principalId eq 'broken'", Status: 200, Body: `{"value":[`})
		a := h.do("DELETE", assignmentsPath+"/"+y.ID)
		if a.status != 403 || a.errorCode(t) != "Authorization_RequestDenied" {
			t.Fatalf("403: %d %s", a.status, a.body)
		}
		a = h.do("GET", assignmentsPath+"/"+z.ID+"-nope")
		if a.status != 404 || !bytes.Contains(a.body, []byte(`"odata.error"`)) {
			t.Fatalf("legacy: %d %s", a.status, a.body)
		}
		if a := h.do("DELETE", assignmentsPath+"/"+z.ID); a.status != 204 {
			t.Fatalf("legacy rule must not answer by itself: %d", a.status)
		}
		a = h.do("GET", assignmentsPath+"?$filter="+url.QueryEscape("principalId eq 'broken'"))
		if a.status != 200 || string(a.body) != `{"value":[` {
			t.Fatalf("malformed: %d %s", a.status, a.body)
		}
		if _, ok := tn.RoleAssignment(y.ID); !ok {
			t.Fatal("403 changed the tenant")
		}
	})

	t.Run("custom code and hooks", func(t *testing.T) {
		tn.ClearRules()
		var before, after atomic.Int32
		var afterStatus atomic.Int32
		tn.AddRule(Rule{Method: "GET", PathContains: "/users/", Times: 1, Status: 400, Code: "Request_UnsupportedQuery", Message: "nope",
			Before: func(*http.Request) { before.Add(1) },
			After:  func(_ *http.Request, status int) { after.Add(1); afterStatus.Store(int32(status)) }})
		a := h.do("GET", "/v1.0/users/someone")
		if a.errorCode(t) != "Request_UnsupportedQuery" || a.errorMessage(t) != "nope" {
			t.Fatalf("%s", a.body)
		}
		if before.Load() != 1 || after.Load() != 1 || afterStatus.Load() != 400 {
			t.Fatalf("hooks %d %d %d", before.Load(), after.Load(), afterStatus.Load())
		}
		h.do("GET", "/v1.0/users/someone")
		if before.Load() != 1 {
			t.Fatal("a used-up rule ran again")
		}
	})

	t.Run("reset", func(t *testing.T) {
		tn.ClearRules()
		tn.AddRule(Rule{Method: "DELETE", Times: 1, Reset: true})
		v := tn.AddRoleAssignment(RoleAssignment{PrincipalID: tn.NewID(), RoleDefinitionID: SecurityReader})
		if _, err := h.try(context.Background(), "DELETE", assignmentsPath+"/"+v.ID); err == nil {
			t.Fatal("a reset connection gave an answer")
		}
		if _, ok := tn.RoleAssignment(v.ID); !ok {
			t.Fatal("reset changed the tenant")
		}
		reqs := tn.Requests()
		if last := reqs[len(reqs)-1]; last.Method != "DELETE" || last.Status != 0 {
			t.Fatalf("logged %+v", last)
		}
		if a := h.do("DELETE", assignmentsPath+"/"+v.ID); a.status != 204 {
			t.Fatalf("after reset: %d", a.status)
		}
	})

	t.Run("delay only", func(t *testing.T) {
		tn.ClearRules()
		tn.AddRule(Rule{Times: 1, Delay: time.Millisecond})
		if a := h.do("GET", "/v1.0/users/nobody"); a.status != 404 {
			t.Fatalf("%d", a.status)
		}
	})
	tn.ClearRules()
}

// TestFaultDeterminism sends the same requests to two tenants with the same
// seed, one in order and one concurrently in another order: each (request,
// attempt) must get the same answer.
func TestFaultDeterminism(t *testing.T) {
	run := func(seed uint64, concurrent bool) map[string]int {
		h := start(t, Config{Seed: seed, FaultRate: 0.3})
		paths := make([]string, 30)
		for i := range paths {
			paths[i] = fmt.Sprintf("/v1.0/users/user%d@contoso.onmicrosoft.com", i)
		}
		out := map[string]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		send := func(p string) {
			defer wg.Done()
			var got []int
			for range 3 { // the attempts of one path are sequential
				got = append(got, h.do("GET", p).status)
			}
			mu.Lock()
			for n, s := range got {
				out[fmt.Sprintf("%s#%d", p, n)] = s
			}
			mu.Unlock()
		}
		for i := range paths {
			wg.Add(1)
			if concurrent {
				go send(paths[len(paths)-1-i])
			} else {
				send(paths[i])
			}
		}
		wg.Wait()
		return out
	}
	a, b := run(11, false), run(11, true)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
	faults := 0
	for _, s := range a {
		if s >= 500 {
			faults++
		} else if s != 404 {
			t.Fatalf("unexpected status %d", s)
		}
	}
	if faults == 0 || faults == len(a) {
		t.Fatalf("%d faults of %d requests at rate 0.3", faults, len(a))
	}
	if c := run(12, false); fmt.Sprint(c) == fmt.Sprint(a) {
		t.Fatal("another seed gave the same faults")
	}
}

func TestLatencyHonoursCancellation(t *testing.T) {
	tn := New(Config{Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "GET", assignmentsPath, nil)
	req.Header.Set("Authorization", "Bearer "+tn.Token())
	done := make(chan struct{})
	go func() {
		tn.Handler().ServeHTTP(httptest.NewRecorder(), req)
		close(done)
	}()
	cancel()
	<-done // the test's own timeout catches a handler that ignores ctx
	if r := tn.Requests(); len(r) != 1 || r[0].Status != 0 {
		t.Fatalf("log %+v", r)
	}
}

// TestLatencyAndJitter: every answer is held back for Latency plus a
// jitter in [0, Jitter) drawn from the seed: the delays the tenant asks
// for are those a twin tenant of the same seed draws, and they vary.
func TestLatencyAndJitter(t *testing.T) {
	const latency, jitter = 5 * time.Millisecond, 3 * time.Millisecond
	cfg := Config{Seed: 7, Latency: latency, Jitter: jitter}
	tn, twin := New(cfg), New(cfg)
	var got []time.Duration
	tn.delay = func(_ *call, d time.Duration) bool {
		got = append(got, d)
		return true
	}
	var want []time.Duration
	for range 20 {
		req := httptest.NewRequest("GET", assignmentsPath, nil)
		req.Header.Set("Authorization", "Bearer "+tn.Token())
		rec := httptest.NewRecorder()
		tn.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%d", rec.Code)
		}
		want = append(want, twin.latency())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("delays %v, want the seed's %v", got, want)
	}
	distinct := map[time.Duration]bool{}
	for _, d := range got {
		if d < latency || d >= latency+jitter {
			t.Errorf("delay %s outside [%s, %s)", d, latency, latency+jitter)
		}
		distinct[d] = true
	}
	if len(distinct) < 10 {
		t.Errorf("%d distinct delays in 20: the jitter is not applied", len(distinct))
	}
}

// TestWaitsOnTheConfiguredClock: with Now and SleepUntil set, latency and
// a rule's Delay pass on that clock, not on real timers.
func TestWaitsOnTheConfiguredClock(t *testing.T) {
	start := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := start
	var slept []time.Duration
	tn := New(Config{Latency: time.Hour, Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}, SleepUntil: func(ctx context.Context, until time.Time) error {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, until.Sub(now))
		now = until
		return ctx.Err()
	}})
	tn.AddRule(Rule{Method: "GET", Times: 1, Delay: 4 * time.Second})
	req := httptest.NewRequest("GET", assignmentsPath, nil)
	req.Header.Set("Authorization", "Bearer "+tn.Token())
	rec := httptest.NewRecorder()
	tn.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("%d", rec.Code)
	}
	if want := []time.Duration{time.Hour, 4 * time.Second}; !slices.Equal(slept, want) {
		t.Errorf("slept %v on the tenant's clock, want the latency, then the rule's delay: %v", slept, want)
	}
	if got := tn.Now().Sub(start); got != time.Hour+4*time.Second {
		t.Errorf("the clock moved %s", got)
	}
}

func TestServerStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	tn := New(Config{})
	srv, err := tn.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %q", srv.URL())
	}
	cancel()
	// Once ctx is done the listener closes; poll without timing
	// assumptions until a request fails.
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		resp, err := client.Get(srv.URL() + assignmentsPath)
		if err != nil {
			break
		}
		resp.Body.Close()
		select {
		case <-t.Context().Done():
			t.Fatal("server still serving")
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := srv.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
}

func TestRequestLogAndReset(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Now: clk.Now})
	h.do("GET", assignmentsPath+"?$top=5", withHeader("ConsistencyLevel", "eventual"))
	r := h.tenant.Requests()
	if len(r) != 1 || r[0].Method != "GET" || r[0].Path != assignmentsPath || r[0].RawQuery != "$top=5" ||
		r[0].Status != 200 || !r[0].At.Equal(clk.Now()) || r[0].Header.Get("ConsistencyLevel") != "eventual" ||
		r[0].Header.Get("Authorization") == "" {
		t.Fatalf("log %+v", r)
	}
	if s := h.tenant.Stats(); s.Requests != 1 || s.ByMethod["GET"] != 1 || s.ByStatus[200] != 1 {
		t.Fatalf("stats %+v", s)
	}
	h.tenant.ResetRequests()
	if len(h.tenant.Requests()) != 0 || h.tenant.Stats().Requests != 0 {
		t.Fatal("not reset")
	}
	h.do("GET", assignmentsPath)
	if r := h.tenant.Requests(); len(r) != 1 || r[0].Status != 200 {
		t.Fatalf("after reset %+v", r)
	}
}

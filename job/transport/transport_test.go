package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offboard/offboard/job"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header map[string]string
		want   time.Duration
	}{
		{"none", nil, 0},
		{"seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{"fractional seconds", map[string]string{"Retry-After": "0.5"}, 500 * time.Millisecond},
		{"http date", map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, 90 * time.Second},
		{"http date in the past", map[string]string{"Retry-After": now.Add(-time.Minute).Format(http.TimeFormat)}, 0},
		{"x-ms-retry-after-ms wins", map[string]string{"Retry-After": "10", "x-ms-retry-after-ms": "1500"}, 1500 * time.Millisecond},
		{"retry-after-ms", map[string]string{"retry-after-ms": "250"}, 250 * time.Millisecond},
		{"garbage", map[string]string{"Retry-After": "soon"}, 0},
		{"negative", map[string]string{"Retry-After": "-3"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			if got := RetryAfter(h, now); got != tt.want {
				t.Errorf("RetryAfter = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		status    int
		retry     bool
		throttled bool
	}{
		{200, false, false}, {204, false, false}, {400, false, false}, {401, false, false},
		{403, false, false}, {404, false, false}, {409, false, false},
		{429, true, true}, {500, true, false}, {502, true, false}, {503, true, false}, {504, true, false},
		{501, false, false},
	}
	for _, tt := range tests {
		v := Classify(&http.Response{StatusCode: tt.status, Header: http.Header{}}, nil)
		if v.Retry != tt.retry || v.Throttled() != tt.throttled {
			t.Errorf("status %d: retry=%v throttled=%v, want %v %v", tt.status, v.Retry, v.Throttled(), tt.retry, tt.throttled)
		}
	}
	if v := Classify(nil, io.ErrUnexpectedEOF); !v.Retry {
		t.Error("a network error must be retried")
	}
	h := http.Header{}
	h.Set("Retry-After", "3")
	if v := Classify(&http.Response{StatusCode: 503, Header: h}, nil); !v.Throttled() || v.After != 3*time.Second {
		t.Errorf("503 with Retry-After: %+v, want throttled after 3s", v)
	}
}

// script answers requests from a list of statuses, then 200.
type script struct {
	mu       sync.Mutex
	statuses []int
	headers  []http.Header
	arrivals []time.Time
	bodies   []string
	auth     []string
	// now stamps the arrivals; nil: time.Now.
	now func() time.Time
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	s.bodies = append(s.bodies, string(b))
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	at := time.Now()
	if s.now != nil {
		at = s.now()
	}
	s.arrivals = append(s.arrivals, at)
	n := len(s.arrivals) - 1
	if n < len(s.statuses) {
		for k, v := range s.headers[n] {
			w.Header()[k] = v
		}
		w.WriteHeader(s.statuses[n])
		return
	}
	w.WriteHeader(http.StatusOK)
}

func newScript(pairs ...any) *script {
	s := &script{}
	for i := 0; i < len(pairs); i += 2 {
		s.statuses = append(s.statuses, pairs[i].(int))
		h := http.Header{}
		if ra := pairs[i+1].(string); ra != "" {
			h.Set("Retry-After", ra)
		}
		s.headers = append(s.headers, h)
	}
	return s
}

// The transport, its pace and the server share a virtual clock: the
// Retry-After is waited for on it, not slept.
func TestRoundTripRetriesAndHonoursRetryAfter(t *testing.T) {
	clk := newJumpClock()
	srv := newScript(429, "1", 503, "", 500, "")
	srv.now = clk.Now
	ts := httptest.NewServer(srv)
	defer ts.Close()
	var tokens atomic.Int32
	pace := job.NewPaceOn(clk, &job.Gate{}, 0, 1)
	tr := &Transport{
		Base:        http.DefaultTransport,
		Clock:       clk,
		MaxAttempts: 5,
		BaseDelay:   time.Millisecond,
		Pace:        func(*http.Request) *job.Pace { return pace },
		Token: func(context.Context) (string, error) {
			tokens.Add(1)
			return "tok", nil
		},
	}
	ctx, n := job.WithAttempts(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+"/x", strings.NewReader("body"))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200 after retries", resp.StatusCode)
	}
	if got := n.Load(); got != 4 {
		t.Errorf("attempts = %d, want 4", got)
	}
	if gap := srv.arrivals[1].Sub(srv.arrivals[0]); gap < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1, want at least 1s", gap)
	}
	for i, b := range srv.bodies {
		if b != "body" {
			t.Errorf("attempt %d sent body %q, want it replayed", i+1, b)
		}
		if srv.auth[i] != "Bearer tok" {
			t.Errorf("attempt %d Authorization %q", i+1, srv.auth[i])
		}
	}
	if tokens.Load() != 4 {
		t.Errorf("token asked %d times, want once per attempt", tokens.Load())
	}
}

func TestRoundTripFinalAnswersAreNotRetried(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404} {
		srv := newScript(status, "")
		ts := httptest.NewServer(srv)
		tr := &Transport{Base: http.DefaultTransport, MaxAttempts: 5, BaseDelay: time.Millisecond}
		req, _ := http.NewRequest(http.MethodDelete, ts.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status || len(srv.arrivals) != 1 {
			t.Errorf("status %d: got %d after %d requests, want one request", status, resp.StatusCode, len(srv.arrivals))
		}
		ts.Close()
	}
}

func TestRoundTripGivesUpAfterMaxAttempts(t *testing.T) {
	srv := newScript(503, "", 503, "", 503, "", 503, "")
	ts := httptest.NewServer(srv)
	defer ts.Close()
	tr := &Transport{Base: http.DefaultTransport, MaxAttempts: 3, BaseDelay: time.Millisecond}
	req, _ := http.NewRequest(http.MethodGet, ts.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || len(srv.arrivals) != 3 {
		t.Errorf("got %d after %d requests, want 503 after 3", resp.StatusCode, len(srv.arrivals))
	}
}

func TestRoundTripWaitBeyondDeadlineFailsAtOnce(t *testing.T) {
	srv := newScript(429, "600")
	ts := httptest.NewServer(srv)
	defer ts.Close()
	tr := &Transport{Base: http.DefaultTransport, MaxAttempts: 5}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, ts.URL, nil)
	_, err := tr.RoundTrip(req)
	if err == nil || !strings.Contains(err.Error(), "beyond the run's deadline") {
		t.Fatalf("err = %v, want a wait-beyond-deadline error", err)
	}
	if len(srv.arrivals) != 1 {
		t.Errorf("%d requests, want 1", len(srv.arrivals))
	}
}

func TestThrottleHoldsEveryWorker(t *testing.T) {
	// One worker's 429 closes the gate for a request another worker sends
	// (the wait on a virtual clock).
	clk := newJumpClock()
	srv := newScript(429, "1")
	srv.now = clk.Now
	ts := httptest.NewServer(srv)
	defer ts.Close()
	gate := &job.Gate{}
	writes, reads := job.NewPaceOn(clk, gate, 100, 10), job.NewPaceOn(clk, gate, 0, 1)
	tr := &Transport{Base: http.DefaultTransport, Clock: clk, MaxAttempts: 1, Pace: func(r *http.Request) *job.Pace {
		if r.Method == http.MethodGet {
			return reads
		}
		return writes
	}}
	req, _ := http.NewRequest(http.MethodDelete, ts.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req2, _ := http.NewRequest(http.MethodGet, ts.URL, nil)
	resp2, err := tr.RoundTrip(req2)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if gap := srv.arrivals[1].Sub(srv.arrivals[0]); gap < time.Second {
		t.Errorf("a read went out %v after a write's 429 with Retry-After: 1", gap)
	}
	if writes.Rate() >= 100 {
		t.Errorf("write rate %v after a 429, want it cut", writes.Rate())
	}
}

// TestRoundTripRetryAfterBeyondTheLongestWaitIsFinal: a wait longer than
// MaxRetryAfter is not waited for, even without a deadline, and does not
// close the pace every worker shares.
func TestRoundTripRetryAfterBeyondTheLongestWaitIsFinal(t *testing.T) {
	srv := newScript(429, "1e12")
	ts := httptest.NewServer(srv)
	defer ts.Close()
	gate := &job.Gate{}
	pace := job.NewPace(gate, 100, 10)
	tr := &Transport{Base: http.DefaultTransport, MaxAttempts: 5, Pace: func(*http.Request) *job.Pace { return pace }}
	req, _ := http.NewRequest(http.MethodDelete, ts.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || len(srv.arrivals) != 1 {
		t.Errorf("got %d after %d requests, want the 429 after 1", resp.StatusCode, len(srv.arrivals))
	}
	if until := gate.Until(); !until.IsZero() {
		t.Errorf("the pace's gate is held until %v, want open", until)
	}
}

package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/offboard/offboard/job"
)

// cutServer answers its first `cuts` requests with status and a body cut
// off half-way (a Content-Length it never fulfils, then the connection
// closed), and the rest with status and the whole body.
func cutServer(t *testing.T, status, cuts int, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if int(n.Add(1)) > cuts {
			w.WriteHeader(status)
			io.WriteString(w, body)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", status, http.StatusText(status))
		buf.WriteString(body[:len(body)/2])
		buf.Flush()
	}))
	t.Cleanup(ts.Close)
	return ts, &n
}

func TestAnswerCutOffIsRetried(t *testing.T) {
	const page = `{"value":[{"id":"a"},{"id":"b"}]}`
	ts, n := cutServer(t, http.StatusOK, 2, page)
	tr := &Transport{Base: http.DefaultTransport, MaxAttempts: 3, BaseDelay: time.Millisecond}
	req, _ := http.NewRequest(http.MethodGet, ts.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("a read cut off twice, then whole: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != page || n.Load() != 3 {
		t.Errorf("body %q after %d attempts, want the whole page after 3", b, n.Load())
	}

	// Cut off every time: the error says so, after the budget.
	ts, n = cutServer(t, http.StatusOK, 10, page)
	req, _ = http.NewRequest(http.MethodGet, ts.URL, nil)
	if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "cut off") || n.Load() != 3 {
		t.Errorf("err %v after %d attempts, want a cut-off error after 3", err, n.Load())
	}
}

func TestAcknowledgedWriteIsNotResentForItsBody(t *testing.T) {
	ts, n := cutServer(t, http.StatusCreated, 10, `{"id":"request","status":"Revoked"}`)
	tr := &Transport{Base: http.DefaultTransport, MaxAttempts: 3, BaseDelay: time.Millisecond}
	req, _ := http.NewRequest(http.MethodPost, ts.URL, strings.NewReader(`{"action":"adminRemove"}`))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || len(b) != 0 || resp.ContentLength != 0 || n.Load() != 1 {
		t.Errorf("%d %q (length %d) after %d requests, want 201 with no body after 1", resp.StatusCode, b, resp.ContentLength, n.Load())
	}

	// An error answer cut off says nothing was done: sent again.
	ts, n = cutServer(t, http.StatusNotFound, 1, `{"error":{"code":"Request_ResourceNotFound"}}`)
	req, _ = http.NewRequest(http.MethodDelete, ts.URL, nil)
	resp, err = tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "Request_ResourceNotFound") || n.Load() != 2 {
		t.Errorf("%d %q after %d requests, want the whole 404 after 2", resp.StatusCode, b, n.Load())
	}
}

func TestAttemptTimeout(t *testing.T) {
	tests := []struct {
		name  string
		stall func(w http.ResponseWriter, r *http.Request)
	}{
		{"no headers", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
		{"a body that stops", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `{"value":[`)
			http.NewResponseController(w).Flush()
			<-r.Context().Done()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) <= 1 {
					tt.stall(w, r)
					return
				}
				io.WriteString(w, `{"value":[]}`)
			}))
			defer ts.Close()
			tr := &Transport{Base: http.DefaultTransport, MaxAttempts: 2, BaseDelay: time.Millisecond, AttemptTimeout: 200 * time.Millisecond}
			req, _ := http.NewRequest(http.MethodGet, ts.URL, nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != `{"value":[]}` || n.Load() != 2 {
				t.Errorf("%q after %d attempts, want the second attempt's answer", b, n.Load())
			}

			// Stalled every time: the error names the timeout.
			n.Store(-100)
			tr.MaxAttempts = 1
			req, _ = http.NewRequest(http.MethodGet, ts.URL, nil)
			if _, err := tr.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "request timeout (200ms)") {
				t.Errorf("err %v, want it to name the request timeout", err)
			}
		})
	}
}

func TestGateBeyondDeadlineFailsAtOnce(t *testing.T) {
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	defer ts.Close()
	gate := &job.Gate{}
	gate.Hold(time.Now().Add(time.Hour))
	pace := job.NewPace(gate, 0, 1)
	tr := &Transport{Base: http.DefaultTransport, MaxAttempts: 3, Pace: func(*http.Request) *job.Pace { return pace }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, ts.URL, nil)
	start := time.Now()
	_, err := tr.RoundTrip(req)
	if !errors.Is(err, ErrBeyondDeadline) || n.Load() != 0 {
		t.Fatalf("err %v after %d requests, want ErrBeyondDeadline and none sent", err, n.Load())
	}
	if waited := time.Since(start); waited > 30*time.Second {
		t.Errorf("waited %v for a gate closed past the deadline", waited)
	}
}

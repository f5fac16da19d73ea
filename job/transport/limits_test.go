package transport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// TestEndlessBodyIsCutOffAtTheCap: a 200 whose body never ends fails the
// request once MaxBody is read, without a retry, instead of handing the
// SDK an endless stream.
func TestEndlessBodyIsCutOffAtTheCap(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		chunk := []byte(strings.Repeat(`{"id":"x"},`, 6000))
		_, _ = w.Write([]byte(`{"value":[`))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	tr := &Transport{Base: http.DefaultTransport, MaxAttempts: 3, Endpoints: []string{srv.URL}}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1.0/roleManagement/directory/roleAssignments", nil)
	resp, err := tr.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatal("an endless answer was handed on")
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("error %v, want ErrTooLarge", err)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1: the same request gets the same answer", n)
	}
}

// TestRequestToAnotherHostIsRefusedUnsent: with Endpoints set, a request
// to another scheme, host or port (a nextLink elsewhere) never leaves, and
// neither does its token; the configured host is reached in any case.
func TestRequestToAnotherHostIsRefusedUnsent(t *testing.T) {
	var got atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer other.Close()
	ours := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer ours.Close()
	tokens := 0
	tr := &Transport{Base: http.DefaultTransport, Endpoints: []string{ours.URL + "/"},
		Token: func(context.Context) (string, error) { tokens++; return "secret", nil }}
	for _, u := range []string{other.URL + "/v1.0/x", strings.Replace(ours.URL, "http://", "https://", 1) + "/v1.0/x"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if resp, err := tr.RoundTrip(req); !errors.Is(err, ErrOtherHost) {
			if resp != nil {
				resp.Body.Close()
			}
			t.Errorf("%s: error %v, want ErrOtherHost", u, err)
		}
	}
	answers := tr.Batch(context.Background(), other.URL+"/v1.0/$batch", nil, []SubRequest{{Method: http.MethodDelete, URL: "/x"}})
	if !errors.Is(answers[0].Err, ErrOtherHost) {
		t.Errorf("a batch to another host: %v", answers[0].Err)
	}
	if n := got.Load(); n != 0 || tokens != 0 {
		t.Errorf("the other host got %d requests; %d tokens were fetched", n, tokens)
	}
	req, _ := http.NewRequest(http.MethodGet, ours.URL+"/v1.0/x", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("the configured endpoint: %v", err)
	}
	resp.Body.Close()
}

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://graph.microsoft.com":            "https://graph.microsoft.com",
		"https://GRAPH.microsoft.com:443/v1.0/x": "https://graph.microsoft.com",
		"https://graph.microsoft.com:8443/":      "https://graph.microsoft.com:8443",
		"http://127.0.0.1:80/":                   "http://127.0.0.1",
		"http://127.0.0.1:8080/":                 "http://127.0.0.1:8080",
		"HTTP://[::1]:9/":                        "http://[::1]:9",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := origin(u); got != want {
			t.Errorf("origin(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestListingStopsAtThePageCap: a listing whose every page names a new
// next page is refused past MaxPages pages; another listing is not.
func TestListingStopsAtThePageCap(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	tr := &Transport{Base: http.DefaultTransport}
	ctx := Listing(context.Background())
	var err error
	for i := 0; err == nil && i < 2*MaxPages; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/page?%%24skiptoken=%d", srv.URL, i), nil)
		var resp *http.Response
		if resp, err = tr.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
	}
	if !errors.Is(err, ErrListingLoops) {
		t.Fatalf("error %v, want ErrListingLoops", err)
	}
	if n := requests.Load(); n != MaxPages {
		t.Errorf("%d pages sent, want %d", n, MaxPages)
	}
	req, _ := http.NewRequestWithContext(Listing(context.Background()), http.MethodGet, srv.URL+"/page?%24skiptoken=0", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("a new listing: %v", err)
	}
	resp.Body.Close()
}

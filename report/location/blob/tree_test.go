package blob

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/offboard/offboard/job/transport"
)

// fixedToken is a token credential for a fake blob service.
type fixedToken struct{}

func (fixedToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestSelfRepeatingMarkerEndsTheBlobListing (issue 24, item 5): a blob
// service whose every List Blobs page names the same NextMarker, with no
// blob in it. ListTree (what watch reads a blob root with, and the drop
// folder's listing) reads the looping page once and fails with
// transport.ErrListingLoops; of old it asked for the page for ever. The
// fake service stops looping after 50 pages, so that the code of old ends
// (with 49 reads of the page) rather than hang, and the test has a
// deadline besides.
func TestSelfRepeatingMarkerEndsTheBlobListing(t *testing.T) {
	var mu sync.Mutex
	reads := 0 // of the looping page
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("comp") != "list" {
			http.Error(w, "not a listing", http.StatusBadRequest)
			return
		}
		mu.Lock()
		next := "loop"
		if r.URL.Query().Get("marker") == "loop" {
			if reads++; reads >= 50 {
				next = ""
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/xml")
		w.Header().Set("x-ms-version", "2025-01-05")
		_, _ = w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="reports">` +
			`<Prefix>nightly/</Prefix><Blobs></Blobs><NextMarker>` + next + `</NextMarker></EnumerationResults>`))
	}))
	t.Cleanup(srv.Close)
	loc, ok, err := Parse(srv.URL + "/devstoreaccount1/reports/nightly/")
	if !ok || err != nil {
		t.Fatalf("Parse: %v %v", ok, err)
	}
	s, err := Open(loc, Credentials{Token: fixedToken{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	objs, err := s.ListTree(ctx, loc.Prefix())
	if !errors.Is(err, transport.ErrListingLoops) {
		t.Errorf("ListTree: %d blobs, error %v; want ErrListingLoops", len(objs), err)
	}
	mu.Lock()
	defer mu.Unlock()
	if reads != 1 {
		t.Errorf("the self-repeating page was read %d times, want once", reads)
	}
}

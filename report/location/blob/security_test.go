package blob

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// Issue 18, finding 5: blob locations with dot segments are refused.
func TestBlobDotSegmentsRefused(t *testing.T) {
	for _, raw := range []string{
		"https://acct.blob.core.windows.net/reports/nightly/../other/",
		"https://acct.blob.core.windows.net/reports/../x.csv",
		"https://acct.blob.core.windows.net/reports/a/%2e%2e/b.csv",
		"https://acct.blob.core.windows.net/reports/a/./b.csv",
		"https://acct.blob.core.windows.net/reports/.../",
		"https://acct.blob.core.windows.net/reports/a\\..\\b.csv",
		"http://127.0.0.1:10000/devstoreaccount1/reports/../x/",
	} {
		if loc, _, err := Parse(raw); err == nil {
			t.Errorf("Parse(%q) = %+v, want it refused", raw, loc)
		}
	}
	for _, raw := range []string{
		"https://acct.blob.core.windows.net/reports/a.b/c..csv",
		"https://acct.blob.core.windows.net/reports/.hidden/x.csv",
	} {
		if _, _, err := Parse(raw); err != nil {
			t.Errorf("Parse(%q): %v", raw, err)
		}
	}
}

// Issue 18, finding 6: a SAS URL is refused without its signature in the
// error, and an SDK error naming a signed URL loses the query.
func TestSASSignatureNotInErrors(t *testing.T) {
	const sig = "sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
	_, _, err := Parse("https://acct.blob.core.windows.net/c/x.csv?sv=2022-11-02&" + sig)
	if err == nil || strings.Contains(err.Error(), "sig=") || strings.Contains(err.Error(), "sv=") {
		t.Errorf("Parse: %v", err)
	}
	netErr := &url.Error{Op: "Get", URL: "https://acct.blob.core.windows.net/c/x.csv?sv=2022-11-02&" + sig, Err: errors.New("connection refused")}
	e := scrub(netErr)
	if strings.Contains(e.Error(), "sig=") || !strings.Contains(e.Error(), "https://acct.blob.core.windows.net/c/x.csv") {
		t.Errorf("scrubbed: %v", e)
	}
	var ue *url.Error
	if !errors.As(e, &ue) {
		t.Error("the scrubbed error lost its chain")
	}
}

// FuzzParse: whatever Parse accepts names a location without dot segments,
// query or fragment, and its errors never hold a query.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"https://acct.blob.core.windows.net/incoming/2026/in.csv",
		"https://acct.blob.core.windows.net/incoming/drop/",
		"http://127.0.0.1:10000/devstoreaccount1/reports/r/",
		"https://acct.blob.core.windows.net/reports/../x.csv",
		"https://acct.blob.core.windows.net/c/x.csv?sig=abc",
		"https://acct.blob.core.windows.net/c/a/%2E%2e/b",
		"/local/path",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		loc, ok, err := Parse(raw)
		if err != nil {
			if i := strings.IndexAny(raw, "?#"); i >= 0 && strings.Contains(err.Error(), raw[i:]) && len(raw[i:]) > 3 {
				t.Fatalf("the error repeats the query: %v", err)
			}
			return
		}
		if !ok {
			return
		}
		for _, seg := range strings.FieldsFunc(loc.Path, func(r rune) bool { return r == '/' || r == '\\' }) {
			if strings.Trim(seg, ".") == "" {
				t.Fatalf("Parse(%q) accepted the dot segment %q in %q", raw, seg, loc.Path)
			}
		}
		if strings.ContainsAny(loc.Container, "?#") {
			t.Fatalf("Parse(%q): container %q", raw, loc.Container)
		}
	})
}

package transport

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// FuzzRetryAfter checks that whatever a service puts in its wait headers,
// the wait read from them is never negative (a negative wait would be
// taken as none, and the request sent again at once), and that a positive
// number of seconds is a positive wait.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "2", "0.5", "-1", "120", "1e10", "9223372036854775807", "NaN", "+Inf",
		"Wed, 21 Oct 2026 07:28:00 GMT", "Wed, 21 Oct 9999 07:28:00 GMT", "soon", ""} {
		f.Add(s, "")
		f.Add("", s)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, retryAfter, ms string) {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		if ms != "" {
			h.Set("x-ms-retry-after-ms", ms)
		}
		d := RetryAfter(h, now)
		if d < 0 {
			t.Fatalf("Retry-After %q, x-ms-retry-after-ms %q: wait %v", retryAfter, ms, d)
		}
		if ms == "" {
			if s, err := strconv.ParseFloat(retryAfter, 64); err == nil && s >= 1e-6 && d == 0 {
				t.Fatalf("Retry-After %q read as no wait", retryAfter)
			}
		}
	})
}

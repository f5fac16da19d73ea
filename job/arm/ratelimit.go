package arm

import (
	"net/http"
	"strconv"
	"strings"
)

// Operation is a request's kind as ARM's rate-limit counters name it:
// reads, deletes or writes.
func Operation(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return "reads"
	case http.MethodDelete:
		return "deletes"
	}
	return "writes"
}

// Remaining is the smallest of the counters of one kind (Operation) an
// answer carries: x-ms-ratelimit-remaining-subscription-, its -global-
// variant under the regional limits, and the -tenant- one outside a
// subscription. ok is false when it carries none that can be read.
func Remaining(h http.Header, operation string) (left int, ok bool) {
	least, found := 0, false
	for _, name := range []string{
		"x-ms-ratelimit-remaining-subscription-" + operation,
		"x-ms-ratelimit-remaining-subscription-global-" + operation,
		"x-ms-ratelimit-remaining-tenant-" + operation,
	} {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			// A garbled counter says nothing; the 429s still would.
			continue
		}
		if !found || n < least {
			least, found = n, true
		}
	}
	return least, found
}

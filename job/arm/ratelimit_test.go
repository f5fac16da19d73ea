package arm

import (
	"net/http"
	"testing"
)

func TestARMRemainingCounters(t *testing.T) {
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	tests := []struct {
		name      string
		header    http.Header
		operation string
		want      int
		ok        bool
	}{
		{"none", h(), "reads", 0, false},
		{"subscription", h("x-ms-ratelimit-remaining-subscription-deletes", "17"), "deletes", 17, true},
		{"another kind's", h("x-ms-ratelimit-remaining-subscription-reads", "17"), "deletes", 0, false},
		{"the smaller of the old and the global limits", h("x-ms-ratelimit-remaining-subscription-reads", "240",
			"x-ms-ratelimit-remaining-subscription-global-reads", "12"), "reads", 12, true},
		{"tenant level", h("x-ms-ratelimit-remaining-tenant-writes", "3"), "writes", 3, true},
		{"zero", h("x-ms-ratelimit-remaining-subscription-writes", "0"), "writes", 0, true},
		{"garbled", h("x-ms-ratelimit-remaining-subscription-reads", "lots"), "reads", 0, false},
		{"negative", h("x-ms-ratelimit-remaining-subscription-reads", "-4"), "reads", 0, false},
	}
	for _, tt := range tests {
		got, ok := Remaining(tt.header, tt.operation)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: %d, %v; want %d, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

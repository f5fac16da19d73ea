package simtenant

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The strict profile (issue 14's second model): a write bucket of 100 a
// second holding 100; a 429 names Retry-After in whole seconds, at least
// 1, from when the bucket will hold a token; each sub-request of a $batch
// is charged and answered on its own; x-ms-throttle-limit-percentage now
// and then above 0.8 of the budget, never below.
func TestStrictProfileRetryAfter(t *testing.T) {
	clk := newClock()
	cfg, err := WithProfile(Config{Seed: 5, Now: clk.Now}, "strict")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WriteRate != 100 || cfg.WriteBurst != 100 || cfg.Latency != 20*time.Millisecond {
		t.Fatalf("strict profile: %+v", cfg)
	}
	cfg.Latency = 0 // the clock is the test's; latency only slows it down
	h := start(t, cfg)
	n := 0
	del := func() answer {
		n++ // a new assignment id each time: none is sent again before its Retry-After
		return h.do(http.MethodDelete, fmt.Sprintf("/v1.0/roleManagement/directory/roleAssignments/gone-%d", n))
	}
	signalled, used := 0, 0
	for i := range 95 {
		a := del()
		if a.status != http.StatusNotFound {
			t.Fatalf("write %d: HTTP %d, want 404 (admitted: the bucket holds 100)", i+1, a.status)
		}
		if v := a.header.Get("x-ms-throttle-limit-percentage"); v != "" {
			share, err := strconv.ParseFloat(v, 64)
			if err != nil || share <= 0.8 || share > 1 {
				t.Fatalf("write %d: x-ms-throttle-limit-percentage %q, want above 0.80, at most 1", i+1, v)
			}
			if want := float64(i+1) / 100; share != want {
				t.Fatalf("write %d: x-ms-throttle-limit-percentage %v, want %v of the budget used", i+1, share, want)
			}
			signalled++
		}
		if i+1 > 80 {
			used++
		}
	}
	if signalled == 0 || signalled == used {
		t.Fatalf("%d of the %d answers above 0.8 of the budget say so: want some, not all", signalled, used)
	}

	// Five tokens left: a batch of 20 removals has 5 admitted, 15 answered
	// 429 inside a 200, each with its own Retry-After.
	var reqs []string
	for i := range 20 {
		n++
		reqs = append(reqs, fmt.Sprintf(`{"id":"%d","method":"DELETE","url":"/roleManagement/directory/roleAssignments/gone-%d"}`, i, n))
	}
	a := h.do(http.MethodPost, "/v1.0/$batch", withHeader("Content-Type", "application/json"),
		withBody([]byte(`{"requests":[`+strings.Join(reqs, ",")+`]}`)))
	if a.status != http.StatusOK {
		t.Fatalf("$batch: HTTP %d %s", a.status, a.body)
	}
	var out struct {
		Responses []struct {
			Status  int               `json:"status"`
			Headers map[string]string `json:"headers"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(a.body, &out); err != nil {
		t.Fatal(err)
	}
	admitted, throttled := 0, 0
	for _, r := range out.Responses {
		switch r.Status {
		case http.StatusNotFound:
			admitted++
		case http.StatusTooManyRequests:
			throttled++
			// The bucket holds its next token in 10 ms: whole seconds,
			// at least one.
			if ra := r.Headers["Retry-After"]; ra != "1" {
				t.Fatalf("a throttled sub-request's Retry-After %q, want 1", ra)
			}
		default:
			t.Fatalf("sub-request answered %d", r.Status)
		}
	}
	if admitted != 5 || throttled != 15 {
		t.Fatalf("%d admitted, %d throttled; want 5 and 15 (each sub-request charged on its own)", admitted, throttled)
	}

	// The bucket holds a token again 10 ms later, not 9.
	clk.Advance(9 * time.Millisecond)
	if a := del(); a.status != http.StatusTooManyRequests || a.header.Get("Retry-After") != "1" {
		t.Fatalf("9 ms later: HTTP %d, Retry-After %q; want 429, 1", a.status, a.header.Get("Retry-After"))
	}
	clk.Advance(time.Millisecond)
	if a := del(); a.status != http.StatusNotFound {
		t.Fatalf("10 ms later: HTTP %d, want 404 (admitted)", a.status)
	}
	st := h.tenant.Stats()
	if st.ByMethod[http.MethodDelete] != 117 || st.ByMethodStatus[http.MethodDelete][http.StatusTooManyRequests] != 16 {
		t.Fatalf("stats: %d DELETEs, %d answered 429; want 117, 16", st.ByMethod[http.MethodDelete],
			st.ByMethodStatus[http.MethodDelete][http.StatusTooManyRequests])
	}
	if v := h.tenant.Violations(); len(v) > 0 {
		t.Fatalf("violations: %v", v)
	}
}

func TestDefaultProfileSendsNoLimitPercentage(t *testing.T) {
	clk := newClock()
	h := start(t, Config{Seed: 5, Now: clk.Now, WriteRate: 100, WriteBurst: 100})
	for i := range 100 {
		a := h.do(http.MethodDelete, fmt.Sprintf("/v1.0/roleManagement/directory/roleAssignments/gone-%d", i))
		if v := a.header.Get("x-ms-throttle-limit-percentage"); v != "" {
			t.Fatalf("write %d: x-ms-throttle-limit-percentage %q from the default profile", i+1, v)
		}
	}
	if _, err := WithProfile(Config{}, "lenient"); err == nil {
		t.Fatal("WithProfile accepted an unknown profile")
	}
}

package job

import (
	"math"
	"testing"
	"time"
)

func TestPaceRemainingOnlyEverTakesTokens(t *testing.T) {
	clk := newFakeClock()
	p := newPace(&Gate{}, 10, 200, clk.Now)
	tokens := func() float64 { return math.Round(p.limiter.TokensAt(clk.Now())*100) / 100 }
	if got := tokens(); got != 190 {
		t.Fatalf("a fresh pace holds %v", got)
	}
	p.Remaining(20, 4)
	if got := tokens(); got != 16 {
		t.Fatalf("the service says 20 are left, 4 may be on their way: the pace holds %v, want 16", got)
	}
	p.Remaining(150, 4)
	if got := tokens(); got != 16 {
		t.Fatalf("a higher count (a stale answer) gave tokens back: %v", got)
	}
	p.Remaining(1, 4)
	if got := tokens(); got != -3 {
		t.Fatalf("nearly empty: the pace holds %v, want -3 (the requests on their way are waited out)", got)
	}
	clk.Add(time.Second)
	if got := tokens(); got != 7 {
		t.Fatalf("a second later: %v, want 7 (it refills at its own rate)", got)
	}
	unlimited := newPace(&Gate{}, 0, 1, clk.Now)
	unlimited.Remaining(0, 8) // no bucket to cut: nothing happens
}

package job

import (
	"context"
	"testing"
	"time"
)

// The gate's OnHold hook hears of every wait behind it, and until when:
// a pace's own (its budget) and a throttled answer's (the service's), so
// that the terminal display can say why nothing moves.
func TestGateOnHoldHearsTheBudgetAndTheService(t *testing.T) {
	clk := newVirtualClock()
	start := clk.Now()
	type hold struct {
		until     time.Duration
		throttled bool
	}
	var holds []hold
	gate := &Gate{OnHold: func(until time.Time, throttled bool) {
		holds = append(holds, hold{until.Sub(start), throttled})
	}}
	p := virtualPace(clk, gate, 1, 1)
	clk.goAt(start, func() {
		ctx := context.Background()
		for range 2 { // the bucket's one token, then one a second later
			if err := p.Wait(ctx); err != nil {
				t.Error(err)
			}
		}
		p.Throttled(12 * time.Second)
	})
	clk.run()
	want := []hold{{time.Second, false}, {13 * time.Second, true}}
	if len(holds) != len(want) || holds[0] != want[0] || holds[1] != want[1] {
		t.Errorf("holds %v, want %v", holds, want)
	}
}

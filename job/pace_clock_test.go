package job

import (
	"container/heap"
	"context"
	"testing"
	"time"
)

// virtualClock runs goroutines on virtual time, one at a time, so that
// the real Pace.Wait can be driven against a simulated service with a
// verdict that does not depend on how fast the machine is. A goroutine
// runs until it sleeps (or ends); then the earliest sleeper (ties in the
// order they went to sleep) is woken, with the clock set to its time.
type virtualClock struct {
	t     time.Time
	q     events
	seq   int
	baton chan struct{} // a goroutine gives the turn back
}

func newVirtualClock() *virtualClock {
	return &virtualClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), baton: make(chan struct{})}
}

func (c *virtualClock) Now() time.Time { return c.t }

// sleepUntil is Pace's sleep on virtual time: it gives the turn back and
// resumes when the clock reaches until (at once when it has).
func (c *virtualClock) sleepUntil(ctx context.Context, until time.Time) error {
	if !until.After(c.t) {
		return ctx.Err()
	}
	wake := c.schedule(until)
	c.baton <- struct{}{}
	<-wake
	return ctx.Err()
}

func (c *virtualClock) schedule(at time.Time) chan struct{} {
	wake := make(chan struct{})
	c.seq++
	heap.Push(&c.q, event{at: at, seq: c.seq, wake: wake})
	return wake
}

// goAt starts f at virtual time at; run runs everything started.
func (c *virtualClock) goAt(at time.Time, f func()) {
	wake := c.schedule(at)
	go func() {
		<-wake
		f()
		c.baton <- struct{}{}
	}()
}

// run wakes sleepers in time order until none is left.
func (c *virtualClock) run() {
	for c.q.Len() > 0 {
		ev := heap.Pop(&c.q).(event)
		c.t = ev.at
		close(ev.wake)
		<-c.baton
	}
}

// virtualPace is a pace whose clock and sleep are c's.
func virtualPace(c *virtualClock, gate *Gate, perSecond float64, burst int) *Pace {
	p := newPace(gate, perSecond, burst, c.Now)
	p.sleep = c.sleepUntil
	return p
}

// WaitN takes a request's tokens in bucket-sized bites: 25 tokens of a
// full bucket of 10 refilling 10 a second take 1.5 s.
func TestPaceWaitNTakesBites(t *testing.T) {
	clk := newVirtualClock()
	start := clk.Now()
	p := virtualPace(clk, &Gate{}, 10, 10)
	var took time.Duration
	clk.goAt(start, func() {
		if err := p.WaitN(context.Background(), 25); err != nil {
			t.Error(err)
		}
		took = clk.Now().Sub(start)
	})
	clk.run()
	if took != 1500*time.Millisecond {
		t.Errorf("WaitN(25) took %s, want 1.5s", took)
	}
}

// A throttled answer (here of another pace behind the same gate) that
// closes the gate while a worker sleeps for its token holds that worker
// too: Wait returns when the gate opens, not when the token came.
func TestPaceWaitRechecksTheGateAfterItsToken(t *testing.T) {
	clk := newVirtualClock()
	start := clk.Now()
	gate := &Gate{}
	p := virtualPace(clk, gate, 1, 1)
	var returned time.Duration
	clk.goAt(start, func() {
		ctx := context.Background()
		if err := p.Wait(ctx); err != nil { // the bucket's one token
			t.Error(err)
		}
		if err := p.Wait(ctx); err != nil { // the next comes at 1 s
			t.Error(err)
		}
		returned = clk.Now().Sub(start)
	})
	clk.goAt(start.Add(500*time.Millisecond), func() { gate.Hold(start.Add(3 * time.Second)) })
	clk.run()
	if returned != 3*time.Second {
		t.Errorf("Wait returned at %s, want 3s when the gate opened", returned)
	}
}

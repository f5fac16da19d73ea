package transport

import (
	"context"
	"sync"
	"time"
)

// jumpClock is virtual time that every sleep moves on at once to when it
// ends: a test sees each wait the transport and its paces take, in order,
// and sleeps none of them. It suits a test with one request waiting at a
// time. It starts at the real time, so that contexts' deadlines (real
// time) mean what they say.
type jumpClock struct {
	mu sync.Mutex
	t  time.Time
}

func newJumpClock() *jumpClock { return &jumpClock{t: time.Now()} }

func (c *jumpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *jumpClock) SleepUntil(ctx context.Context, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if until.After(c.t) {
		c.t = until
	}
	return nil
}

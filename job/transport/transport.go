// Package transport is the http.RoundTripper every service client of
// offboard sends through. It is the one place that authenticates, paces and
// retries a request, so that the SDKs' own retry handlers can be switched off
// and a run has exactly one retry budget: a request is attempted at most
// MaxAttempts times, whichever layer asked.
package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
)

// Transport paces, authenticates and retries requests.
type Transport struct {
	// Base sends one attempt.
	Base http.RoundTripper
	// Token, when set, supplies the bearer token of each attempt; it is asked
	// every time so that a refreshed token is used after a long wait.
	Token func(ctx context.Context) (string, error)
	// Pace picks the shared pace a request waits for; nil means none.
	Pace func(*http.Request) *job.Pace
	// MaxAttempts bounds the attempts of one request (at least 1).
	MaxAttempts int
	// BaseDelay and MaxDelay shape the exponential back-off used when the
	// service names no wait.
	BaseDelay, MaxDelay time.Duration
	// AttemptTimeout bounds one attempt, from sending the request to the
	// last byte of the answer; an attempt that runs over is retried like a
	// network error. Zero means no bound but the request's context.
	AttemptTimeout time.Duration
	Log            *zap.Logger
	// Endpoints are the service roots (scheme and host) requests may go
	// to; a request to any other is refused, so the token never leaves
	// for a host a service's answer (a nextLink) names. Empty: any.
	Endpoints []string
	// Clock is what the waits between attempts (a Retry-After, the
	// back-off) sleep on and what a wait is checked against the deadline
	// with; it should be the clock of the paces. Nil: job.SystemClock.
	Clock job.Clock
}

// ErrBeyondDeadline is returned when the service asks for a wait that would
// end after the run's deadline (the request context's deadline).
var ErrBeyondDeadline = job.ErrBeyondDeadline

// MaxRetryAfter is the longest wait a service may ask for that the job
// waits: a longer one (a misbehaving proxy, a garbled header) makes the
// answer final rather than stall every worker for hours.
const MaxRetryAfter = 15 * time.Minute

// maxBuffered is how much of an answer is read into memory inside the retry
// loop; a longer answer fails (ErrTooLarge). Graph pages (999 objects at
// most) and ARM pages are far smaller.
const maxBuffered = 32 << 20

// RoundTrip implements http.RoundTripper: one request, attempted until
// the retry policy (retry.go) says its answer is final.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	if err := t.allowed(req.URL); err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, redact(req), err)
	}
	if err := visit(ctx, req); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		pace := t.pace(req)
		if pace != nil {
			if err := pace.Wait(ctx); err != nil {
				return nil, fmt.Errorf("%s %s: waiting for the pace: %w", req.Method, redact(req), err)
			}
		}
		out, err := t.outgoing(ctx, req, body)
		if err != nil {
			return nil, err
		}
		job.CountAttempt(ctx)
		resp, err := t.attempt(ctx, out, false)
		if errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("%s %s: %w", req.Method, redact(req), err)
		}
		verdict := classify(resp, err, t.now())
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			// The token is refused: the run stops (job.ErrUnauthorized).
			job.Unauthorized(ctx, req.URL.Scheme+"://"+req.URL.Host)
		}
		if ctx.Err() != nil {
			if resp != nil {
				return resp, err
			}
			return nil, ctxError(ctx, err)
		}
		next := t.decide(verdict, attempt)
		feedback(pace, verdict, next.wait, resp)
		if !next.again {
			return resp, err
		}
		if req.Method != http.MethodGet && next.resent {
			job.ResentUnanswered(ctx)
		}
		if resp != nil {
			drain(resp)
		}
		if t.beyond(ctx, next.wait) {
			return nil, fmt.Errorf("%s %s: %s after %d attempts: %w (%s)", req.Method, redact(req), verdict.Reason, attempt, ErrBeyondDeadline, next.wait.Round(time.Millisecond))
		}
		if t.Log != nil {
			t.Log.Debug("retrying", zap.String("method", req.Method), zap.String("path", req.URL.Path),
				zap.Int("attempt", attempt), zap.String("reason", verdict.Reason), zap.Duration("wait", next.wait))
		}
		if err := t.sleep(ctx, t.now().Add(next.wait)); err != nil {
			return nil, ctxError(ctx, err)
		}
	}
}

// outgoing is one attempt of req: a clone carrying the body and a fresh
// token.
func (t *Transport) outgoing(ctx context.Context, req *http.Request, body []byte) (*http.Request, error) {
	out := req.Clone(ctx)
	if body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		out.ContentLength = int64(len(body))
	}
	if err := t.authorize(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// authorize sets the bearer token of an attempt, asked for every time so
// that a refreshed token is used after a long wait.
func (t *Transport) authorize(ctx context.Context, req *http.Request) error {
	if t.Token == nil {
		return nil
	}
	tok, err := t.Token(ctx)
	if err != nil {
		return fmt.Errorf("getting a token: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// attempt sends one attempt and reads its answer whole, under
// AttemptTimeout. Reading the body here rather than in the SDK means that an
// answer cut off half-way (a connection reset mid-body, a stalled stream) is
// seen inside the retry loop: a read is retried like any network error,
// instead of failing a listing that one more attempt would have completed.
// A write the service acknowledged (2xx) is not sent again because its
// body was lost: the status says it was done (the SDKs read an empty body as
// no body); a retryable status keeps its Retry-After. With whole set (a
// batch, whose 200 says nothing of what its requests did), a cut-off body
// is a network error whatever the status.
func (t *Transport) attempt(ctx context.Context, req *http.Request, whole bool) (*http.Response, error) {
	cancel := context.CancelFunc(func() {})
	if t.AttemptTimeout > 0 {
		var actx context.Context
		actx, cancel = context.WithTimeout(ctx, t.AttemptTimeout)
		req = req.WithContext(actx)
	}
	timedOut := func(err error) error {
		if t.AttemptTimeout > 0 && ctx.Err() == nil && req.Context().Err() != nil {
			return fmt.Errorf("no complete answer within the request timeout (%s): %w", t.AttemptTimeout, err)
		}
		return err
	}
	resp, err := t.Base.RoundTrip(req)
	if err != nil {
		cancel()
		return nil, timedOut(err)
	}
	err = readAnswer(resp, cancel)
	if err == nil {
		return resp, nil
	}
	err = timedOut(err)
	switch {
	case classify(resp, nil, t.now()).Retry:
		// Retried for its status anyway, Retry-After included.
	case resp.StatusCode/100 == 2 && !isRead(req.Method) && !whole && !errors.Is(err, ErrTooLarge):
		if t.Log != nil {
			t.Log.Warn("the answer to a write was cut off after its status; the status stands",
				zap.String("method", req.Method), zap.String("path", req.URL.Path),
				zap.Int("status", resp.StatusCode), zap.Error(err))
		}
	case errors.Is(err, ErrTooLarge):
		return nil, err
	default:
		return nil, fmt.Errorf("the answer (HTTP %d) was cut off: %w", resp.StatusCode, err)
	}
	resp.Body, resp.ContentLength = http.NoBody, 0
	return resp, nil
}

// readAnswer replaces resp.Body with its content read into memory, up to
// maxBuffered: a longer body fails with ErrTooLarge, its status kept (a
// retryable status is retried for the status, whatever its body).
func readAnswer(resp *http.Response, done context.CancelFunc) error {
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBuffered+1))
	if err != nil {
		_ = resp.Body.Close()
		done()
		return err
	}
	if len(b) > maxBuffered {
		_ = resp.Body.Close()
		done()
		resp.Body = http.NoBody
		return ErrTooLarge
	}
	_ = resp.Body.Close()
	done()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	return nil
}

// isRead reports whether a request only reads.
func isRead(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// now is the time on the transport's clock.
func (t *Transport) now() time.Time {
	if t.Clock == nil {
		return time.Now()
	}
	return t.Clock.Now()
}

// sleep waits on the transport's clock until until, or until ctx is done.
func (t *Transport) sleep(ctx context.Context, until time.Time) error {
	if t.Clock == nil {
		return job.SystemClock{}.SleepUntil(ctx, until)
	}
	return t.Clock.SleepUntil(ctx, until)
}

func (t *Transport) pace(req *http.Request) *job.Pace {
	if t.Pace == nil {
		return nil
	}
	return t.Pace(req)
}

func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	return b, nil
}

// drain reads what is left of a body we will not use, so that the
// connection can be reused, and closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
}

func ctxError(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	return err
}

// redact prints a request's path without its query, which can be long.
func redact(req *http.Request) string { return req.URL.Path }

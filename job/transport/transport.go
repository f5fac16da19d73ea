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
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
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

// RoundTrip implements http.RoundTripper.
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
	attempts := max(t.MaxAttempts, 1)
	for attempt := 1; ; attempt++ {
		pace := t.pace(req)
		if pace != nil {
			if err := pace.Wait(ctx); err != nil {
				return nil, fmt.Errorf("%s %s: waiting for the pace: %w", req.Method, redact(req), err)
			}
		}
		out := req.Clone(ctx)
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			out.ContentLength = int64(len(body))
		}
		if t.Token != nil {
			tok, err := t.Token(ctx)
			if err != nil {
				return nil, fmt.Errorf("getting a token: %w", err)
			}
			out.Header.Set("Authorization", "Bearer "+tok)
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
		if !verdict.Retry {
			if pace != nil && verdict.Status != http.StatusTooManyRequests {
				pace.Succeeded()
				if share, ok := LimitShare(resp.Header); ok {
					pace.NearLimit(share)
				}
			}
			return resp, err
		}
		wait := verdict.After
		if wait <= 0 {
			wait = t.backoff(attempt)
		}
		if pace != nil && verdict.Throttled() {
			pace.Throttled(wait)
		}
		if attempt >= attempts {
			return resp, err
		}
		if req.Method != http.MethodGet && !verdict.Throttled() {
			// The lost attempt may have been carried out.
			job.ResentUnanswered(ctx)
		}
		if deadline, ok := ctx.Deadline(); ok && t.now().Add(wait).After(deadline) {
			if resp != nil {
				drain(resp)
			}
			return nil, fmt.Errorf("%s %s: %s after %d attempts: %w (%s)", req.Method, redact(req), verdict.Reason, attempt, ErrBeyondDeadline, wait.Round(time.Millisecond))
		}
		if resp != nil {
			drain(resp)
		}
		if t.Log != nil {
			t.Log.Debug("retrying", zap.String("method", req.Method), zap.String("path", req.URL.Path),
				zap.Int("attempt", attempt), zap.String("reason", verdict.Reason), zap.Duration("wait", wait))
		}
		if err := t.sleep(ctx, t.now().Add(wait)); err != nil {
			return nil, ctxError(ctx, err)
		}
	}
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

// backoff is the full-jitter exponential wait before attempt+1.
func (t *Transport) backoff(attempt int) time.Duration {
	base, ceiling := t.BaseDelay, t.MaxDelay
	if base <= 0 {
		base = 500 * time.Millisecond
	}
	if ceiling <= 0 {
		ceiling = 30 * time.Second
	}
	d := base << min(attempt-1, 20)
	if d > ceiling || d <= 0 {
		d = ceiling
	}
	// Half fixed, half random: never zero, never in lock-step.
	return d/2 + rand.N(d/2+1)
}

// Verdict is what an answer means for the request that got it.
type Verdict struct {
	Retry  bool
	After  time.Duration // the wait the service named; 0 when none
	Status int           // 0 for a network error
	Reason string
}

// Throttled reports whether the answer asks the whole service to slow down.
func (v Verdict) Throttled() bool {
	return v.Status == http.StatusTooManyRequests || (v.Status == http.StatusServiceUnavailable && v.After > 0)
}

// Classify maps one attempt's answer to retry-or-final. 429, 500, 502, 503,
// 504 and network errors are retried; everything else is final.
func Classify(resp *http.Response, err error) Verdict { return classify(resp, err, time.Now()) }

// classify is Classify with a Retry-After given as a date read at now.
func classify(resp *http.Response, err error, now time.Time) Verdict {
	if err != nil {
		return Verdict{Retry: true, Reason: "network error: " + err.Error()}
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		after := RetryAfter(resp.Header, now)
		if after > MaxRetryAfter {
			// Not waited for, and not allowed to hold every worker's
			// pace that long: the answer is final.
			return Verdict{Status: resp.StatusCode,
				Reason: fmt.Sprintf("HTTP %d asking for a wait of %s, more than the %s the job waits", resp.StatusCode, after, MaxRetryAfter)}
		}
		return Verdict{Retry: true, Status: resp.StatusCode, After: after, Reason: fmt.Sprintf("HTTP %d", resp.StatusCode)}
	}
	return Verdict{Status: resp.StatusCode}
}

// LimitShare reads Graph's x-ms-throttle-limit-percentage: the share of
// its budget the app has used, sent only above 0.8 (0.8 to 1.8), and not
// always (SERVICE_FACTS.md). ok is false when it is absent or not a share
// in that range.
func LimitShare(h http.Header) (share float64, ok bool) {
	v := strings.TrimSpace(h.Get("x-ms-throttle-limit-percentage"))
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0.8 && f <= 1.8) {
		return 0, false
	}
	return f, true
}

// RetryAfter reads the wait a response names: x-ms-retry-after-ms or
// retry-after-ms (milliseconds), else Retry-After in seconds or as an HTTP
// date. It returns 0 when there is none or it cannot be read.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	for _, name := range []string{"x-ms-retry-after-ms", "retry-after-ms"} {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
				return duration(ms, time.Millisecond)
			}
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return duration(s, time.Second)
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := at.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// duration is n units, 0 when n is not above 0 (or not a number), and the
// longest Duration when n units are more than it holds: converting a float
// out of range gives a negative Duration, which would be taken as no wait
// at all (found by FuzzRetryAfter).
func duration(n float64, unit time.Duration) time.Duration {
	switch d := n * float64(unit); {
	case !(d > 0): // NaN too
		return 0
	case d >= math.MaxInt64:
		return math.MaxInt64
	default:
		return time.Duration(d)
	}
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

package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
)

// MaxBatch is the most sub-requests one JSON batch (Graph's $batch) holds.
const MaxBatch = 20

// SubRequest is one request inside a JSON batch.
type SubRequest struct {
	Method string
	// URL is relative to the service's version, with its query:
	// /roleManagement/directory/roleAssignments/{id}.
	URL    string
	Header http.Header
	// Body is JSON, or nil.
	Body json.RawMessage
}

// SubAnswer is what became of one sub-request: the service's final answer
// to it (Status, Header, Body), or Err when there is none (a network error
// after the last attempt, a wait beyond the deadline, a cancelled
// context). Attempts counts the batches that carried it.
type SubAnswer struct {
	Status   int
	Header   http.Header
	Body     []byte
	Err      error
	Attempts int
	// Resent is set when the sub-request was sent again after an attempt
	// whose answer is unknown (a network error, a cut-off answer, a 5xx):
	// the service may have acted on that attempt, so an answer that the
	// object is gone may be the job's own doing.
	Resent bool
}

// BatchRefusedError is a batch refused as a whole with a final status
// other than 200: the answer is the batch's, not any sub-request's, and
// says nothing of what each would have done.
type BatchRefusedError struct {
	Status int
	Body   []byte
}

func (e *BatchRefusedError) Error() string {
	return fmt.Sprintf("the $batch request was refused as a whole: HTTP %d", e.Status)
}

// Is makes a batch refused with 401 match job.ErrUnauthorized.
func (e *BatchRefusedError) Is(target error) bool {
	return target == job.ErrUnauthorized && e.Status == http.StatusUnauthorized
}

// batchRequest and batchAnswer are the JSON of a batch and of its answer.
type batchRequest struct {
	Requests []batchItem `json:"requests"`
}

type batchItem struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

type batchAnswer struct {
	Responses []struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"responses"`
}

// Batch sends reqs (at most MaxBatch) to endpoint, the service's $batch
// URL, and returns each one's final answer in the same order.
//
// Each sub-request is its own request as far as pace and retries go: the
// service throttles each on its own, so every sub-request in a batch takes
// a token of its pace, and the retry policy (retry.go) decides each
// sub-request's answer as it decides a standalone one's: a sub-request
// answered 429 holds the pace with its own Retry-After, and one answered
// 429, 500, 502, 503 or 504 (or missing from the answer) is sent again,
// alone with the others like it, in a later batch once the longest of
// their waits has passed. A batch that fails as a whole (a network error,
// 429 or 5xx on the batch itself) is retried by the same policy. Both
// count against one budget per sub-request: it is carried by MaxAttempts
// batches at most, whichever kind of failure caused the retry. A wait that
// would end after ctx's deadline fails the sub-requests it concerns with
// ErrBeyondDeadline.
func (t *Transport) Batch(ctx context.Context, endpoint string, header http.Header, reqs []SubRequest) []SubAnswer {
	b := &batch{t: t, ctx: ctx, endpoint: endpoint, header: header, reqs: reqs, answers: make([]SubAnswer, len(reqs))}
	pending := make([]int, len(reqs))
	for i := range pending {
		pending[i] = i
	}
	if len(reqs) > MaxBatch {
		b.fail(pending, fmt.Errorf("a batch holds %d requests, more than %d", len(reqs), MaxBatch))
		return b.answers
	}
	if u, err := url.Parse(endpoint); err != nil || t.allowed(u) != nil {
		b.fail(pending, fmt.Errorf("POST %s: %w", redactURL(endpoint), ErrOtherHost))
		return b.answers
	}
	b.paces = make([]*job.Pace, len(reqs))
	for i, r := range reqs {
		b.paces[i] = t.pace(subHTTPRequest(ctx, endpoint, r))
	}
	var notBefore time.Time
	for len(pending) > 0 {
		if err := t.sleep(ctx, notBefore); err != nil {
			b.fail(pending, ctxError(ctx, err))
			break
		}
		// While the service's budget sets the pace, a batch carries
		// fewer sub-requests (Pace.BatchSize); the rest go in the next
		// round of this loop.
		var rest []int
		if k := batchSize(b.paces, pending); k < len(pending) {
			rest = slices.Clone(pending[k:])
			pending = pending[:k]
		}
		retry, waits, err := b.round(pending)
		if err != nil {
			// A failure before the batch is answered is every pending
			// sub-request's, sent in this batch or not.
			b.fail(pending, err)
			b.fail(rest, err)
			break
		}
		pending, notBefore = b.reschedule(rest, retry, waits)
	}
	return b.answers
}

// batch is one call of Batch: its sub-requests, their paces and answers.
type batch struct {
	t        *Transport
	ctx      context.Context
	endpoint string
	header   http.Header
	reqs     []SubRequest
	paces    []*job.Pace
	answers  []SubAnswer
}

func (b *batch) fail(idx []int, err error) {
	for _, i := range idx {
		b.answers[i].Err = err
	}
}

// round sends the pending sub-requests in one batch and settles what its
// answer settles. It returns those to send again, with their waits, or
// the error that leaves every pending sub-request without an answer.
func (b *batch) round(pending []int) (retry []int, waits []time.Duration, err error) {
	t, ctx := b.t, b.ctx
	if err := t.batchPace(ctx, b.paces, pending); err != nil {
		return nil, nil, fmt.Errorf("POST %s: %w", redactURL(b.endpoint), err)
	}
	req, err := b.request(pending)
	if err != nil {
		return nil, nil, err
	}
	for _, i := range pending {
		b.answers[i].Attempts++
	}
	job.CountAttempt(ctx)
	resp, err := t.attempt(ctx, req, true)
	if errors.Is(err, ErrTooLarge) {
		return nil, nil, fmt.Errorf("POST %s: %w", redactURL(b.endpoint), err)
	}
	if ctx.Err() != nil && (err != nil || resp.StatusCode != http.StatusOK) {
		// Cut off without a whole answer. A whole 200 that arrived as
		// the run was cut off is still read: its outcomes are known.
		if resp != nil {
			drain(resp)
		}
		return nil, nil, ctxError(ctx, err)
	}
	verdict := classify(resp, err, t.now())
	switch {
	case verdict.Retry:
		retry, waits = b.retryAll(pending, verdict, resp)
	case resp.StatusCode != http.StatusOK:
		// Refused as a whole (400, 401, 403, or an answer that is no
		// batch answer at all): no sub-request's own answer, so none is
		// made of it.
		feedback(b.paces[pending[0]], verdict, 0, resp)
		if resp.StatusCode == http.StatusUnauthorized {
			job.Unauthorized(ctx, req.URL.Scheme+"://"+req.URL.Host)
		}
		b.fail(pending, &BatchRefusedError{Status: resp.StatusCode, Body: readAll(resp)})
	default:
		retry, waits = b.answered(resp, pending)
	}
	return retry, waits, nil
}

// request is the POST of a batch of the pending sub-requests.
func (b *batch) request(pending []int) (*http.Request, error) {
	body, err := json.Marshal(batchBody(b.reqs, pending))
	if err != nil {
		return nil, fmt.Errorf("encoding the batch: %w", err)
	}
	req, err := http.NewRequestWithContext(b.ctx, http.MethodPost, b.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, vs := range b.header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if err := b.t.authorize(b.ctx, req); err != nil {
		return nil, err
	}
	return req, nil
}

// retryAll decides a batch that failed as a whole (a network error, 429
// or 5xx on the batch itself): every sub-request in it is sent again
// within its budget; one whose budget is spent keeps the batch's answer.
func (b *batch) retryAll(pending []int, verdict Verdict, resp *http.Response) (retry []int, waits []time.Duration) {
	wait := b.t.decide(verdict, b.answers[pending[0]].Attempts).wait
	// The batch's pace is its first sub-request's.
	feedback(b.paces[pending[0]], verdict, wait, resp)
	var body []byte
	if resp != nil {
		body = readAll(resp)
	}
	for _, i := range pending {
		next := b.t.decide(verdict, b.answers[i].Attempts)
		if !next.again {
			if resp != nil {
				b.answers[i].Status, b.answers[i].Header, b.answers[i].Body = resp.StatusCode, resp.Header.Clone(), body
			} else {
				b.answers[i].Err = fmt.Errorf("POST %s: %s after %d attempts", redactURL(b.endpoint), verdict.Reason, b.answers[i].Attempts)
			}
			continue
		}
		retry, waits = append(retry, i), append(waits, wait)
		b.answers[i].Resent = b.answers[i].Resent || next.resent
	}
	b.t.logRetry(b.endpoint, len(retry), verdict.Reason, wait)
	return retry, waits
}

// answered reads a 200 answer to a batch: each sub-request's answer is
// decided by the retry policy, as a standalone request's would be.
func (b *batch) answered(resp *http.Response, pending []int) (retry []int, waits []time.Duration) {
	var ba batchAnswer
	if err := json.Unmarshal(readAll(resp), &ba); err != nil {
		// The service answered; whether it acted is unknown, and a write
		// is not sent again blindly.
		b.fail(pending, fmt.Errorf("the answer to the batch is not JSON: %w", err))
		return nil, nil
	}
	byID := map[string]int{}
	for k, r := range ba.Responses {
		byID[r.ID] = k
	}
	now := b.t.now()
	for _, i := range pending {
		k, ok := byID[strconv.Itoa(i)]
		var sub *http.Response
		var body []byte
		verdict := Verdict{Retry: true, Reason: "missing from the batch's answer"}
		if ok {
			r := ba.Responses[k]
			sub = &http.Response{StatusCode: r.Status, Header: http.Header{}}
			for name, v := range r.Headers {
				sub.Header.Set(name, v)
			}
			body = subBody(r.Body)
			verdict = classify(sub, nil, now)
		}
		next := b.t.decide(verdict, b.answers[i].Attempts)
		if ok {
			feedback(b.paces[i], verdict, next.wait, sub)
		}
		switch {
		case next.again:
			retry, waits = append(retry, i), append(waits, next.wait)
			// Not answered counts as a network error: it may have been
			// carried out.
			b.answers[i].Resent = b.answers[i].Resent || next.resent
			b.t.logSubRetry(b.reqs[i], b.answers[i].Attempts, verdict.Reason, next.wait, now)
		case !ok:
			b.answers[i].Err = fmt.Errorf("%s %s: missing from the batch's answer after %d attempts", b.reqs[i].Method, redactURL(b.reqs[i].URL), b.answers[i].Attempts)
		default:
			b.answers[i].Status, b.answers[i].Header, b.answers[i].Body = sub.StatusCode, sub.Header, body
		}
	}
	return retry, waits
}

// reschedule is the next round's sub-requests: those the last batch did
// not carry, and those to send again whose wait ends before the deadline
// (the others fail with ErrBeyondDeadline); notBefore is when the longest
// of those waits ends.
func (b *batch) reschedule(rest, retry []int, waits []time.Duration) (pending []int, notBefore time.Time) {
	pending = append(pending, rest...)
	now := b.t.now()
	for k, i := range retry {
		if b.t.beyond(b.ctx, waits[k]) {
			b.answers[i].Err = fmt.Errorf("%s %s: after %d attempts: %w (%s)", b.reqs[i].Method, redactURL(b.reqs[i].URL),
				b.answers[i].Attempts, ErrBeyondDeadline, waits[k].Round(time.Millisecond))
			continue
		}
		pending = append(pending, i)
		if at := now.Add(waits[k]); at.After(notBefore) {
			notBefore = at
		}
	}
	return pending, notBefore
}

// batchSize is how many of the pending sub-requests the next batch
// carries: what the most constrained of their paces allows.
func batchSize(paces []*job.Pace, pending []int) int {
	k := len(pending)
	for _, i := range pending {
		if paces[i] != nil {
			k = min(k, paces[i].BatchSize(k))
		}
	}
	return max(k, 1)
}

// batchPace waits, for each pace the pending sub-requests use, for the
// gate and for one token a sub-request.
func (t *Transport) batchPace(ctx context.Context, paces []*job.Pace, pending []int) error {
	counts := map[*job.Pace]int{}
	var order []*job.Pace
	for _, i := range pending {
		p := paces[i]
		if p == nil {
			continue
		}
		if counts[p] == 0 {
			order = append(order, p)
		}
		counts[p]++
	}
	for _, p := range order {
		if err := p.WaitN(ctx, counts[p]); err != nil {
			return fmt.Errorf("waiting for the pace: %w", err)
		}
	}
	return nil
}

func (t *Transport) logRetry(endpoint string, n int, reason string, wait time.Duration) {
	if t.Log != nil && n > 0 {
		t.Log.Debug("retrying a batch", zap.String("path", redactURL(endpoint)), zap.Int("requests", n),
			zap.String("reason", reason), zap.Duration("wait", wait))
	}
}

func (t *Transport) logSubRetry(r SubRequest, attempt int, reason string, wait time.Duration, now time.Time) {
	if t.Log != nil {
		t.Log.Debug("retrying a sub-request", zap.String("method", r.Method), zap.String("url", redactURL(r.URL)),
			zap.Int("attempt", attempt), zap.String("reason", reason), zap.Duration("wait", wait), zap.Time("at", now.Add(wait)))
	}
}

// batchBody is the JSON of a batch of the pending sub-requests; each one's
// id is its index in reqs, so that its answer finds it in any round.
func batchBody(reqs []SubRequest, pending []int) batchRequest {
	b := batchRequest{Requests: make([]batchItem, 0, len(pending))}
	for _, i := range pending {
		r := reqs[i]
		item := batchItem{ID: strconv.Itoa(i), Method: r.Method, URL: r.URL, Body: r.Body}
		if len(r.Header) > 0 {
			item.Headers = map[string]string{}
			for k, vs := range r.Header {
				item.Headers[k] = strings.Join(vs, ", ")
			}
		}
		if len(r.Body) > 0 {
			if item.Headers == nil {
				item.Headers = map[string]string{}
			}
			if _, ok := item.Headers["Content-Type"]; !ok {
				item.Headers["Content-Type"] = "application/json"
			}
		}
		b.Requests = append(b.Requests, item)
	}
	return b
}

// subHTTPRequest is a sub-request as a standalone request would look, for
// choosing its pace.
func subHTTPRequest(ctx context.Context, endpoint string, r SubRequest) *http.Request {
	u, err := url.Parse(strings.TrimSuffix(endpoint, "/$batch") + r.URL)
	if err != nil {
		u = &url.URL{Path: r.URL}
	}
	return (&http.Request{Method: r.Method, URL: u, Header: http.Header{}}).WithContext(ctx)
}

// subBody is a sub-response's body as bytes: JSON as it is; a JSON string
// (a body that is not JSON, which the service sends as a string) as its
// text.
func subBody(raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return []byte(s)
	}
	return raw
}

// readAll reads an answer's body (attempt has buffered it) and closes it.
func readAll(resp *http.Response) []byte {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	return buf.Bytes()
}

// redactURL prints a URL's path without its query.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Path
	}
	path, _, _ := strings.Cut(raw, "?")
	return path
}

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
// a token of its pace, a sub-request answered 429 closes the pace's gate
// with its own Retry-After exactly as a standalone 429 does, and a
// sub-request answered 429, 500, 502, 503 or 504 (or missing from the
// answer) is sent again, alone with the others like it, in a later batch
// once the longest of their waits has passed. A batch that fails as a
// whole (a network error, 429 or 5xx on the batch itself) is retried as
// any request is. Both count against one budget per sub-request: it is
// carried by MaxAttempts batches at most, whichever kind of failure
// caused the retry. A wait that would end after ctx's deadline fails the
// sub-requests it concerns with ErrBeyondDeadline.
func (t *Transport) Batch(ctx context.Context, endpoint string, header http.Header, reqs []SubRequest) []SubAnswer {
	answers := make([]SubAnswer, len(reqs))
	if len(reqs) > MaxBatch {
		err := fmt.Errorf("a batch holds %d requests, more than %d", len(reqs), MaxBatch)
		for i := range answers {
			answers[i].Err = err
		}
		return answers
	}
	if u, err := url.Parse(endpoint); err != nil || t.allowed(u) != nil {
		err = fmt.Errorf("POST %s: %w", redactURL(endpoint), ErrOtherHost)
		for i := range answers {
			answers[i].Err = err
		}
		return answers
	}
	maxAttempts := max(t.MaxAttempts, 1)
	paces := make([]*job.Pace, len(reqs))
	for i, r := range reqs {
		paces[i] = t.pace(subHTTPRequest(ctx, endpoint, r))
	}
	pending := make([]int, len(reqs))
	for i := range pending {
		pending[i] = i
	}
	var notBefore time.Time
	fail := func(idx []int, err error) {
		for _, i := range idx {
			answers[i].Err = err
		}
	}
	for len(pending) > 0 {
		if err := t.sleep(ctx, notBefore); err != nil {
			fail(pending, ctxError(ctx, err))
			return answers
		}
		// While the service's budget sets the pace, a batch carries
		// fewer sub-requests (Pace.BatchSize); the rest go in the next
		// round of this loop.
		var rest []int
		if k := batchSize(paces, pending); k < len(pending) {
			rest = slices.Clone(pending[k:])
			pending = pending[:k]
		}
		// A failure before the batch is answered is every pending
		// sub-request's, sent in this batch or not.
		failAll := func(err error) {
			fail(pending, err)
			fail(rest, err)
		}
		if err := t.batchPace(ctx, paces, pending); err != nil {
			failAll(fmt.Errorf("POST %s: %w", redactURL(endpoint), err))
			return answers
		}
		body, err := json.Marshal(batchBody(reqs, pending))
		if err != nil {
			failAll(fmt.Errorf("encoding the batch: %w", err))
			return answers
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			failAll(err)
			return answers
		}
		for k, vs := range header {
			req.Header[k] = vs
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if t.Token != nil {
			tok, err := t.Token(ctx)
			if err != nil {
				failAll(fmt.Errorf("getting a token: %w", err))
				return answers
			}
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		for _, i := range pending {
			answers[i].Attempts++
		}
		job.CountAttempt(ctx)
		resp, err := t.attempt(ctx, req, true)
		if errors.Is(err, ErrTooLarge) {
			fail(pending, fmt.Errorf("POST %s: %w", redactURL(endpoint), err))
			return answers
		}
		if ctx.Err() != nil && (err != nil || resp.StatusCode != http.StatusOK) {
			// Cut off without a whole answer. A whole 200 that arrived
			// as the run was cut off is still read: its outcomes are
			// known.
			if resp != nil {
				drain(resp)
			}
			failAll(ctxError(ctx, err))
			return answers
		}
		verdict := classify(resp, err, t.now())
		var retry []int
		var waits []time.Duration
		switch {
		case verdict.Retry:
			// The batch as a whole: every sub-request in it is retried.
			wait := verdict.After
			if wait <= 0 {
				wait = t.backoff(answers[pending[0]].Attempts)
			}
			if verdict.Throttled() {
				t.throttled(paces, pending[:1], wait)
			}
			var body []byte
			if resp != nil {
				body = readAll(resp)
			}
			for _, i := range pending {
				if answers[i].Attempts >= maxAttempts {
					if resp != nil {
						answers[i].Status, answers[i].Header, answers[i].Body = resp.StatusCode, resp.Header.Clone(), body
					} else {
						answers[i].Err = fmt.Errorf("POST %s: %s after %d attempts", redactURL(endpoint), verdict.Reason, answers[i].Attempts)
					}
					continue
				}
				retry, waits = append(retry, i), append(waits, wait)
				// Unless throttled, the batch may have been carried out.
				answers[i].Resent = answers[i].Resent || !verdict.Throttled()
			}
			t.logRetry(endpoint, len(retry), verdict.Reason, wait)
		case resp.StatusCode != http.StatusOK:
			// Refused as a whole (400, 401, 403, or an answer that is no
			// batch answer at all): no sub-request's own answer, so none
			// is made of it.
			t.succeeded(paces, pending[:1])
			if resp.StatusCode == http.StatusUnauthorized {
				job.Unauthorized(ctx, req.URL.Scheme+"://"+req.URL.Host)
			}
			refused := &BatchRefusedError{Status: resp.StatusCode, Body: readAll(resp)}
			for _, i := range pending {
				answers[i].Err = refused
			}
		default:
			retry, waits = t.batchAnswers(resp, reqs, pending, paces, answers, maxAttempts)
		}
		pending = append(pending[:0], rest...)
		notBefore = time.Time{}
		deadline, hasDeadline := ctx.Deadline()
		now := t.now()
		for k, i := range retry {
			at := now.Add(waits[k])
			if hasDeadline && at.After(deadline) {
				answers[i].Err = fmt.Errorf("%s %s: after %d attempts: %w (%s)", reqs[i].Method, redactURL(reqs[i].URL),
					answers[i].Attempts, ErrBeyondDeadline, waits[k].Round(time.Millisecond))
				continue
			}
			pending = append(pending, i)
			if at.After(notBefore) {
				notBefore = at
			}
		}
	}
	return answers
}

// batchAnswers reads a 200 answer to a batch: it settles the sub-requests
// answered for good and returns those to send again, with their waits.
func (t *Transport) batchAnswers(resp *http.Response, reqs []SubRequest, pending []int, paces []*job.Pace,
	answers []SubAnswer, maxAttempts int) (retry []int, waits []time.Duration) {
	var ba batchAnswer
	body := readAll(resp)
	if err := json.Unmarshal(body, &ba); err != nil {
		// The service answered; whether it acted is unknown, and a write
		// is not sent again blindly.
		for _, i := range pending {
			answers[i].Err = fmt.Errorf("the answer to the batch is not JSON: %w", err)
		}
		return nil, nil
	}
	byID := map[string]int{}
	for k, r := range ba.Responses {
		byID[r.ID] = k
	}
	now := t.now()
	for _, i := range pending {
		k, ok := byID[strconv.Itoa(i)]
		if !ok {
			// Not answered: as a network error, it is sent again.
			if answers[i].Attempts >= maxAttempts {
				answers[i].Err = fmt.Errorf("%s %s: missing from the batch's answer after %d attempts", reqs[i].Method, redactURL(reqs[i].URL), answers[i].Attempts)
				continue
			}
			retry, waits = append(retry, i), append(waits, t.backoff(answers[i].Attempts))
			answers[i].Resent = true
			continue
		}
		r := ba.Responses[k]
		h := http.Header{}
		for name, v := range r.Headers {
			h.Set(name, v)
		}
		sub := &http.Response{StatusCode: r.Status, Header: h}
		verdict := classify(sub, nil, now)
		wait := verdict.After
		if verdict.Retry && wait <= 0 {
			wait = t.backoff(answers[i].Attempts)
		}
		if verdict.Throttled() {
			t.throttled(paces, []int{i}, wait)
		} else {
			t.succeeded(paces, []int{i})
			if share, ok := LimitShare(h); ok && paces[i] != nil {
				paces[i].NearLimit(share)
			}
		}
		if verdict.Retry && answers[i].Attempts < maxAttempts {
			retry, waits = append(retry, i), append(waits, wait)
			answers[i].Resent = answers[i].Resent || !verdict.Throttled()
			if t.Log != nil {
				t.Log.Debug("retrying a sub-request", zap.String("method", reqs[i].Method), zap.String("url", redactURL(reqs[i].URL)),
					zap.Int("attempt", answers[i].Attempts), zap.String("reason", verdict.Reason), zap.Duration("wait", wait),
					zap.Time("at", now.Add(wait)))
			}
			continue
		}
		answers[i].Status, answers[i].Header, answers[i].Body = r.Status, h, subBody(r.Body)
	}
	return retry, waits
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

func (t *Transport) throttled(paces []*job.Pace, idx []int, wait time.Duration) {
	for _, i := range idx {
		if paces[i] != nil {
			paces[i].Throttled(wait)
		}
	}
}

func (t *Transport) succeeded(paces []*job.Pace, idx []int) {
	for _, i := range idx {
		if paces[i] != nil {
			paces[i].Succeeded()
		}
	}
}

func (t *Transport) logRetry(endpoint string, n int, reason string, wait time.Duration) {
	if t.Log != nil && n > 0 {
		t.Log.Debug("retrying a batch", zap.String("path", redactURL(endpoint)), zap.Int("requests", n),
			zap.String("reason", reason), zap.Duration("wait", wait))
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

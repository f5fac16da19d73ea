package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// Batcher sends Graph JSON batches ($batch), pacing and retrying each
// sub-request on its own: the job's transport. Batching goes through it
// rather than the SDK's batch API because the SDK does not retry inside a
// batch, and the transport keeps one retry budget and one pace for a
// removal whether it travels alone or in a batch.
type Batcher interface {
	Batch(ctx context.Context, endpoint string, header http.Header, reqs []transport.SubRequest) []transport.SubAnswer
}

var _ Batcher = (*transport.Transport)(nil)

// subRequest turns a request the SDK built into a sub-request of a batch:
// its URL relative to the version, its headers and its JSON body. Building
// every request with the SDK, batched or not, keeps one place per kind of
// request (memberRef's for the membership DELETE).
func (c *Client) subRequest(info *abstractions.RequestInformation) (transport.SubRequest, error) {
	u, err := info.GetUri()
	if err != nil {
		return transport.SubRequest{}, fmt.Errorf("building the request URL: %w", err)
	}
	base, err := url.Parse(c.base)
	if err != nil {
		return transport.SubRequest{}, err
	}
	path := u.EscapedPath()
	if !strings.HasPrefix(path, base.EscapedPath()+"/") {
		return transport.SubRequest{}, fmt.Errorf("%s is not under %s", u.Path, c.base)
	}
	rel := strings.TrimPrefix(path, base.EscapedPath())
	if u.RawQuery != "" {
		rel += "?" + decodeQueryNames(u.RawQuery)
	}
	sub := transport.SubRequest{Method: info.Method.String(), URL: rel, Header: http.Header{}}
	for _, k := range info.Headers.ListKeys() {
		for _, v := range info.Headers.Get(k) {
			sub.Header.Add(k, v)
		}
	}
	if len(info.Content) > 0 {
		sub.Body = info.Content
	}
	return sub, nil
}

// sendBatch sends the sub-requests whose index is in idx in batches of
// the client's batch size and returns every answer by index. A DELETE of
// a member without /$ref is refused here, as memberGuard refuses it on the
// wire: a batch carries it past the guard.
func (c *Client) sendBatch(ctx context.Context, subs []transport.SubRequest, idx []int) map[int]transport.SubAnswer {
	out := make(map[int]transport.SubAnswer, len(idx))
	var send []int
	for _, i := range idx {
		path, _, _ := strings.Cut(subs[i].URL, "?")
		if subs[i].Method == http.MethodDelete && deletesMember(path) {
			out[i] = transport.SubAnswer{Err: errMemberDelete}
			continue
		}
		send = append(send, i)
	}
	header := http.Header{"User-Agent": {c.userAgent}}
	size := min(max(c.batchSize, 1), transport.MaxBatch)
	for len(send) > 0 {
		n := min(size, len(send))
		chunk := make([]transport.SubRequest, n)
		for k, i := range send[:n] {
			chunk[k] = subs[i]
		}
		answers := c.batch.Batch(ctx, c.base+"/$batch", header, chunk)
		for k, i := range send[:n] {
			out[i] = answers[k]
		}
		send = send[n:]
	}
	return out
}

// firstPages builds the first pages of n listings with build and, when
// the client batches, sends them in $batch. urls[i] is listing i's first
// page (readAll follows it), answers[i] its answer in a batch (nil: not
// batched, readAll sends the page itself), errs[i] why it could not be
// built (it is not sent).
func (c *Client) firstPages(ctx context.Context, n int, build func(i int) (*abstractions.RequestInformation, error)) (
	urls []string, answers []*transport.SubAnswer, errs map[int]error) {
	urls, answers, errs = make([]string, n), make([]*transport.SubAnswer, n), map[int]error{}
	subs := make([]transport.SubRequest, n)
	var idx []int
	for i := range n {
		info, err := build(i)
		var u *url.URL
		if err == nil {
			u, err = info.GetUri()
		}
		if err == nil && c.batchSize > 1 {
			subs[i], err = c.subRequest(info)
		}
		if err != nil {
			errs[i] = err
			continue
		}
		urls[i] = u.String()
		if c.batchSize > 1 {
			idx = append(idx, i)
		}
	}
	if len(idx) > 0 {
		for i, a := range c.sendBatch(ctx, subs, idx) {
			answers[i] = &a
		}
	}
	return urls, answers, errs
}

// answerError is a sub-request's answer as the single request's path
// classifies it: nil for 2xx, an *transport.ServiceError with the service's code and
// message (either error shape) for an error status, or the transport's
// error when there was no answer.
func answerError(a transport.SubAnswer) error {
	var refused *transport.BatchRefusedError
	if errors.As(a.Err, &refused) {
		// The batch's answer, not this request's: a failure that names
		// the service's reason, never an outcome (a 404 from a gateway
		// is no proof the assignment is gone).
		if code, msg := transport.ErrorText(refused.Body); code != "" || msg != "" {
			return fmt.Errorf("%w: %s", refused, strings.TrimPrefix(code+": "+msg, ": "))
		}
		return refused
	}
	if a.Err != nil {
		return a.Err
	}
	if a.Status/100 == 2 {
		return nil
	}
	code, msg := transport.ErrorText(a.Body)
	if code == "" && msg == "" {
		msg = http.StatusText(a.Status)
	}
	return &transport.ServiceError{Status: a.Status, Code: code, Message: msg}
}

// removeBatch builds one request per assignment with build, sends them in
// batches and maps each answer with outcome.
func (c *Client) removeBatch(ctx context.Context, as []job.Assignment,
	build func(job.Assignment) (*abstractions.RequestInformation, error),
	outcome func(error) (job.Outcome, error)) []job.BatchResult {
	out := make([]job.BatchResult, len(as))
	subs := make([]transport.SubRequest, len(as))
	var idx []int
	for i, a := range as {
		info, err := build(a)
		if err == nil {
			subs[i], err = c.subRequest(info)
		}
		if err != nil {
			out[i].Err = err
			continue
		}
		idx = append(idx, i)
	}
	for i, a := range c.sendBatch(ctx, subs, idx) {
		out[i].Attempts += a.Attempts
		out[i].Resent = out[i].Resent || a.Resent
		out[i].Outcome, out[i].Err = outcome(answerError(a))
	}
	return out
}

// decodeQueryNames does to a sub-request's query what the SDK's
// ParametersNameDecodingHandler does to a standalone request's on its way
// out (%24filter back to $filter, and -, ., ~ likewise), so that a request
// reads the same batched or alone.
func decodeQueryNames(query string) string {
	for _, c := range "$-.~" {
		enc := fmt.Sprintf("%%%X", c)
		query = strings.ReplaceAll(query, enc, string(c))
		query = strings.ReplaceAll(query, strings.ToLower(enc), string(c))
	}
	return query
}

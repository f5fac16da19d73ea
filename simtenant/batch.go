package simtenant

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxBatch is the most requests one $batch may hold.
const maxBatch = 20

// callKind tells a standalone request from a $batch and its sub-requests.
type callKind int

const (
	standalone callKind = iota
	batchEnvelope
	subRequest
)

// isBatchRequest reports whether r is POST /v1.0/$batch.
func isBatchRequest(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	p, err := url.PathUnescape(r.URL.EscapedPath())
	return err == nil && strings.EqualFold(strings.TrimRight(p, "/"), "/v1.0/$batch")
}

// batchItem is one request of a $batch body.
type batchItem struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

// batchResponse is one answer in a $batch answer.
type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// serveBatch answers POST /v1.0/$batch, Graph's JSON batching. The batch
// itself was authenticated and delayed by the latency once; it is neither
// throttled nor faulted (a rule aimed at $batch can fail it as a whole).
// Each sub-request then goes through the same stages as a standalone
// request, in the order the body lists them: it is logged and counted,
// rules are matched against it, it is charged to the throttle (a throttled
// one is answered 429 with its own Retry-After, inside the 200), faults are
// injected by its own key, and it is routed. So the same seed and the same
// requests give the same answers, batched or not.
//
// A rule that matches a sub-request and resets the connection resets the
// batch's (the sub-requests before it were acted on, those after it were
// not); one that cuts off or loses the answer does so to the batch's
// answer, once every sub-request has been acted on; a delay delays the
// batch.
func (t *Tenant) serveBatch(c *call) {
	var in struct {
		Requests []batchItem `json:"requests"`
	}
	if err := json.Unmarshal(c.body, &in); err != nil {
		c.badRequest("Invalid batch payload format.")
		return
	}
	switch n := len(in.Requests); {
	case n == 0:
		c.badRequest("Invalid batch payload format: the batch holds no request.")
		return
	case n > maxBatch:
		c.badRequest(fmt.Sprintf("Limit of %d requests per batch exceeded: the batch holds %d.", maxBatch, n))
		return
	}
	ids := map[string]bool{}
	for _, it := range in.Requests {
		if it.ID == "" || it.Method == "" || it.URL == "" {
			c.badRequest("Invalid batch payload format: every request needs an id, a method and a url.")
			return
		}
		if ids[it.ID] {
			c.badRequest("Batch request ids must be unique: '" + it.ID + "' is used twice.")
			return
		}
		ids[it.ID] = true
	}
	out := struct {
		Responses []batchResponse `json:"responses"`
	}{Responses: make([]batchResponse, 0, len(in.Requests))}
	hold, lose := false, false
	for _, it := range in.Requests {
		resp, sub := t.serveSub(c, it)
		if sub != nil && sub.gone {
			// The batch's connection was reset: nothing more is served.
			c.gone = true
			return
		}
		if sub != nil && sub.rule != nil && (sub.rule.CutAnswer || sub.rule.LoseAnswer) {
			hold, lose = true, lose || sub.rule.LoseAnswer
		}
		out.Responses = append(out.Responses, resp)
	}
	if hold {
		if _, held := c.w.ResponseWriter.(*heldAnswer); !held {
			c.hold(lose)
			defer c.deliverHeld()
		} else {
			c.loseHeld, c.holdWhole = c.loseHeld || lose, false
		}
	}
	c.ok(out)
}

// serveSub serves one sub-request of the batch c and returns its answer,
// and its call when it got as far as being logged.
func (t *Tenant) serveSub(c *call, it batchItem) (batchResponse, *call) {
	fail := func(status int, code, message string) batchResponse {
		b, _ := json.Marshal(graphError{Error: graphErrorBody{Code: code, Message: message,
			InnerError: graphInnerError{RequestID: c.requestID, ClientRequestID: c.clientRequestID}}})
		return batchResponse{ID: it.ID, Status: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: b}
	}
	rel := it.URL
	if u, err := url.Parse(rel); err != nil || u.IsAbs() || u.Host != "" {
		return fail(http.StatusBadRequest, "BadRequest", "Invalid request URL '"+it.URL+"': it must be relative to the version."), nil
	}
	if !strings.HasPrefix(rel, "/") {
		rel = "/" + rel
	}
	u, err := url.Parse("/v1.0" + rel)
	if err != nil {
		return fail(http.StatusBadRequest, "BadRequest", "Invalid request URL '"+it.URL+"'."), nil
	}
	var body []byte
	if len(it.Body) > 0 && string(it.Body) != "null" {
		body = it.Body
	}
	r := &http.Request{
		Method:     strings.ToUpper(it.Method),
		URL:        u,
		Proto:      c.r.Proto,
		ProtoMajor: c.r.ProtoMajor,
		ProtoMinor: c.r.ProtoMinor,
		Header:     http.Header{},
		Host:       c.r.Host,
		RequestURI: u.RequestURI(),
		RemoteAddr: c.r.RemoteAddr,
		Body:       http.NoBody,
	}
	r = r.WithContext(c.r.Context())
	for k, v := range it.Headers {
		r.Header.Set(k, v)
	}
	// The batch's credentials are the sub-request's.
	if auth := c.r.Header.Get("Authorization"); auth != "" {
		r.Header.Set("Authorization", auth)
	}
	sw := &subWriter{header: http.Header{}, parent: c.w}
	sub := t.beginCall(sw, r, body, nil, subRequest)
	defer t.finish(sub)
	sub.legacy = c.legacy
	answered := false
	if sub.rule = t.matchRule(r); sub.rule != nil {
		answered = !t.applyRule(sub)
	}
	if sub.gone {
		return batchResponse{}, sub
	}
	switch {
	case answered:
	case isBatchRequest(r):
		sub.badRequest("A batch may not hold another batch.")
	case body != nil && r.Header.Get("Content-Type") == "":
		sub.badRequest("Content-Type header must be specified for a request with a body.")
	default:
		t.handleAdmitted(sub)
	}
	if sub.rule != nil && sub.rule.Acted != nil {
		sub.rule.Acted(r)
	}
	if sw.status == 0 {
		sw.WriteHeader(http.StatusOK)
	}
	resp := batchResponse{ID: it.ID, Status: sw.status, Headers: map[string]string{}}
	for k, vs := range sw.header {
		if len(vs) > 0 {
			resp.Headers[k] = vs[0]
		}
	}
	if b := bytes.TrimSpace(sw.body.Bytes()); len(b) > 0 {
		if json.Valid(b) {
			resp.Body = b
		} else {
			resp.Body, _ = json.Marshal(string(b))
		}
	}
	return resp, sub
}

// subWriter collects the answer to a sub-request. Unwrap leads to the
// batch's connection, so that a rule resetting a sub-request resets it.
type subWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
	parent http.ResponseWriter
}

func (w *subWriter) Header() http.Header { return w.header }

func (w *subWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *subWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

func (w *subWriter) Unwrap() http.ResponseWriter { return w.parent }

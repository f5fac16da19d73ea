package simtenant

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxBody bounds a request body, before and after gzip decoding; Graph's
// largest bodies (a $batch of 20) are far smaller.
const maxBody = 4 << 20

// successContentType is what Graph sends with a JSON answer.
const successContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// origin says which stage of the pipeline answered a request, for Stats.
type origin int

const (
	byHandler origin = iota
	byRule
	byThrottle
	byFault
)

// call is one request on its way through the pipeline.
type call struct {
	t               *Tenant
	w               *recorder
	r               *http.Request
	params          map[string]string
	at              time.Time
	seq             int // position in the log counting entries ResetRequests dropped
	requestID       string
	clientRequestID string
	legacy          bool // a rule asked for the older error shape
	body            []byte
	bodyErr         error
	rule            *Rule
	origin          origin
	// kind says whether this is a standalone request, a $batch envelope
	// or a sub-request inside one (batch.go).
	kind callKind
	// loseHeld: the held answer (hold) is dropped rather than cut off;
	// holdWhole: it is sent whole (held only for the rule's Acted hook).
	loseHeld, holdWhole bool
	// gone: the connection was reset or hung up on; nothing more is sent.
	gone bool
}

// param is a percent-decoded path parameter of the matched route.
func (c *call) param(name string) string { return c.params[name] }

// writeJSON answers status with v encoded as JSON.
func (c *call) writeJSON(status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the tenant's own types get here; failing loudly beats a
		// half-written answer.
		panic(fmt.Sprintf("simtenant: encoding answer: %v", err))
	}
	c.w.Header().Set("Content-Type", contentType)
	c.w.WriteHeader(status)
	c.w.Write(b)
}

// ok answers 200 with a Graph JSON body.
func (c *call) ok(v any) { c.writeJSON(http.StatusOK, successContentType, v) }

// created answers 201 with a Graph JSON body, as Graph does for a POST
// that makes an object.
func (c *call) created(v any) { c.writeJSON(http.StatusCreated, successContentType, v) }

// noContent answers 204, as Graph does for a DELETE.
func (c *call) noContent() { c.w.WriteHeader(http.StatusNoContent) }

// recorder captures the status of an answer, and the Retry-After it names at
// the moment it is sent, so a retry that comes back too early is caught.
type recorder struct {
	http.ResponseWriter
	c      *call
	status int
}

func (w *recorder) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status = status
	// One reading of the clock: an HTTP date is a moment, and reading
	// the clock again to add the wait to would move it later.
	now := w.c.t.cfg.Now()
	if wait, ok := retryAfter(w.Header(), now); ok {
		w.c.t.noteRetryAfter(w.c, now.Add(wait))
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (for resets).
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// retryAfter reads the wait an answer names: Retry-After in seconds or as an
// HTTP date, or x-ms-retry-after-ms.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if at, err := http.ParseTime(v); err == nil {
			return at.Sub(now), true
		}
	}
	if v := h.Get("x-ms-retry-after-ms"); v != "" {
		if ms, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && ms >= 0 {
			return time.Duration(ms) * time.Millisecond, true
		}
	}
	return 0, false
}

// retryKey identifies "the same request again" for the Retry-After check:
// the method, the URI and the body, so that two different POSTs to one
// collection (two PIM removals) are two requests, and one sent while the
// other's 429 was on its way is no early retry.
func retryKey(r *http.Request, body []byte) string {
	key := r.Method + " " + r.URL.RequestURI()
	if len(body) > 0 {
		key += fmt.Sprintf(" %016x", hash64(0, "body", string(body)))
	}
	return key
}

// noteRetryAfter remembers when the request answered with a wait may come
// back at the earliest.
func (t *Tenant) noteRetryAfter(c *call, until time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.retryAfter[retryKey(c.r, c.body)] = until
}

// Handler serves the tenant's HTTP API: Graph under /v1.0, ARM under
// /subscriptions and /providers (arm_server.go), and StatsPath.
func (t *Tenant) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == StatsPath {
			t.serveStats(w, r)
			return
		}
		t.serve(w, r)
	})
}

// StatsPath serves the tenant's Stats and Violations as JSON, for a
// benchmark or a person watching a tenant served by another process. It is
// no Graph or ARM path, and it is answered outside the pipeline: it is not
// logged, counted, throttled or delayed, and it needs no token (the tenant
// serves loopback only, and the figures hold no secret).
const StatsPath = "/_sim/stats"

// StatsReport is the body of GET StatsPath.
type StatsReport struct {
	Stats
	Violations []string `json:"violations"`
}

func (t *Tenant) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	b, err := json.Marshal(StatsReport{Stats: t.Stats(), Violations: t.Violations()})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

// serve runs one request through the pipeline: latency, scripted rules,
// authentication, body decoding, throttling, injected faults, routing. A
// stage that answers ends the request; a throttled or faulted request never
// reaches a handler, so it changes nothing.
func (t *Tenant) serve(w http.ResponseWriter, r *http.Request) {
	c := t.begin(w, r)
	defer t.finish(c)

	delay := (*call).wait
	if t.delay != nil {
		delay = t.delay
	}
	if !delay(c, t.latency()) {
		return
	}
	if c.rule = t.matchRule(r); c.rule != nil {
		if !t.applyRule(c) {
			return
		}
		if c.rule.CutAnswer || c.rule.LoseAnswer || c.rule.Acted != nil {
			c.hold(c.rule.LoseAnswer)
			c.holdWhole = !c.rule.CutAnswer && !c.rule.LoseAnswer
			defer c.deliverHeld() // before finish, which logs the status
		}
	}
	if !t.authenticate(c) {
		return
	}
	if c.bodyErr != nil {
		c.error(http.StatusBadRequest, "BadRequest", "Failed to read the request body: "+c.bodyErr.Error())
		return
	}
	if c.kind == batchEnvelope {
		t.serveBatch(c)
		return
	}
	t.handleAdmitted(c)
}

// handleAdmitted runs the stages after authentication: throttling,
// injected faults, routing. A sub-request of a batch goes through them
// exactly as a standalone request does.
func (t *Tenant) handleAdmitted(c *call) {
	if !t.admit(c) {
		return
	}
	if t.injectFault(c) {
		return
	}
	if !t.refuseUnlicensedOrDenied(c) {
		return
	}
	t.dispatch(c)
}

// begin logs the request's arrival, reads its body and sets the headers
// every Graph answer carries.
func (t *Tenant) begin(w http.ResponseWriter, r *http.Request) *call {
	body, bodyErr := readBody(r)
	kind := standalone
	if isBatchRequest(r) {
		kind = batchEnvelope
	}
	return t.beginCall(w, r, body, bodyErr, kind)
}

// beginCall is begin for a request whose body is read: a standalone
// request, a batch, or a sub-request of a batch.
func (t *Tenant) beginCall(w http.ResponseWriter, r *http.Request, body []byte, bodyErr error, kind callKind) *call {
	c := &call{t: t, r: r, kind: kind}
	c.w = &recorder{ResponseWriter: w, c: c}
	c.body, c.bodyErr = body, bodyErr

	t.mu.Lock()
	c.at = t.cfg.Now()
	t.requestSeq++
	c.requestID = guidFromHash(hash64(t.cfg.Seed, "request", strconv.FormatUint(t.requestSeq, 10)))
	c.seq = t.logDropped + len(t.log)
	t.inFlight++
	t.log = append(t.log, Request{
		At:          c.at,
		Method:      r.Method,
		Path:        r.URL.Path,
		EscapedPath: r.URL.EscapedPath(),
		RawQuery:    r.URL.RawQuery,
		Header:      r.Header.Clone(),
		Body:        c.body,
		InBatch:     kind == subRequest,
	})
	switch kind {
	case standalone:
		t.stats.Requests++
		t.stats.ByMethod[r.Method]++
	case batchEnvelope:
		t.stats.Requests++
		t.stats.Batches++
	case subRequest:
		t.stats.SubRequests++
		t.stats.ByMethod[r.Method]++
	}
	key := retryKey(r, c.body)
	if notBefore, ok := t.retryAfter[key]; ok {
		if c.at.Before(notBefore) {
			t.violationLocked("%s %s arrived at %s, before the Retry-After it was given (%s)",
				r.Method, r.URL.RequestURI(), c.at.Format(time.RFC3339Nano), notBefore.Format(time.RFC3339Nano))
		}
		delete(t.retryAfter, key)
	}
	if v := memberDeleteViolation(r.Method, r.URL.EscapedPath()); v != "" {
		t.violationLocked("%s", v)
	}
	t.mu.Unlock()

	c.clientRequestID = r.Header.Get("client-request-id")
	if c.clientRequestID == "" {
		c.clientRequestID = c.requestID
	}
	h := w.Header()
	h.Set("request-id", c.requestID)
	h.Set("client-request-id", c.clientRequestID)
	h.Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"Simulated","Slice":"E","Ring":"1","ScaleUnit":"000","RoleInstance":"simtenant"}}`)
	return c
}

// finish records the answer in the log and the counters, then runs the
// matched rule's After hook.
func (t *Tenant) finish(c *call) {
	status := c.w.status
	t.mu.Lock()
	defer func() {
		t.mu.Unlock()
		if c.rule != nil && c.rule.After != nil {
			c.rule.After(c.r, status)
		}
	}()
	t.inFlight--
	i := c.seq - t.logDropped
	if i < 0 {
		return // ResetRequests came while this request was served
	}
	t.log[i].Status = status
	logRequest(t.log[i])
	if c.kind == batchEnvelope {
		t.stats.BatchesByStatus[status]++
		if c.origin == byRule {
			t.stats.Ruled++
		}
		return
	}
	t.stats.ByStatus[status]++
	byStatus := t.stats.ByMethodStatus[c.r.Method]
	if byStatus == nil {
		byStatus = map[int]int{}
		t.stats.ByMethodStatus[c.r.Method] = byStatus
	}
	byStatus[status]++
	switch c.origin {
	case byRule:
		t.stats.Ruled++
	case byThrottle:
		t.stats.Throttled++
	case byFault:
		t.stats.Faults++
	}
}

// readBody reads a request body, decoding Content-Encoding: gzip as the
// kiota SDKs send it.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxBody {
		return nil, errors.New("body too large")
	}
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return raw, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		out, err := io.ReadAll(io.LimitReader(zr, maxBody+1))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		if len(out) > maxBody {
			return nil, errors.New("body too large")
		}
		return out, nil
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
}

// latency is how long to hold this answer back.
func (t *Tenant) latency() time.Duration {
	d := t.cfg.Latency
	if t.cfg.Jitter > 0 {
		t.mu.Lock()
		d += time.Duration(t.jitter.Int64N(int64(t.cfg.Jitter)))
		t.mu.Unlock()
	}
	return d
}

// wait holds the request for d, or until the client goes away or the
// server shuts down; false means there is nobody left to answer.
func (c *call) wait(d time.Duration) bool {
	if d <= 0 {
		return c.r.Context().Err() == nil
	}
	if sleep := c.t.cfg.SleepUntil; sleep != nil {
		return sleep(c.r.Context(), c.t.cfg.Now().Add(d)) == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-c.r.Context().Done():
		return false
	case <-timer.C:
		return true
	}
}

// authenticate checks the bearer token as Graph does, before anything else
// is looked at.
func (t *Tenant) authenticate(c *call) bool {
	if isARMPath(c.r.URL.Path) {
		return t.authenticateARM(c)
	}
	scheme, token, _ := strings.Cut(c.r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") && token == t.token {
		return true
	}
	c.w.Header().Set("WWW-Authenticate",
		`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
	message := "Access token validation failure."
	if strings.TrimSpace(token) == "" {
		message = "Access token is empty."
	}
	c.error(http.StatusUnauthorized, "InvalidAuthenticationToken", message)
	return false
}

// admit charges the request to the throttle and answers 429 when the bucket
// is empty.
func (t *Tenant) admit(c *call) bool {
	if isARMPath(c.r.URL.Path) {
		return t.admitARM(c)
	}
	// getByIds is a read sent as a POST (group_access.go).
	write := isWrite(c.r.Method) && !isGetByIDs(c.r.URL.Path)
	t.mu.Lock()
	var wait time.Duration
	if write {
		now := t.cfg.Now()
		if wait = t.graphWrite.take(now, 1); wait <= 0 {
			t.limitPercentageLocked(c.w.Header(), c.requestID, now)
		}
	} else {
		wait = t.graphRead.take(t.cfg.Now(), readCost(c.r.URL.Query()))
	}
	t.mu.Unlock()
	if wait <= 0 {
		return true
	}
	info := "ResourceUnitLimitExceeded"
	if write {
		info = "WriteLimitExceeded"
	}
	h := c.w.Header()
	h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
	h.Set("x-ms-throttle-scope", "Tenant_Application/ReadWrite/"+t.tenantID+"/"+t.callerAppID)
	h.Set("x-ms-throttle-information", info)
	c.origin = byThrottle
	c.error(http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
	return false
}

// retryAfterSeconds rounds a wait up to whole seconds, at least one, so a
// client that honours it finds a token waiting.
func retryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// isWrite tells writes from reads: they are throttled by separate buckets.
func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// route is one entry of the routing table. A pattern segment in braces is
// a parameter; other segments match case-insensitively and after
// percent-decoding (a client may send $ref as %24ref), as Graph's do.
type route struct {
	method string
	segs   []string
	handle func(*call)
}

// handle adds a route; files for each service area call it from New.
func (t *Tenant) handle(method, pattern string, h func(*call)) {
	t.routes = append(t.routes, route{method: method, segs: splitPath(pattern), handle: h})
}

func splitPath(p string) []string {
	return strings.Split(strings.TrimPrefix(p, "/"), "/")
}

// match reports how many leading segments of path the route matches and,
// when it matches all of them, the decoded parameters.
func (rt route) match(path []string) (map[string]string, int, bool) {
	params := map[string]string{}
	n := 0
	for ; n < len(path) && n < len(rt.segs); n++ {
		seg := rt.segs[n]
		if strings.HasPrefix(seg, "{") {
			v, err := url.PathUnescape(path[n])
			if err != nil || v == "" {
				break
			}
			params[strings.Trim(seg, "{}")] = v
			continue
		}
		if lit, err := url.PathUnescape(path[n]); err != nil || !strings.EqualFold(seg, lit) {
			break
		}
	}
	return params, n, n == len(path) && n == len(rt.segs)
}

// dispatch finds the route for a request: Graph answers an unknown path
// with 400 naming the first segment it could not resolve, and a known path
// with the wrong method with 405.
func (t *Tenant) dispatch(c *call) {
	path := splitPath(c.r.URL.EscapedPath())
	depth := 0
	var allowed []string
	for _, rt := range t.routes {
		params, n, ok := rt.match(path)
		depth = max(depth, n)
		if !ok {
			continue
		}
		if rt.method != c.r.Method {
			allowed = append(allowed, rt.method)
			continue
		}
		c.params = params
		rt.handle(c)
		return
	}
	if isARMPath(c.r.URL.Path) {
		t.armNoRoute(c, allowed)
		return
	}
	if len(allowed) > 0 {
		slices.Sort(allowed)
		c.w.Header().Set("Allow", strings.Join(slices.Compact(allowed), ", "))
		c.error(http.StatusMethodNotAllowed, "Request_BadRequest",
			"Specified HTTP method is not allowed for the request target.")
		return
	}
	segment := ""
	if depth < len(path) {
		segment, _ = url.PathUnescape(path[depth])
	} else if len(path) > 0 {
		segment, _ = url.PathUnescape(path[len(path)-1])
	}
	c.badRequest("Resource not found for the segment '" + segment + "'.")
}

// Server is a tenant served over HTTP.
type Server struct {
	http     *http.Server
	listener net.Listener
	done     chan struct{}
	once     sync.Once
}

// Start serves the tenant on addr ("127.0.0.1:0" picks a free port) until
// ctx ends or Close is called. Handlers see ctx's cancellation too.
func (t *Tenant) Start(ctx context.Context, addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("simtenant: listen on %s: %w", addr, err)
	}
	s := &Server{
		http: &http.Server{
			Handler:           t.Handler(),
			BaseContext:       func(net.Listener) context.Context { return ctx },
			ReadHeaderTimeout: 10 * time.Second,
			// Resets and clients that hang up are part of the act; keep
			// the demo's terminal clean of net/http's complaints.
			ErrorLog: log.New(io.Discard, "", 0),
		},
		listener: ln,
		done:     make(chan struct{}),
	}
	go s.http.Serve(ln)
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

// URL is the Graph service root, without version, and the ARM root:
// http://127.0.0.1:PORT.
func (s *Server) URL() string { return "http://" + s.listener.Addr().String() }

// Close stops the server at once, cutting open connections.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		err = s.http.Close()
	})
	return err
}

package simtenant

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Rule scripts an answer for the requests it matches. Rules are tried in the
// order they were added, before authentication and throttling; the first
// live match applies and uses up one of its Times.
//
// What it does, in order: Before runs; Delay passes; then Reset cuts the
// connection, or a non-zero Status answers (Body as it is, or else a Graph
// error with Code and Message, defaulting by status); with neither, the
// request goes on to normal handling, using the legacy error shape when
// Legacy is set. After runs once the answer is out.
//
//	the first DELETE of X gets 429, Retry-After 2:
//	  Rule{Method: "DELETE", PathContains: X, Times: 1, Status: 429, Header: http.Header{"Retry-After": {"2"}}}
//	every request gets 503 three times:   Rule{Times: 3, Status: 503}
//	403 for Y:                            Rule{PathContains: Y, Status: 403}  (Authorization_RequestDenied)
//	legacy error body for Z:              Rule{PathContains: Z, Legacy: true}
//	malformed JSON:                       Rule{Method: "GET", Status: 200, Body: `{"value":[`}
//	a page cut off half-way:              Rule{Method: "GET", Times: 1, CutAnswer: true}
//	a removal made but never confirmed:   Rule{Method: "DELETE", Times: 1, LoseAnswer: true}
type Rule struct {
	Method        string // "" matches any; case-insensitive
	PathContains  string // substring of the decoded or the escaped path; "" matches any
	QueryContains string // substring of the decoded or the raw query; "" matches any
	Times         int    // how many requests it applies to; 0 = forever

	Status  int         // answer with this status (0: do not answer)
	Code    string      // Graph error code (default by Status)
	Message string      // Graph error message (default by Status)
	Header  http.Header // set on the answer, e.g. Retry-After
	Body    string      // raw answer body, replacing the error body
	Legacy  bool        // use the {"odata.error":...} shape
	Reset   bool        // close the TCP connection without answering
	Delay   time.Duration

	// CutAnswer lets the request be handled as usual (the tenant changes
	// as it would), then cuts its answer off: the status line, the headers
	// (with the Content-Length of the whole body) and the first half of the
	// body go out, then the connection drops. The log has the status.
	CutAnswer bool
	// LoseAnswer lets the request be handled as usual, then drops the
	// connection before any answer: the change is made and the client
	// never hears of it (a front end that crashed after the back end
	// acted). The log has status 0.
	LoseAnswer bool

	Before func(r *http.Request)             // when the rule is chosen
	After  func(r *http.Request, status int) // after the answer (status 0: none)
	// Acted runs once the tenant has handled the request (made its change,
	// or answered it otherwise) and before any of its answer is sent: a
	// test can kill the client there, so that the change is made and the
	// client never hears of it. For a sub-request of a $batch, before the
	// batch's answer.
	Acted func(r *http.Request)
}

// ruleState is a rule and how often it was used.
type ruleState struct {
	Rule
	used int
}

// AddRule appends a scripted rule.
func (t *Tenant) AddRule(r Rule) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = append(t.rules, &ruleState{Rule: r})
}

// ClearRules removes every rule.
func (t *Tenant) ClearRules() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = nil
}

// matchRule picks and uses up the first live rule matching r.
func (t *Tenant) matchRule(r *http.Request) *Rule {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rs := range t.rules {
		if rs.Times > 0 && rs.used >= rs.Times {
			continue
		}
		if !rs.matches(r) {
			continue
		}
		rs.used++
		rule := rs.Rule
		return &rule
	}
	return nil
}

func (rs *ruleState) matches(r *http.Request) bool {
	if rs.Method != "" && !strings.EqualFold(rs.Method, r.Method) {
		return false
	}
	if rs.PathContains != "" &&
		!strings.Contains(r.URL.Path, rs.PathContains) &&
		!strings.Contains(r.URL.EscapedPath(), rs.PathContains) {
		return false
	}
	if rs.QueryContains != "" {
		decoded, _ := url.QueryUnescape(r.URL.RawQuery)
		if !strings.Contains(r.URL.RawQuery, rs.QueryContains) && !strings.Contains(decoded, rs.QueryContains) {
			return false
		}
	}
	return true
}

// applyRule carries out a matched rule; false means the request was
// answered (or cut) and the pipeline stops.
func (t *Tenant) applyRule(c *call) bool {
	rule := c.rule
	if rule.Before != nil {
		rule.Before(c.r)
	}
	c.legacy = c.legacy || rule.Legacy
	if rule.Delay > 0 || rule.Reset || rule.Status != 0 {
		c.origin = byRule
	}
	if !c.wait(rule.Delay) {
		return false
	}
	if rule.Reset {
		c.reset()
		return false
	}
	if rule.Status == 0 {
		return true
	}
	h := c.w.Header()
	for k, vs := range rule.Header {
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if rule.Body != "" || rule.Status < 400 {
		if h.Get("Content-Type") == "" && rule.Body != "" {
			h.Set("Content-Type", "application/json")
		}
		c.w.WriteHeader(rule.Status)
		io.WriteString(c.w, rule.Body)
		return false
	}
	code, message := defaultError(rule.Status)
	if rule.Code != "" {
		code = rule.Code
	}
	if rule.Message != "" {
		message = rule.Message
	}
	c.error(rule.Status, code, message)
	return false
}

// reset drops the connection without an answer. Hijacking lets it send a
// TCP RST (linger 0), which is what a crashed front end looks like; where
// the connection cannot be taken over, net/http's abort does the same job.
func (c *call) reset() {
	conn, _, err := http.NewResponseController(c.w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
	c.gone = true
}

// injectFault answers a Config.FaultRate share of requests with a server
// error. The choice hashes the seed, the request and how many times this
// exact request reached this point before, so it does not depend on how
// concurrent requests interleave.
func (t *Tenant) injectFault(c *call) bool {
	if t.cfg.FaultRate <= 0 {
		return false
	}
	key := c.r.Method + " " + c.r.URL.Path + "?" + c.r.URL.RawQuery
	t.mu.Lock()
	n := t.seen[key]
	t.seen[key] = n + 1
	t.mu.Unlock()
	h := hash64(t.cfg.Seed, "fault", key, strconv.Itoa(n))
	if float64(h>>11)/(1<<53) >= t.cfg.FaultRate {
		return false
	}
	statuses := [...]int{500, 502, 503, 504}
	status := statuses[mix64(h)%uint64(len(statuses))]
	code, message := defaultError(status)
	c.origin = byFault
	c.error(status, code, message)
	return true
}

// heldAnswer is an answer kept back from the wire until the pipeline is
// done, for CutAnswer and LoseAnswer.
type heldAnswer struct {
	real   http.ResponseWriter
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *heldAnswer) Header() http.Header { return h.header }

func (h *heldAnswer) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

func (h *heldAnswer) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return h.body.Write(b)
}

// hold makes the rest of the pipeline answer into a buffer; deliverHeld
// then drops it (lose) or cuts it off half-way, or sends it whole (whole,
// once the rule's Acted hook has run).
func (c *call) hold(lose bool) {
	c.loseHeld = lose
	real := c.w.ResponseWriter
	c.w.ResponseWriter = &heldAnswer{real: real, header: real.Header().Clone()}
}

// deliverHeld sends what the pipeline answered as the rule says: cut off
// half-way through the body, or not at all.
func (c *call) deliverHeld() {
	h, ok := c.w.ResponseWriter.(*heldAnswer)
	if !ok {
		return
	}
	c.w.ResponseWriter = h.real
	if c.rule != nil && c.rule.Acted != nil {
		c.rule.Acted(c.r)
	}
	if c.gone {
		return
	}
	if c.loseHeld || h.status == 0 {
		c.w.status = 0
		c.reset()
		return
	}
	dst := h.real.Header()
	for k, vs := range h.header {
		dst[k] = vs
	}
	body := h.body.Bytes()
	if len(body) == 0 || c.holdWhole {
		h.real.WriteHeader(h.status)
		h.real.Write(body)
		return
	}
	c.t.mu.Lock()
	c.t.stats.Cut++
	c.t.mu.Unlock()
	dst.Set("Content-Length", strconv.Itoa(len(body)))
	h.real.WriteHeader(h.status)
	h.real.Write(body[:len(body)/2])
	_ = http.NewResponseController(h.real).Flush()
	c.hangUp()
}

// hangUp closes the connection in the middle of an answer, in order (a
// FIN, not a reset), so that what was sent arrives before the end.
func (c *call) hangUp() {
	conn, _, err := http.NewResponseController(c.w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
	c.gone = true
}

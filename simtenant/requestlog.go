package simtenant

import (
	"encoding/json"
	"io"
	"os"
	"sync"
)

// RequestLogEnv names a file every tenant of the process appends its
// finished requests to, one JSON line each (method, path, query, body,
// status, whether in a batch). It is off unless set: a way to compare the
// requests two builds of the job send to the same tenant (the demo, a
// test), not a log for a person.
const RequestLogEnv = "SIMTENANT_REQUEST_LOG"

// requestLine is one line of the request log.
type requestLine struct {
	Method  string          `json:"method"`
	Path    string          `json:"path"`
	Query   string          `json:"query,omitempty"`
	Body    json.RawMessage `json:"body,omitempty"`
	Text    string          `json:"text,omitempty"` // a body that is not JSON
	Status  int             `json:"status"`
	InBatch bool            `json:"in_batch,omitempty"`
}

// requestLog appends the lines of every tenant of the process to the file
// RequestLogEnv names; it is opened on first use.
var requestLog struct {
	once sync.Once
	mu   sync.Mutex
	w    io.Writer
}

// logRequest appends r to the request log when RequestLogEnv is set.
func logRequest(r Request) {
	requestLog.once.Do(func() {
		if path := os.Getenv(RequestLogEnv); path != "" {
			if f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
				requestLog.w = f
			}
		}
	})
	if requestLog.w == nil {
		return
	}
	line := requestLine{Method: r.Method, Path: r.Path, Query: r.RawQuery, Status: r.Status, InBatch: r.InBatch}
	if len(r.Body) > 0 {
		if json.Valid(r.Body) {
			line.Body = r.Body
		} else {
			line.Text = string(r.Body)
		}
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	requestLog.mu.Lock()
	defer requestLog.mu.Unlock()
	_, _ = requestLog.w.Write(append(b, '\n'))
}

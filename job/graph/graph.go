// Package graph is offboard's adapter to Microsoft Graph: it resolves user
// principal names and implements the job's sources for Entra ID directory
// roles, with msgraph-sdk-go over the job's own transport. Every answer of
// the service is classified here, in one place: removed, already absent, or
// a final error carrying the service's code and message.
package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/authentication"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	kiotahttp "github.com/microsoft/kiota-http-go"
	kiotajson "github.com/microsoft/kiota-serialization-json-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// Client talks to one Graph service root.
type Client struct {
	adapter abstractions.RequestAdapter
	// base is the service root with its version, e.g.
	// https://graph.microsoft.com/v1.0.
	base string
	// batch sends removals in JSON batches of batchSize when batchSize is
	// above 1.
	batch     Batcher
	batchSize int
	userAgent string
	log       *zap.Logger
	// pimOff is set by the first answer saying the tenant lacks PIM's
	// licence: no PIM request is sent after it (realtenant.go).
	pimOff atomic.Pointer[job.UnavailableError]
	// inOff is set when Graph refused `principalId in (...)`: grouped
	// listings use eq, one principal a request, for the rest of the run.
	inOff atomic.Bool
	// employeeInOff is set when Graph refused `employeeId in (...)`:
	// employee ids are looked up with eq for the rest of the run (users.go).
	employeeInOff atomic.Bool
	// roles is the tenant's role names, read on first use (rolenames.go).
	roles roleNames
}

// Config says where Graph is and how to reach it.
type Config struct {
	// Root is the service root without version: https://graph.microsoft.com.
	Root string
	// Transport sends every request: the job's pacing, retrying,
	// authenticating transport. The SDK's own retry handler is left out so
	// that a request has one retry budget.
	Transport http.RoundTripper
	// UserAgent names the job in requests.
	UserAgent string
	// BatchSize is how many removals one request carries ($batch, at most
	// 20); 0 or 1 sends each removal on its own. Above 1, Transport must
	// be a Batcher.
	BatchSize int
	// Log receives what the run should know once (a query feature the
	// tenant refused); nil logs nothing.
	Log *zap.Logger
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	ua := kiotahttp.NewUserAgentHandlerOptions()
	ua.ProductName = "offboard"
	ua.ProductVersion = cfg.UserAgent
	middlewares := []kiotahttp.Middleware{
		kiotahttp.NewParametersNameDecodingHandler(),
		kiotahttp.NewUserAgentHandlerWithOptions(ua),
		kiotahttp.NewCompressionHandler(),
	}
	httpClient := &http.Client{
		Transport: kiotahttp.NewCustomTransportWithParentTransport(errorShape{next: memberGuard{next: cfg.Transport}}, middlewares...),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	adapter, err := kiotahttp.NewNetHttpRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		&authentication.AnonymousAuthenticationProvider{},
		kiotajson.NewJsonParseNodeFactory(),
		kiotajson.NewJsonSerializationWriterFactory(),
		httpClient,
	)
	if err != nil {
		return nil, fmt.Errorf("graph: building the request adapter: %w", err)
	}
	base := strings.TrimRight(cfg.Root, "/") + "/v1.0"
	adapter.SetBaseUrl(base)
	c := &Client{adapter: adapter, base: base, batchSize: 1, userAgent: "offboard/" + cfg.UserAgent, log: cfg.Log}
	if c.log == nil {
		c.log = zap.NewNop()
	}
	if cfg.BatchSize > 1 {
		b, ok := cfg.Transport.(Batcher)
		if !ok {
			return nil, errors.New("graph: batching needs a transport that sends batches")
		}
		if cfg.BatchSize > transport.MaxBatch {
			return nil, fmt.Errorf("graph: a batch holds %d requests at most, not %d", transport.MaxBatch, cfg.BatchSize)
		}
		c.batch, c.batchSize = b, cfg.BatchSize
	}
	return c, nil
}

func (c *Client) pathParams() map[string]string {
	return map[string]string{"baseurl": c.base}
}

// classify turns what the SDK returned into an *transport.ServiceError when the service
// answered, and leaves other errors (network, context) as they are.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var odata *odataerrors.ODataError
	if errors.As(err, &odata) {
		e := &transport.ServiceError{Status: odata.ResponseStatusCode}
		// GetErrorEscaped is nil when the body was not an OData error.
		if main := odata.GetErrorEscaped(); main != nil {
			e.Code = transport.Deref(main.GetCode())
			e.Message = transport.Deref(main.GetMessage())
		}
		return e
	}
	var api *abstractions.ApiError
	if errors.As(err, &api) {
		return &transport.ServiceError{Status: api.ResponseStatusCode, Message: api.Message}
	}
	var netErr *url.Error
	if !errors.As(err, &netErr) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		// Neither the service's error nor the network's: the SDK could
		// not read a successful answer (kiota says only "invalid json
		// type").
		return notJSON(err)
	}
	return err
}

// raw serialises a model as the service listed it, for the journal.
func raw(p serialization.Parsable) json.RawMessage {
	w := kiotajson.NewJsonSerializationWriter()
	defer w.Close()
	if err := w.WriteObjectValue("", p); err != nil {
		return nil
	}
	b, err := w.GetSerializedContent()
	if err != nil || !json.Valid(b) {
		return nil
	}
	// A copy of the exact size: the writer's buffer has room to spare,
	// and a plan holds one of these per assignment.
	return bytes.Clone(b)
}

// errorShape sits under the SDK and rewrites every error answer into the
// shape the SDK reads, {"error":{"code","message"}}: Graph still answers
// some errors in the older {"odata.error":{"code","message":{"value"}}}
// shape, and a proxy may answer with no JSON at all.
type errorShape struct {
	next http.RoundTripper
}

func (t errorShape) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if rerr != nil {
		return nil, fmt.Errorf("reading the error answer of %s %s: %w", req.Method, req.URL.Path, rerr)
	}
	se := transport.ErrorFromBody(resp.StatusCode, body)
	fixed, _ := json.Marshal(map[string]any{"error": map[string]string{"code": se.Code, "message": se.Message}})
	resp.Body = io.NopCloser(bytes.NewReader(fixed))
	resp.ContentLength = int64(len(fixed))
	resp.Header.Set("Content-Type", "application/json")
	resp.Header.Del("Content-Encoding")
	return resp, nil
}

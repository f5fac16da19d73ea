package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/arm"
	"github.com/offboard/offboard/job/graph"
	"github.com/offboard/offboard/job/preflight"
	"github.com/offboard/offboard/job/transport"
)

// services builds the sources the configuration selects, over one paced,
// retrying transport per service (app.Deps.Services).
func services(c app.Config, creds transport.Credentials, log *zap.Logger, gates app.GateWatcher) (app.Services, error) {
	gate := &job.Gate{}
	gate.OnThrottled, gate.OnHold = watch(gates, "Graph")
	reads := job.NewPace(gate, 0, 1)
	writes := job.NewPace(gate, c.GraphWriteRate, c.GraphWriteBurst)
	graphTransport := &transport.Transport{
		Base:           baseTransport(c.Concurrency, c.RequestTimeout),
		Token:          creds.ForAudience(c.GraphEndpoint),
		Endpoints:      []string{c.GraphEndpoint},
		MaxAttempts:    c.MaxAttempts,
		AttemptTimeout: c.RequestTimeout,
		Log:            log,
		Pace: func(r *http.Request) *job.Pace {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return reads
			}
			return writes
		},
	}
	gc, err := graph.New(graph.Config{Root: c.GraphEndpoint, Transport: graphTransport, UserAgent: version,
		BatchSize: c.GraphBatchSize, Log: log})
	if err != nil {
		return app.Services{}, err
	}
	var sources []job.Source
	groupsAt, azure := -1, graph.AzureGroups(nil)
	// azure and keyvault share one ARM source: its scopes are resolved
	// once, its paces hold both.
	var armSrc *arm.Source
	armShared := func() (*arm.Source, error) {
		if armSrc != nil {
			return armSrc, nil
		}
		var err error
		armSrc, err = azureSource(c, creds, log, gates)
		return armSrc, err
	}
	for _, name := range c.Sources {
		switch name {
		case job.SourceDirectory:
			sources = append(sources, gc.DirectoryRoles())
		case job.SourcePIM:
			sources = append(sources, gc.Eligibilities())
		case job.SourceGroups:
			groupsAt = len(sources)
			sources = append(sources, gc.Memberships())
		case job.SourceApps:
			sources = append(sources, gc.Apps())
		case job.SourceAzure:
			src, err := armShared()
			if err != nil {
				return app.Services{}, err
			}
			azure = src
			sources = append(sources, src)
		case job.SourceKeyVault:
			src, err := armShared()
			if err != nil {
				return app.Services{}, err
			}
			sources = append(sources, src.KeyVaults())
		default:
			return app.Services{}, fmt.Errorf("source %q is not available in this build", name)
		}
	}
	// With both, groups also removes memberships of groups holding the
	// Azure roles azure cleans.
	if azure != nil && groupsAt >= 0 {
		sources[groupsAt] = gc.Memberships().WithAzure(azure)
	}
	return app.Services{Sources: sources, Directory: gc, Admins: gc}, nil
}

var _ graph.AzureGroups = (*arm.Source)(nil)

// baseTransport sends one attempt of a request; requestTimeout bounds the
// wait for the answer's headers (the transport bounds the whole attempt).
func baseTransport(concurrency int, requestTimeout time.Duration) http.RoundTripper {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * concurrency,
		MaxIdleConnsPerHost:   2 * concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: requestTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

// azureSource builds the `azure` source over a transport that paces ARM per
// subscription, as ARM throttles: deletes (and the PUTs of eligibility
// requests and access policy changes) at --arm-delete-rate, reads at
// ARM's 25 a second.
func azureSource(c app.Config, creds transport.Credentials, log *zap.Logger, gates app.GateWatcher) (*arm.Source, error) {
	paces := &arm.Paces{DeleteRate: c.ARMDeleteRate, DeleteBurst: c.ARMDeleteBurst}
	paces.OnThrottled, paces.OnHold = watch(gates, "ARM")
	t := &transport.Transport{
		Base:           &arm.Counters{Next: baseTransport(c.Concurrency, c.RequestTimeout), Paces: paces},
		MaxAttempts:    c.MaxAttempts,
		AttemptTimeout: c.RequestTimeout,
		Log:            log,
		Pace:           paces.Pace,
		Endpoints:      []string{c.ARMEndpoint},
	}
	ac := armConfig(c, creds, t)
	ac.Concurrency = c.Concurrency
	ac.HeldUntil = func(scope string) time.Time {
		return paces.Pace(&http.Request{Method: http.MethodDelete, URL: &url.URL{Path: scope}}).Gate().Until()
	}
	return arm.New(ac)
}

// azureChecker builds the Checker of the azure source (app.Deps.AzureChecker)
// over a transport paced as the source's.
func azureChecker(c app.Config, creds transport.Credentials, log *zap.Logger) (preflight.AzureChecker, error) {
	t := &transport.Transport{
		Base:           baseTransport(c.Concurrency, c.RequestTimeout),
		MaxAttempts:    c.MaxAttempts,
		AttemptTimeout: c.RequestTimeout,
		Log:            log,
		Pace:           (&arm.Paces{DeleteRate: c.ARMDeleteRate, DeleteBurst: c.ARMDeleteBurst}).Pace,
	}
	return arm.NewChecker(armConfig(c, creds, t))
}

// armConfig is what the azure source and its Checker share.
func armConfig(c app.Config, creds transport.Credentials, t http.RoundTripper) arm.Config {
	u, _ := url.Parse(c.ARMEndpoint)
	cl, _ := app.CloudNamed(c.Cloud)
	return arm.Config{
		Cloud:        cl.Azcore,
		Endpoint:     c.ARMOverride(),
		Credential:   creds.TokenCredential(),
		Transport:    t,
		InsecureHTTP: u.Scheme == "http" && transport.IsLoopback(u),
		Scopes:       c.AzureScopes,
	}
}

// watch is a service's gate hooks telling w (nil: none) of its throttled
// answers and its waits, naming the service.
func watch(w app.GateWatcher, service string) (onThrottled func(), onHold func(time.Time, bool)) {
	if w == nil {
		return nil, nil
	}
	return w.OnThrottled, func(until time.Time, throttled bool) { w.Held(service, until, throttled) }
}

package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/arm"
	"github.com/offboard/offboard/job/graph"
	"github.com/offboard/offboard/job/transport"
)

// services builds the sources the configuration selects, over one paced,
// retrying transport per service.
func (j *jobRun) services(creds credentials, graphToken tokenSource) ([]job.Source, job.Directory, job.Admins, error) {
	c := j.cfg
	gate := &job.Gate{OnThrottled: j.onThrottled()}
	reads := job.NewPace(gate, 0, 1)
	writes := job.NewPace(gate, c.GraphWriteRate, c.GraphWriteBurst)
	graphTransport := &transport.Transport{
		Base:           baseTransport(c.Concurrency, c.RequestTimeout),
		Token:          graphToken,
		Endpoints:      []string{c.GraphEndpoint},
		MaxAttempts:    c.MaxAttempts,
		AttemptTimeout: c.RequestTimeout,
		Log:            j.log,
		Pace: func(r *http.Request) *job.Pace {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return reads
			}
			return writes
		},
	}
	gc, err := graph.New(graph.Config{Root: c.GraphEndpoint, Transport: graphTransport, UserAgent: version,
		BatchSize: c.GraphBatchSize, Log: j.log})
	if err != nil {
		return nil, nil, nil, err
	}
	var sources []job.Source
	groupsAt, azure := -1, graph.AzureGroups(nil)
	for _, name := range c.Sources {
		switch name {
		case job.SourceDirectory:
			sources = append(sources, gc.DirectoryRoles())
		case job.SourcePIM:
			sources = append(sources, gc.Eligibilities())
		case job.SourceGroups:
			groupsAt = len(sources)
			sources = append(sources, gc.Memberships())
		case job.SourceAzure:
			src, err := j.azure(creds)
			if err != nil {
				return nil, nil, nil, err
			}
			azure, _ = src.(graph.AzureGroups)
			sources = append(sources, src)
		default:
			return nil, nil, nil, fmt.Errorf("source %q is not available in this build", name)
		}
	}
	// With both, groups also removes memberships of groups holding the
	// Azure roles azure cleans.
	if azure != nil && groupsAt >= 0 {
		sources[groupsAt] = gc.Memberships().WithAzure(azure)
	}
	return sources, gc, gc, nil
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

// azure builds the `azure` source over a transport that paces ARM per
// subscription, as ARM throttles: deletes (and the PUTs of eligibility
// requests) at --arm-delete-rate, reads at ARM's 25 a second.
func (j *jobRun) azure(creds credentials) (job.Source, error) {
	c := j.cfg
	paces := &subscriptionPaces{deleteRate: c.ARMDeleteRate, deleteBurst: c.ARMDeleteBurst, onThrottled: j.onThrottled()}
	t := &transport.Transport{
		Base:           &armCounters{next: baseTransport(c.Concurrency, c.RequestTimeout), paces: paces, reserve: c.Concurrency},
		MaxAttempts:    c.MaxAttempts,
		AttemptTimeout: c.RequestTimeout,
		Log:            j.log,
		Pace:           paces.pace,
		Endpoints:      []string{c.ARMEndpoint},
	}
	u, _ := url.Parse(c.ARMEndpoint)
	return arm.New(arm.Config{
		Cloud:        clouds[c.Cloud].azcore,
		Endpoint:     c.armOverride(),
		Credential:   creds.arm(),
		Transport:    t,
		InsecureHTTP: u.Scheme == "http" && isLoopback(u),
		Scopes:       c.AzureScopes,
		Concurrency:  c.Concurrency,
		HeldUntil: func(scope string) time.Time {
			return paces.pace(&http.Request{Method: http.MethodDelete, URL: &url.URL{Path: scope}}).Gate().Until()
		},
	})
}

// subscriptionPaces holds one gate and two buckets per subscription, made
// on first use; requests outside a subscription share the tenant's.
type subscriptionPaces struct {
	deleteRate  float64
	deleteBurst int
	onThrottled func()
	mu          sync.Mutex
	bySub       map[string][3]*job.Pace
}

func (s *subscriptionPaces) pace(r *http.Request) *job.Pace {
	sub := subscriptionOf(r.URL.Path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bySub == nil {
		s.bySub = map[string][3]*job.Pace{}
	}
	p, ok := s.bySub[sub]
	if !ok {
		// ARM counts reads, deletes and writes in buckets of their own;
		// writes (eligibility removal requests) are paced as deletes.
		gate := &job.Gate{OnThrottled: s.onThrottled}
		p = [3]*job.Pace{job.NewPace(gate, 25, 250), job.NewPace(gate, s.deleteRate, s.deleteBurst),
			job.NewPace(gate, s.deleteRate, s.deleteBurst)}
		s.bySub[sub] = p
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return p[0]
	case http.MethodDelete:
		return p[1]
	}
	return p[2]
}

// subscriptionOf returns the subscription id a path is under, or "".
func subscriptionOf(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		return strings.ToLower(segs[1])
	}
	return ""
}

package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// reachTimeout bounds the check that a service can be reached at all.
const reachTimeout = 5 * time.Second

// Unreachable reports the first of the endpoints that cannot be reached
// (a DNS name that does not resolve, a connection refused or not
// answered within reachTimeout), as an error naming it; nil when every
// one can be. It only opens a TCP connection and closes it: nothing is
// sent. An endpoint reached through a proxy (HTTPS_PROXY, HTTP_PROXY) is
// not checked: only the proxy knows the way.
//
// The run checks this before it takes the report location: a service
// that cannot be reached fails in seconds, with the endpoint named,
// instead of retrying every request for minutes, and leaves the report
// location as it was.
func Unreachable(ctx context.Context, endpoints []string) error {
	for _, ep := range endpoints {
		u, err := url.Parse(ep)
		if err != nil || u.Host == "" {
			continue // the configuration's checks say what is wrong with it
		}
		if p, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err != nil || p != nil {
			continue
		}
		port := u.Port()
		if port == "" {
			port = "443"
			if u.Scheme == "http" {
				port = "80"
			}
		}
		d := net.Dialer{Timeout: reachTimeout}
		conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
		if err != nil {
			return fmt.Errorf("%s cannot be reached: %w", ep, err)
		}
		_ = conn.Close()
	}
	return nil
}

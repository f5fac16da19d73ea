package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"
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

// reachable checks, with d.Reach (when set), that the endpoints a command
// calls can be reached, before it takes its report location; when one
// cannot, it logs why and ok is false, with the exit code: 2, or 4 when
// the command was interrupted meanwhile. run, restore and watch call it.
func (d Deps) reachable(ctx context.Context, log *zap.Logger, endpoints []string) (code int, ok bool) {
	if d.Reach == nil {
		return ExitOK, true
	}
	err := d.Reach(ctx, endpoints)
	switch {
	case err == nil:
		return ExitOK, true
	case ctx.Err() != nil:
		log.Error("interrupted while checking the services can be reached: nothing was done", zap.Error(err))
		return ExitInterrupted, false
	}
	log.Error("a service cannot be reached: nothing was done and the report location was not touched; "+
		"check the endpoint (--graph-endpoint, --arm-endpoint, --cloud), DNS and the network, then rerun", zap.Error(err))
	return ExitUsage, false
}

package main

// "Nothing was sent" to a real host: the simulated tenant's log sees only
// requests to itself, so the runs that must send nothing are given a
// recording proxy (HTTPS_PROXY, HTTP_PROXY: the job's transport honours
// them, and Go never proxies loopback) that sees any request to anywhere
// else, and carries none.

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// recordingProxy records what it is asked to carry (a CONNECT for HTTPS)
// and refuses it.
type recordingProxy struct {
	url   string
	mu    sync.Mutex
	seen  []string
	first chan struct{} // closed at the first request
}

func startRecordingProxy(t *testing.T) *recordingProxy {
	t.Helper()
	p := &recordingProxy{first: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+r.Host+r.URL.Path)
		if len(p.seen) == 1 {
			close(p.first)
		}
		p.mu.Unlock()
		http.Error(w, "recording proxy: nothing is carried", http.StatusForbidden)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// env points a run's proxies at the recorder.
func (p *recordingProxy) env() []string {
	return []string{"HTTPS_PROXY=" + p.url, "HTTP_PROXY=" + p.url, "https_proxy=" + p.url, "http_proxy=" + p.url}
}

func (p *recordingProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// wantNothingSent fails the test when the proxy carried a request.
func (p *recordingProxy) wantNothingSent(t *testing.T) {
	t.Helper()
	if seen := p.requests(); len(seen) != 0 {
		t.Errorf("%d requests went to a host off loopback: %s", len(seen), strings.Join(seen, "; "))
	}
}

// TestTheProxyRecorderSeesARealHost proves the recorder the "nothing was
// sent" checks rely on: a run that does call Microsoft's login endpoint
// (DefaultAzureCredential with a client secret) is seen going there. It is
// killed once seen, rather than left to its retries.
func TestTheProxyRecorderSeesARealHost(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 903})
	proxy := startRecordingProxy(t)
	cmd := tn.command(t, append(proxy.env(), "OFFBOARD_STATIC_TOKEN=", "AZURE_TENANT_ID=00000000-0000-0000-0000-0000000000aa",
		"AZURE_CLIENT_ID=00000000-0000-0000-0000-0000000000bb", "AZURE_CLIENT_SECRET=not-a-secret"),
		"run", "--input", writeCSV(t, "principal_id", "11111111-1111-4111-8111-111111111111"), "--report", t.TempDir(),
		"--graph-endpoint", "https://graph.microsoft.com")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	select {
	case <-proxy.first:
		_ = cmd.Process.Kill()
		<-exited
	case <-exited:
	}
	found := false
	for _, s := range proxy.requests() {
		found = found || strings.HasPrefix(s, "CONNECT login.microsoftonline.com")
	}
	if !found {
		t.Errorf("the recording proxy did not see the run's call to login.microsoftonline.com: %v", proxy.requests())
	}
	if n := len(tn.Requests()); n != 0 {
		t.Errorf("%d requests reached the simulated tenant", n)
	}
}

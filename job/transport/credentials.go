package transport

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/offboard/offboard/job"
)

// TokenSource hands out a bearer token for one audience.
type TokenSource func(ctx context.Context) (string, error)

// Credentials are how the job authenticates: a static token, only when
// every endpoint in use is on loopback, or DefaultAzureCredential.
type Credentials struct {
	static string
	cred   azcore.TokenCredential
	// now is the clock the token cache reads expiry against (time.Now
	// when nil; tests set it).
	now func() time.Time
	// audiences holds the token source of each audience asked for, so
	// that every user of one audience shares its cache.
	audiences *audiences
}

// audiences are the token sources handed out, by service root.
type audiences struct {
	mu     sync.Mutex
	byRoot map[string]TokenSource
}

// NewCredentials takes static (OFFBOARD_STATIC_TOKEN) when it is set and
// every endpoint is on loopback, refuses it when one is not, and else sets
// up DefaultAzureCredential in the cloud.
func NewCredentials(static string, endpoints []string, in cloud.Configuration) (Credentials, error) {
	if static != "" {
		for _, e := range endpoints {
			u, _ := url.Parse(e)
			if !IsLoopback(u) {
				return Credentials{}, fmt.Errorf("OFFBOARD_STATIC_TOKEN is accepted only when every endpoint is on loopback; %s is not", e)
			}
		}
		return Credentials{static: static}, nil
	}
	opts := &azidentity.DefaultAzureCredentialOptions{}
	opts.Cloud = in
	cred, err := azidentity.NewDefaultAzureCredential(opts)
	if err != nil {
		return Credentials{}, fmt.Errorf("setting up DefaultAzureCredential: %w", err)
	}
	return Credentials{cred: cred, audiences: &audiences{byRoot: map[string]TokenSource{}}}, nil
}

// Static reports whether the credentials are a static token.
func (cr Credentials) Static() bool { return cr.static != "" }

// ForAudience returns the token source of a service root: its /.default
// scope, cached until five minutes before the token expires. Every call
// for one root shares one cache: a credential that does not cache (the
// Azure CLI's) is asked once, not once per user of the token.
func (cr Credentials) ForAudience(root string) TokenSource {
	if cr.static != "" {
		tok := cr.static
		return func(context.Context) (string, error) { return tok, nil }
	}
	if cr.audiences == nil {
		return cr.newSource(root)
	}
	cr.audiences.mu.Lock()
	defer cr.audiences.mu.Unlock()
	src, ok := cr.audiences.byRoot[root]
	if !ok {
		src = cr.newSource(root)
		cr.audiences.byRoot[root] = src
	}
	return src
}

// newSource is a token source for root with a cache of its own.
func (cr Credentials) newSource(root string) TokenSource {
	var (
		mu  sync.Mutex
		tok azcore.AccessToken
	)
	scope := strings.TrimRight(root, "/") + "/.default"
	now := cr.now
	if now == nil {
		now = time.Now
	}
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if tok.Token != "" && tok.ExpiresOn.Sub(now()) > 5*time.Minute {
			return tok.Token, nil
		}
		t, err := cr.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return "", fmt.Errorf("getting a token for %s: %w", scope, err)
		}
		tok = t
		return tok.Token, nil
	}
}

// TokenCredential is the credential azcore's bearer policy asks for
// tokens (ARM's, Blob Storage's).
func (cr Credentials) TokenCredential() azcore.TokenCredential {
	if cr.static != "" {
		return staticCredential(cr.static)
	}
	return cr.cred
}

// staticCredential hands out OFFBOARD_STATIC_TOKEN whatever the scope.
type staticCredential string

func (s staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// OIDOf reads the oid claim of a JWT without checking its signature: the
// job only needs to know its own id, never to trust the token.
func OIDOf(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("the token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", errors.New("the token's payload is not base64url")
	}
	var claims struct {
		OID string `json:"oid"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", errors.New("the token's payload is not JSON")
	}
	if !job.IsGUID(claims.OID) {
		return "", errors.New("the token has no oid claim")
	}
	return job.NormalizeGUID(claims.OID), nil
}

// IsLoopback reports whether the URL's host is 127.0.0.0/8, ::1 or
// localhost.
func IsLoopback(u *url.URL) bool {
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

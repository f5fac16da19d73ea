package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/offboard/offboard/job"
)

// tokenSource hands out a bearer token for one audience.
type tokenSource func(ctx context.Context) (string, error)

// credentials picks how the job authenticates: OFFBOARD_STATIC_TOKEN, only
// when every endpoint in use is on loopback, or DefaultAzureCredential.
type credentials struct {
	static string
	cred   azcore.TokenCredential
	// now is the clock the token cache reads expiry against (time.Now
	// when nil; tests set it).
	now func() time.Time
}

func newCredentials(c config, env func(string) (string, bool)) (credentials, error) {
	if tok, ok := env("OFFBOARD_STATIC_TOKEN"); ok && tok != "" {
		for _, e := range c.endpointsInUse() {
			u, _ := url.Parse(e)
			if !isLoopback(u) {
				return credentials{}, fmt.Errorf("OFFBOARD_STATIC_TOKEN is accepted only when every endpoint is on loopback; %s is not", e)
			}
		}
		return credentials{static: tok}, nil
	}
	opts := &azidentity.DefaultAzureCredentialOptions{}
	opts.Cloud = clouds[c.Cloud].azcore
	cred, err := azidentity.NewDefaultAzureCredential(opts)
	if err != nil {
		return credentials{}, fmt.Errorf("setting up DefaultAzureCredential: %w", err)
	}
	return credentials{cred: cred}, nil
}

// endpointsInUse lists the service roots the run will call.
func (c config) endpointsInUse() []string {
	out := []string{c.GraphEndpoint}
	for _, s := range c.Sources {
		if s == "azure" {
			out = append(out, c.ARMEndpoint)
		}
	}
	return out
}

// forAudience returns a token source for a service root: its /.default
// scope, cached until five minutes before the token expires.
func (cr credentials) forAudience(root string) tokenSource {
	if cr.static != "" {
		tok := cr.static
		return func(context.Context) (string, error) { return tok, nil }
	}
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

// oidOf reads the oid claim of a JWT without checking its signature: the
// job only needs to know its own id, never to trust the token.
func oidOf(token string) (string, error) {
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

// arm returns the credential azcore's bearer policy asks for ARM tokens.
func (cr credentials) arm() azcore.TokenCredential {
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

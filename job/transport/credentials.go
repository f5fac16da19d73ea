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
// every endpoint in use is on loopback, DefaultAzureCredential, or a
// multi-tenant app's federated credential in a customer's tenant.
type Credentials struct {
	static string
	cred   azcore.TokenCredential
	// storage is the credential of Blob Storage, which lives in the
	// deployment's own tenant: cred, except with federated credentials,
	// whose tokens are the customer tenant's.
	storage azcore.TokenCredential
	// tenant, when set, is the only tenant (the tid claim) whose tokens
	// are handed out: any other is refused before a request carries it.
	tenant string
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
	return CredentialsOf(cred), nil
}

// CredentialsOf returns the credentials that ask cred for every token:
// for a program that builds its own azcore credential (a test's fake).
func CredentialsOf(cred azcore.TokenCredential) Credentials {
	return Credentials{cred: cred, audiences: &audiences{byRoot: map[string]TokenSource{}}}
}

// ForTenant returns the credentials handing out only tokens of tenant
// (their tid claim): a token of any other tenant, or one without a tid,
// is an error wrapping ErrOtherTenant, and no request carries it. An
// OFFBOARD_STATIC_TOKEN that is not a JWT (it reaches only loopback) has
// no claim to compare and is handed out as it is. Empty tenant: no check.
func (cr Credentials) ForTenant(tenant string) Credentials {
	cr.tenant = tenant
	if cr.audiences != nil {
		// The sources handed out so far check no tenant: start afresh.
		cr.audiences = &audiences{byRoot: map[string]TokenSource{}}
	}
	return cr
}

// Tenant is the tenant the credentials are bound to ("" when none).
func (cr Credentials) Tenant() string { return cr.tenant }

// ErrOtherTenant is what a token of a tenant the job is not for wraps.
var ErrOtherTenant = errors.New("the token is not for the configured tenant")

// CheckTenant refuses tok unless it is a token of want: its tid claim
// equal to want (compared as GUIDs). A static token that is not a JWT
// passes (see ForTenant). Empty want: anything passes.
func (cr Credentials) CheckTenant(tok string) error {
	if cr.tenant == "" {
		return nil
	}
	tid, err := TenantOf(tok)
	switch {
	case errors.Is(err, errNotJWT) && cr.static != "":
		return nil
	case err != nil:
		return fmt.Errorf("%w: --tenant is %s and %v", ErrOtherTenant, cr.tenant, err)
	case tid != job.NormalizeGUID(cr.tenant):
		return fmt.Errorf("%w: --tenant is %s and the token is for tenant %s", ErrOtherTenant, cr.tenant, tid)
	}
	return nil
}

// Static reports whether the credentials are a static token.
func (cr Credentials) Static() bool { return cr.static != "" }

// ForAudience returns the token source of a service root: its /.default
// scope, cached until five minutes before the token expires. Every call
// for one root shares one cache: a credential that does not cache (the
// Azure CLI's) is asked once, not once per user of the token.
func (cr Credentials) ForAudience(root string) TokenSource {
	if cr.static != "" {
		tok, err := cr.static, cr.CheckTenant(cr.static)
		return func(context.Context) (string, error) {
			if err != nil {
				return "", err
			}
			return tok, nil
		}
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
		if err := cr.CheckTenant(t.Token); err != nil {
			return "", fmt.Errorf("the token for %s: %w", scope, err)
		}
		tok = t
		return tok.Token, nil
	}
}

// TokenCredential is the credential azcore's bearer policy asks for
// tokens (ARM's, Blob Storage's).
func (cr Credentials) TokenCredential() azcore.TokenCredential {
	if cr.static != "" {
		return tenantCredential{cred: staticCredential(cr.static), cr: cr}
	}
	return tenantCredential{cred: cr.cred, cr: cr}
}

// StorageCredential is the credential of Blob Storage (the input, the
// reports): the deployment's own identity, whatever tenant the job cleans.
func (cr Credentials) StorageCredential() azcore.TokenCredential {
	switch {
	case cr.static != "":
		return staticCredential(cr.static)
	case cr.storage != nil:
		return cr.storage
	}
	return cr.cred
}

// tenantCredential hands out the tokens of cred that pass cr.CheckTenant:
// azcore's bearer policy sends no request when GetToken fails.
type tenantCredential struct {
	cred azcore.TokenCredential
	cr   Credentials
}

func (t tenantCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := t.cred.GetToken(ctx, o)
	if err != nil {
		return tok, err
	}
	if err := t.cr.CheckTenant(tok.Token); err != nil {
		return azcore.AccessToken{}, fmt.Errorf("the token for %s: %w", strings.Join(o.Scopes, " "), err)
	}
	return tok, nil
}

// staticCredential hands out OFFBOARD_STATIC_TOKEN whatever the scope.
type staticCredential string

func (s staticCredential) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// errNotJWT: the token is not three dot-separated parts.
var errNotJWT = errors.New("the token is not a JWT")

// claimsOf reads the oid and tid claims of a JWT without checking its
// signature: the job only reads what the token says of itself, and
// the service it is sent to checks it.
func claimsOf(token string) (oid, tid string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", "", errNotJWT
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", "", errors.New("the token's payload is not base64url")
	}
	var claims struct {
		OID string `json:"oid"`
		TID string `json:"tid"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", "", errors.New("the token's payload is not JSON")
	}
	return claims.OID, claims.TID, nil
}

// OIDOf reads the oid claim of a JWT without checking its signature: the
// job only needs to know its own id, never to trust the token.
func OIDOf(token string) (string, error) {
	oid, _, err := claimsOf(token)
	if err != nil {
		return "", err
	}
	if !job.IsGUID(oid) {
		return "", errors.New("the token has no oid claim")
	}
	return job.NormalizeGUID(oid), nil
}

// TenantOf reads the tid claim of a JWT (the tenant that issued it),
// without checking its signature. The error is errNotJWT for a token that
// is not a JWT.
func TenantOf(token string) (string, error) {
	_, tid, err := claimsOf(token)
	if err != nil {
		return "", err
	}
	if !job.IsGUID(tid) {
		return "", errors.New("the token has no tid claim")
	}
	return job.NormalizeGUID(tid), nil
}

// IsNotJWT reports whether err says a token is not a JWT.
func IsNotJWT(err error) bool { return errors.Is(err, errNotJWT) }

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

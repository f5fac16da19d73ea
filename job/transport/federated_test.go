package transport

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

const (
	customerTenant = "11111111-2222-3333-4444-555555555555"
	otherTenant    = "99999999-8888-7777-6666-555555555555"
	appClientID    = "aaaaaaaa-0000-0000-0000-000000000001"
	miClientID     = "bbbbbbbb-0000-0000-0000-000000000002"
)

// jwt is an unsigned token carrying claims.
func jwt(claims map[string]string) string {
	b, _ := json.Marshal(claims)
	return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString(b) + ".x"
}

// fakeMI is a managed identity: it hands out an assertion and remembers
// the scopes it was asked for.
type fakeMI struct {
	mu     sync.Mutex
	scopes []string
}

func (f *fakeMI) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = append(f.scopes, o.Scopes...)
	return azcore.AccessToken{Token: "mi-assertion", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// fakeAuthority is an Entra token endpoint on a local TLS server: it
// answers the tenant's discovery document and a client-credentials token
// request with a token whose tid is tid, and keeps the token requests.
func fakeAuthority(t *testing.T, tid string) (*httptest.Server, *[]url.Values) {
	var mu sync.Mutex
	var forms []url.Values
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
			tenant := strings.Split(strings.Trim(r.URL.Path, "/"), "/")[0]
			fmt.Fprintf(w, `{"token_endpoint":%q,"authorization_endpoint":%q,"issuer":%q}`,
				srv.URL+"/"+tenant+"/oauth2/v2.0/token", srv.URL+"/"+tenant+"/oauth2/v2.0/authorize", srv.URL+"/"+tenant+"/v2.0")
		case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
			_ = r.ParseForm()
			mu.Lock()
			f := r.PostForm
			f.Set("_path", r.URL.Path)
			forms = append(forms, f)
			mu.Unlock()
			tok := jwt(map[string]string{"tid": tid, "oid": "cccccccc-0000-0000-0000-000000000003"})
			fmt.Fprintf(w, `{"token_type":"Bearer","expires_in":3600,"access_token":%q}`, tok)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &forms
}

func federatedAt(t *testing.T, srv *httptest.Server, mi azcore.TokenCredential) Credentials {
	t.Helper()
	opts := &azidentity.ClientAssertionCredentialOptions{DisableInstanceDiscovery: true}
	opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL + "/"}
	opts.Transport = srv.Client()
	cr, err := newFederated(Federated{TenantID: customerTenant, ClientID: appClientID, ManagedIdentityClientID: miClientID}, mi, opts)
	if err != nil {
		t.Fatal(err)
	}
	return cr
}

// TestFederatedAsksTheCustomerTenantWithTheManagedIdentitysAssertion: the
// token request goes to the customer's tenant, as the multi-tenant app,
// with the managed identity's token for api://AzureADTokenExchange as its
// client assertion, and carries no secret.
func TestFederatedAsksTheCustomerTenantWithTheManagedIdentitysAssertion(t *testing.T) {
	srv, forms := fakeAuthority(t, customerTenant)
	mi := &fakeMI{}
	cr := federatedAt(t, srv, mi)
	tok, err := cr.ForAudience("https://graph.microsoft.com")(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tid, _ := TenantOf(tok); tid != customerTenant {
		t.Errorf("token of tenant %q", tid)
	}
	if len(*forms) != 1 {
		t.Fatalf("%d token requests, want 1", len(*forms))
	}
	f := (*forms)[0]
	for k, want := range map[string]string{
		"_path":                 "/" + customerTenant + "/oauth2/v2.0/token",
		"client_id":             appClientID,
		"client_assertion":      "mi-assertion",
		"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
		"grant_type":            "client_credentials",
	} {
		if got := f.Get(k); got != want {
			t.Errorf("token request %s = %q, want %q", k, got, want)
		}
	}
	if scopes := strings.Fields(f.Get("scope")); len(scopes) == 0 || scopes[0] != "https://graph.microsoft.com/.default" {
		t.Errorf("token request scope %q, want https://graph.microsoft.com/.default first", f.Get("scope"))
	}
	if f.Has("client_secret") {
		t.Error("the token request carries a client secret")
	}
	if len(mi.scopes) == 0 || mi.scopes[0] != "api://AzureADTokenExchange/.default" {
		t.Errorf("the managed identity was asked for %v, want api://AzureADTokenExchange/.default", mi.scopes)
	}
	// Blob Storage is the deployment's: the managed identity itself.
	if cr.StorageCredential() != azcore.TokenCredential(mi) {
		t.Error("Blob Storage is not reached with the managed identity")
	}
}

// TestFederatedRefusesAnotherTenantsToken: a token whose tid is not the
// configured tenant's is never handed out, to Graph's sources nor to
// ARM's bearer policy.
func TestFederatedRefusesAnotherTenantsToken(t *testing.T) {
	srv, _ := fakeAuthority(t, otherTenant)
	cr := federatedAt(t, srv, &fakeMI{})
	if _, err := cr.ForAudience("https://graph.microsoft.com")(context.Background()); !errors.Is(err, ErrOtherTenant) {
		t.Errorf("Graph token source: %v, want ErrOtherTenant", err)
	}
	_, err := cr.TokenCredential().GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	if !errors.Is(err, ErrOtherTenant) {
		t.Errorf("ARM credential: %v, want ErrOtherTenant", err)
	}
}

func TestFederatedNeedsItsThreeIDs(t *testing.T) {
	for _, f := range []Federated{
		{ClientID: appClientID, ManagedIdentityClientID: miClientID},
		{TenantID: customerTenant, ManagedIdentityClientID: miClientID},
		{TenantID: customerTenant, ClientID: appClientID},
		{TenantID: "contoso.onmicrosoft.com", ClientID: appClientID, ManagedIdentityClientID: miClientID},
	} {
		if _, err := NewFederated(f, cloud.AzurePublic); err == nil {
			t.Errorf("NewFederated(%+v) accepted", f)
		}
	}
}

func TestTokenExchangeAudience(t *testing.T) {
	for in, want := range map[string]string{"public": "api://AzureADTokenExchange", "gov": "api://AzureADTokenExchangeUSGov", "china": "api://AzureADTokenExchangeChina"} {
		c := map[string]cloud.Configuration{"public": cloud.AzurePublic, "gov": cloud.AzureGovernment, "china": cloud.AzureChina}[in]
		if got := TokenExchangeAudience(c); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}

func TestCheckTenant(t *testing.T) {
	ours, theirs := jwt(map[string]string{"tid": strings.ToUpper(customerTenant)}), jwt(map[string]string{"tid": otherTenant})
	none := jwt(map[string]string{"oid": miClientID})
	bound := Credentials{tenant: customerTenant}
	for tok, ok := range map[string]bool{ours: true, theirs: false, none: false, "opaque": false} {
		if err := bound.CheckTenant(tok); (err == nil) != ok {
			t.Errorf("CheckTenant(%q) = %v, want ok %v", tok, err, ok)
		}
	}
	// A static token that is not a JWT reaches only loopback: it passes;
	// a static JWT is checked like any other.
	static := Credentials{static: "opaque", tenant: customerTenant}
	if err := static.CheckTenant("opaque"); err != nil {
		t.Errorf("static opaque token refused: %v", err)
	}
	if _, err := (Credentials{static: theirs}).ForTenant(customerTenant).ForAudience("http://127.0.0.1")(context.Background()); !errors.Is(err, ErrOtherTenant) {
		t.Errorf("static token of another tenant handed out: %v", err)
	}
	if err := (Credentials{}).CheckTenant(theirs); err != nil {
		t.Errorf("no tenant configured, yet refused: %v", err)
	}
}

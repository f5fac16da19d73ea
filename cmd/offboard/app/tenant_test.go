package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// twoTenants hands out Graph tokens of one tenant and ARM tokens of
// another, and counts what it was asked for.
type twoTenants struct {
	graph, arm string
	asked      []string
}

func (c *twoTenants) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	scope := strings.Join(o.Scopes, " ")
	c.asked = append(c.asked, scope)
	tid := c.graph
	if strings.Contains(scope, "management") {
		tid = c.arm
	}
	claims, _ := json.Marshal(map[string]string{"tid": tid, "oid": "0b8a6f1e-4f1d-4c55-9a3e-7f2b9e0c1d2a"})
	tok := "e30." + base64.RawURLEncoding.EncodeToString(claims) + ".sig"
	return azcore.AccessToken{Token: tok, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestTenantOfChecksTheARMTokenOfEverySourceOnARM: the ARM token is asked
// for, and its tenant checked, before any request whenever a source on
// ARM is selected (the registry says which): a keyvault-only run is
// refused like an azure one when ARM hands out another tenant's token.
func TestTenantOfChecksTheARMTokenOfEverySourceOnARM(t *testing.T) {
	const mine, other = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa", "bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb"
	for _, source := range KnownSources() {
		cred := &twoTenants{graph: mine, arm: other}
		c := Config{Sources: []string{source}, Tenant: mine, Cloud: "public", GraphEndpoint: "https://graph.microsoft.com"}
		_, ok := tenantOf(context.Background(), zap.NewNop(), c, transport.CredentialsOf(cred).ForTenant(mine))
		onARM := Kinds().Service(source) == job.ServiceARM
		if ok == onARM {
			t.Errorf("%s (on ARM: %v): tenantOf ok %v after asking for %v", source, onARM, ok, cred.asked)
		}
	}
	for _, s := range []string{job.SourceAzure, job.SourceKeyVault} {
		if !OnARM(s) {
			t.Errorf("%s is not on ARM", s)
		}
	}
}

package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	azcloud "github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// Issue 31: the tenant is part of the configuration and of the record.
// With --tenant (OFFBOARD_TENANT_ID), every token the job is handed is
// checked to be that tenant's (its tid) before a request carries it, and
// a command first asks for its tokens (Graph's, and ARM's when the azure
// source is in use) and stops with exit 2, having sent nothing else, when
// one is another tenant's. Without --tenant, the tenant is the one the
// Graph token names. Either way it is recorded in the journal, summary.json
// and the pages, and restore and watch refuse the reports of another.

// The variables that configure authentication besides the flags.
const (
	// AuthEnv picks the mode: AuthDefault or AuthFederated.
	AuthEnv = "OFFBOARD_AUTH"
	// ManagedIdentityEnv is, with AuthFederated, the client id of the
	// deployment's user-assigned managed identity.
	ManagedIdentityEnv = "OFFBOARD_MANAGED_IDENTITY_CLIENT_ID"
)

// Authentication modes (OFFBOARD_AUTH).
const (
	// AuthDefault is DefaultAzureCredential (environment, workload
	// identity, managed identity, the Azure CLI).
	AuthDefault = "default"
	// AuthFederated is a multi-tenant application in the customer's
	// tenant, whose client assertion is the deployment's managed
	// identity's token (transport.Federated): no secret anywhere.
	AuthFederated = "federated"
)

// credentials picks how the job authenticates to the endpoints c uses:
// OFFBOARD_STATIC_TOKEN on loopback, else OFFBOARD_AUTH's mode
// (DefaultAzureCredential by default), bound to c.Tenant when it is set.
func (d Deps) credentials(c Config) (transport.Credentials, error) {
	static, _ := d.Env("OFFBOARD_STATIC_TOKEN")
	mode, _ := d.Env(AuthEnv)
	in := clouds[c.Cloud].Azcore
	var (
		creds transport.Credentials
		err   error
	)
	switch strings.ToLower(strings.TrimSpace(mode)) {
	case "", AuthDefault:
		creds, err = transport.NewCredentials(static, c.EndpointsInUse(), in)
	case AuthFederated:
		if static != "" {
			return creds, errors.New("OFFBOARD_STATIC_TOKEN and OFFBOARD_AUTH=federated are two ways to authenticate: set one")
		}
		clientID, _ := d.Env("AZURE_CLIENT_ID")
		miClientID, _ := d.Env(ManagedIdentityEnv)
		creds, err = transport.NewFederated(transport.Federated{TenantID: c.Tenant, ClientID: clientID, ManagedIdentityClientID: miClientID}, in)
	default:
		return creds, fmt.Errorf("OFFBOARD_AUTH=%q: %s (DefaultAzureCredential, the default) or %s", mode, AuthDefault, AuthFederated)
	}
	if err != nil {
		return creds, err
	}
	return creds.ForTenant(c.Tenant), nil
}

// tenantOf asks for the tokens of the services c uses (Graph's, and
// ARM's when a source on ARM is selected), before any other request,
// and returns the tenant the command acts in: c.Tenant, or the tid of
// the Graph token when it is not set ("" when that token is not a JWT).
// A token of another tenant than c.Tenant's, or one that cannot be had,
// is logged, and ok is false: the command exits 2 having sent nothing
// else.
func tenantOf(ctx context.Context, log *zap.Logger, c Config, creds transport.Credentials) (tenant string, ok bool) {
	tok, err := creds.ForAudience(c.GraphEndpoint)(ctx)
	if err == nil && UsesARM(c.Sources) {
		audience := clouds[c.Cloud].Azcore.Services[azcloud.ResourceManager].Audience
		_, err = creds.TokenCredential().GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{strings.TrimRight(audience, "/") + "/.default"}})
	}
	switch {
	case errors.Is(err, transport.ErrOtherTenant):
		log.Error("the token is not for the tenant the job is configured for (--tenant, OFFBOARD_TENANT_ID): nothing was done",
			zap.String("tenant", c.Tenant), zap.Error(err))
		return "", false
	case err != nil:
		log.Error("cannot authenticate", zap.String("tenant", c.Tenant), zap.Error(err))
		return "", false
	case c.Tenant != "":
		return job.NormalizeGUID(c.Tenant), true
	}
	tenant, err = transport.TenantOf(tok)
	if err != nil {
		log.Warn("the tenant is unknown (the token names none): the report records none; set --tenant", zap.Error(err))
		return "", true
	}
	return tenant, true
}

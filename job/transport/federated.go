package transport

import (
	"context"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/offboard/offboard/job"
)

// Federated is OFFBOARD_AUTH=federated: the job acts in a customer's
// tenant as a multi-tenant application of the deployment's tenant, with
// no secret and no certificate. The application trusts the deployment's
// user-assigned managed identity (a federated identity credential whose
// issuer is the deployment's tenant and whose subject is the identity's
// object id); the identity's token for the token-exchange audience is the
// client assertion of a ClientAssertionCredential in the customer's
// tenant.
type Federated struct {
	// TenantID is the customer's tenant (OFFBOARD_TENANT_ID).
	TenantID string
	// ClientID is the multi-tenant application's client id
	// (AZURE_CLIENT_ID).
	ClientID string
	// ManagedIdentityClientID is the client id of the user-assigned
	// managed identity the application trusts
	// (OFFBOARD_MANAGED_IDENTITY_CLIENT_ID).
	ManagedIdentityClientID string
}

// Check says what is missing from f.
func (f Federated) Check() error {
	var errs []error
	if !job.IsGUID(f.TenantID) {
		errs = append(errs, fmt.Errorf("OFFBOARD_AUTH=federated needs OFFBOARD_TENANT_ID (or --tenant), the customer's tenant id: %q is not a GUID", f.TenantID))
	}
	if !job.IsGUID(f.ClientID) {
		errs = append(errs, fmt.Errorf("OFFBOARD_AUTH=federated needs AZURE_CLIENT_ID, the multi-tenant application's client id: %q is not a GUID", f.ClientID))
	}
	if !job.IsGUID(f.ManagedIdentityClientID) {
		errs = append(errs, fmt.Errorf("OFFBOARD_AUTH=federated needs OFFBOARD_MANAGED_IDENTITY_CLIENT_ID, the client id of the managed identity the application trusts: %q is not a GUID",
			f.ManagedIdentityClientID))
	}
	return errors.Join(errs...)
}

// TokenExchangeAudience is the audience of the managed identity's token
// that Entra accepts as a client assertion, by cloud (the audience of the
// application's federated identity credential). The public cloud's is
// documented; the others are those Microsoft names for their clouds.
func TokenExchangeAudience(in cloud.Configuration) string {
	switch in.ActiveDirectoryAuthorityHost {
	case cloud.AzureGovernment.ActiveDirectoryAuthorityHost:
		return "api://AzureADTokenExchangeUSGov"
	case cloud.AzureChina.ActiveDirectoryAuthorityHost:
		return "api://AzureADTokenExchangeChina"
	}
	return "api://AzureADTokenExchange"
}

// NewFederated sets up f's credentials in the cloud: a
// ClientAssertionCredential in the customer's tenant whose assertion is
// the managed identity's token, bound to that tenant (ForTenant). Blob
// Storage, in the deployment's tenant, is reached with the managed
// identity itself.
func NewFederated(f Federated, in cloud.Configuration) (Credentials, error) {
	if err := f.Check(); err != nil {
		return Credentials{}, err
	}
	mi, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{Cloud: in},
		ID:            azidentity.ClientID(f.ManagedIdentityClientID),
	})
	if err != nil {
		return Credentials{}, fmt.Errorf("setting up the managed identity %s: %w", f.ManagedIdentityClientID, err)
	}
	return newFederated(f, mi, &azidentity.ClientAssertionCredentialOptions{ClientOptions: azcore.ClientOptions{Cloud: in}})
}

// newFederated is NewFederated with the managed identity (the assertion's
// source) and the options of the ClientAssertionCredential given: tests
// give a fake of each.
func newFederated(f Federated, mi azcore.TokenCredential, opts *azidentity.ClientAssertionCredentialOptions) (Credentials, error) {
	cred, err := azidentity.NewClientAssertionCredential(f.TenantID, f.ClientID, Assertion(mi, opts.Cloud), opts)
	if err != nil {
		return Credentials{}, fmt.Errorf("setting up the federated credential of application %s in tenant %s: %w", f.ClientID, f.TenantID, err)
	}
	cr := Credentials{cred: cred, storage: mi, audiences: &audiences{byRoot: map[string]TokenSource{}}}
	return cr.ForTenant(f.TenantID), nil
}

// Assertion is the client assertion callback: the token of mi for the
// token-exchange audience of the cloud.
func Assertion(mi azcore.TokenCredential, in cloud.Configuration) func(context.Context) (string, error) {
	scope := TokenExchangeAudience(in) + "/.default"
	return func(ctx context.Context) (string, error) {
		tok, err := mi.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return "", fmt.Errorf("getting the managed identity's token for %s (the client assertion): %w", scope, err)
		}
		return tok.Token, nil
	}
}

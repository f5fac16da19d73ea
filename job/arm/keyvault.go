package arm

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// The actions the `keyvault` source needs at a scope (Key Vault
// Contributor has both).
const (
	ActionReadVaults          = "Microsoft.KeyVault/vaults/read"
	ActionWriteAccessPolicies = "Microsoft.KeyVault/vaults/accessPolicies/write"
)

// KeyVaults is the `keyvault` source: the access policy entries a
// principal holds in the Key Vaults under the run's scopes that use the
// access-policy model (properties.enableRbacAuthorization false or
// absent). Such an entry grants data-plane access (get and list on
// secrets, say) outside Azure RBAC: no role assignment listing shows it.
// A vault using RBAC authorization is the `azure` source's business.
//
// It lists once a run, whatever the number of principals: each
// subscription's vaults with their properties (Vaults_ListBySubscription,
// which answers accessPolicies), or a resource group's when only that is
// in scope, then matches every principal locally. One row is one
// (vault, principal): every entry of the vault whose objectId is the
// principal's, a compound identity's (with an applicationId) too. It is
// removed with PUT {vault}/accessPolicies/remove carrying those entries as
// the vault holds them at that moment, and restored with
// accessPolicies/add carrying them as they were listed.
type KeyVaults struct {
	// scopes resolves --azure-scopes (shared with the `azure` source when
	// both run, so "all" and management groups are listed once) and
	// names a row's lane.
	scopes *Source
	cred   azcore.TokenCredential
	opts   *azarm.ClientOptions

	mu      sync.Mutex
	clients map[string]*armkeyvault.VaultsClient // by subscription id, lower case
}

var (
	_ job.Source    = (*KeyVaults)(nil)
	_ job.Grouper   = (*KeyVaults)(nil)
	_ job.IDChecker = (*KeyVaults)(nil)
	_ job.Restorer  = (*KeyVaults)(nil)
	_ job.Holder    = (*KeyVaults)(nil)
)

// NewKeyVaults returns the `keyvault` source for cfg.
func NewKeyVaults(cfg Config) (*KeyVaults, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return s.KeyVaults(), nil
}

// KeyVaults returns the `keyvault` source over the `azure` source's
// scopes, clients' options and lanes: when both run, "all" and the
// management groups are resolved once and one pace per subscription
// holds both.
func (s *Source) KeyVaults() *KeyVaults {
	return &KeyVaults{scopes: s, cred: s.cred, opts: s.opts, clients: map[string]*armkeyvault.VaultsClient{}}
}

// Name implements job.Source.
func (*KeyVaults) Name() string { return job.SourceKeyVault }

// GroupSize implements job.Grouper: Find takes every principal of the run
// at once, so that the vaults are listed once.
func (*KeyVaults) GroupSize() int { return 1 << 30 }

// Lane implements job.Holder: a vault's subscription, as ARM throttles.
func (k *KeyVaults) Lane(a job.Assignment) string { return k.scopes.Lane(a) }

// HeldUntil implements job.Holder.
func (k *KeyVaults) HeldUntil(lane string) time.Time { return k.scopes.HeldUntil(lane) }

// client is the vaults client of a subscription (the SDK's clients are
// bound to one).
func (k *KeyVaults) client(subscription string) (*armkeyvault.VaultsClient, error) {
	key := strings.ToLower(subscription)
	k.mu.Lock()
	defer k.mu.Unlock()
	if c, ok := k.clients[key]; ok {
		return c, nil
	}
	c, err := armkeyvault.NewVaultsClient(subscription, k.cred, k.opts)
	if err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	k.clients[key] = c
	return c, nil
}

// vaultPattern is a vault's id: it becomes the path of a GET and a PUT.
var vaultPattern = regexp.MustCompile(`(?i)^/subscriptions/(` + guid + `)/resourceGroups/(` + segment +
	`)/providers/Microsoft\.KeyVault/vaults/(` + segment + `)$`)

// vaultRef is a vault id taken apart.
type vaultRef struct {
	id, subscription, resourceGroup, name string
}

// parseVault checks a vault id's shape (no "." or ".." segment, no query)
// and takes it apart.
func parseVault(id string) (vaultRef, error) {
	m := vaultPattern.FindStringSubmatch(id)
	if m == nil || !validScope(id) {
		return vaultRef{}, fmt.Errorf("%q is not a Key Vault's id", id)
	}
	return vaultRef{id: id, subscription: m[1], resourceGroup: m[2], name: m[3]}, nil
}

// accessPoliciesInfix joins a vault's id and the principal's object id
// in a row's assignment id.
const accessPoliciesInfix = "/accessPolicies/"

// vaultEntries is a row's Raw: the vault and the principal's entries as
// the listing gave them, which a restore adds back.
type vaultEntries struct {
	Vault   string                           `json:"vault"`
	Entries []*armkeyvault.AccessPolicyEntry `json:"accessPolicies"`
}

// CheckID implements job.IDChecker: the row's id is
// {vault id}/accessPolicies/{principal's object id}, the vault id
// /subscriptions/{guid}/resourceGroups/{name}/providers/Microsoft.KeyVault/vaults/{name}
// inside what the run lists (within), and every entry kept for the
// restore is the principal's, its tenant (and application) ids GUIDs.
func (k *KeyVaults) CheckID(a job.Assignment) error {
	if err := checkKind(k.Name(), a); err != nil {
		return err
	}
	vault, _ := parseVault(a.Scope)
	if !k.scopes.resolved.Load() {
		return fmt.Errorf("%q: listed before the scopes were", a.ID)
	}
	if err := within(vault.id, k.scopes.scopes); err != nil {
		return fmt.Errorf("%q: %w", a.ID, err)
	}
	return nil
}

// checkEntries checks a row's ids and its Raw, and returns its vault and
// entries.
func checkEntries(a job.Assignment) (vaultRef, error) {
	prefix, object, ok := strings.Cut(a.ID, accessPoliciesInfix)
	if !ok || !job.IsGUID(object) || !strings.EqualFold(object, a.PrincipalID) {
		return vaultRef{}, fmt.Errorf("%q is not {vault id}/accessPolicies/{the principal's object id}", a.ID)
	}
	vault, err := parseVault(prefix)
	if err != nil {
		return vaultRef{}, fmt.Errorf("%q: %w", a.ID, err)
	}
	if !strings.EqualFold(a.Scope, vault.id) {
		return vaultRef{}, fmt.Errorf("%q is not at the vault %q it was listed with", a.ID, a.Scope)
	}
	if len(a.Raw) > 0 {
		if _, err := entriesOf(a, vault); err != nil {
			return vaultRef{}, err
		}
	}
	return vault, nil
}

// entriesOf reads the entries a row keeps and checks that each is the
// principal's: they go into the body of a request.
func entriesOf(a job.Assignment, vault vaultRef) ([]*armkeyvault.AccessPolicyEntry, error) {
	var r vaultEntries
	if err := json.Unmarshal(a.Raw, &r); err != nil || !strings.EqualFold(r.Vault, vault.id) || len(r.Entries) == 0 || len(r.Entries) > 16 {
		return nil, fmt.Errorf("%q: the record of its access policy entries is not one the job wrote", a.ID)
	}
	for _, e := range r.Entries {
		if e == nil || !strings.EqualFold(transport.Deref(e.ObjectID), a.PrincipalID) || !job.IsGUID(transport.Deref(e.TenantID)) ||
			e.ApplicationID != nil && !job.IsGUID(*e.ApplicationID) || e.Permissions == nil {
			return nil, fmt.Errorf("%q: an access policy entry that is not the principal's, or whose tenant or application id is not a GUID", a.ID)
		}
	}
	return r.Entries, nil
}

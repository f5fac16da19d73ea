package simtenant

// Azure Key Vaults (Microsoft.KeyVault/vaults) and their access policies,
// the pre-RBAC permission model: a vault with enableRbacAuthorization
// false grants data-plane access through properties.accessPolicies, which
// no role assignment listing shows. Served: the listings by subscription
// and by resource group (with their properties, accessPolicies included,
// as Vaults_ListBySubscription's example answers), GET of one vault, and
// PUT {vault}/accessPolicies/{add|replace|remove}.

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// KeyVault is an Azure Key Vault. ID is always derived:
// /subscriptions/{SubscriptionID}/resourceGroups/{ResourceGroup}/providers/Microsoft.KeyVault/vaults/{Name}.
type KeyVault struct {
	ID             string
	Name           string
	SubscriptionID string
	ResourceGroup  string
	Location       string // "westeurope" when empty
	// RBAC is properties.enableRbacAuthorization: the vault authorizes
	// data actions with Azure RBAC and ignores its access policies.
	RBAC           bool
	AccessPolicies []KeyVaultAccessPolicy
}

// KeyVaultAccessPolicy is one entry of a vault's access policies. The
// identity is (TenantID, ObjectID, ApplicationID): an entry with an
// ApplicationID is a compound identity (an application acting for the
// object).
type KeyVaultAccessPolicy struct {
	TenantID      string // the tenant's when empty
	ObjectID      string
	ApplicationID string
	Keys          []string
	Secrets       []string
	Certificates  []string
	Storage       []string
}

// KeyVaultPolicyLimit is how many access policy entries a vault holds at
// most.
const KeyVaultPolicyLimit = 1024

// armKeyVaults is where vaults live under a resource group.
const armKeyVaults = "/providers/Microsoft.KeyVault/vaults"

// armKeyVaultVersions are the api-versions the vault endpoints accept
// (armkeyvault v1.5.0 sends 2024-11-01).
func armKeyVaultVersions() []string {
	return []string{"2024-11-01", "2023-07-01", "2023-02-01", "2022-11-01", "2022-07-01", "2021-10-01", "2021-06-01-preview",
		"2019-09-01", "2018-02-14"}
}

// KeyVaultID is the id of a vault.
func KeyVaultID(subscriptionID, resourceGroup, name string) string {
	return "/subscriptions/" + subscriptionID + "/resourceGroups/" + resourceGroup + armKeyVaults + "/" + name
}

// AddKeyVault adds or replaces a vault and returns it with its defaults
// filled in (an entry's TenantID, the Location). Neither the subscription
// nor the resource group is checked: requests answer 404 until they exist.
func (t *Tenant) AddKeyVault(v KeyVault) KeyVault {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.addKeyVaultLocked(v)
}

func (t *Tenant) addKeyVaultLocked(v KeyVault) KeyVault {
	if v.Name == "" || v.SubscriptionID == "" || v.ResourceGroup == "" {
		panic("simtenant: a Key Vault needs a Name, a SubscriptionID and a ResourceGroup")
	}
	v.ID = KeyVaultID(v.SubscriptionID, v.ResourceGroup, v.Name)
	v.Location = cmp.Or(v.Location, "westeurope")
	v.AccessPolicies = slices.Clone(v.AccessPolicies)
	for i := range v.AccessPolicies {
		v.AccessPolicies[i].TenantID = cmp.Or(v.AccessPolicies[i].TenantID, t.tenantID)
	}
	t.arm.vaults[strings.ToLower(v.ID)] = v
	return v
}

// KeyVault finds a vault by id, case-insensitively.
func (t *Tenant) KeyVault(id string) (KeyVault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.arm.vaults[strings.ToLower(id)]
	v.AccessPolicies = slices.Clone(v.AccessPolicies)
	return v, ok
}

// KeyVaults returns every vault sorted by id.
func (t *Tenant) KeyVaults() []KeyVault {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := sortedValues(t.arm.vaults)
	for i := range out {
		out[i].AccessPolicies = slices.Clone(out[i].AccessPolicies)
	}
	return out
}

// KeyVaultPoliciesOf returns the entries of a principal (its object id,
// compound identities too) in a vault.
func (t *Tenant) KeyVaultPoliciesOf(vaultID, objectID string) []KeyVaultAccessPolicy {
	v, _ := t.KeyVault(vaultID)
	var out []KeyVaultAccessPolicy
	for _, p := range v.AccessPolicies {
		if strings.EqualFold(p.ObjectID, objectID) {
			out = append(out, p)
		}
	}
	return out
}

// addKeyVaultRoutes registers the vault endpoints.
func (t *Tenant) addKeyVaultRoutes() {
	rg := "/subscriptions/{subscription}/resourceGroups/{resourceGroup}"
	t.handle(http.MethodGet, "/subscriptions/{subscription}"+armKeyVaults, t.listKeyVaults)
	t.handle(http.MethodGet, rg+armKeyVaults, t.listKeyVaults)
	t.handle(http.MethodGet, rg+armKeyVaults+"/{vault}", t.getKeyVault)
	t.handle(http.MethodPut, rg+armKeyVaults+"/{vault}/accessPolicies/{operationKind}", t.updateKeyVaultAccessPolicy)
}

// The JSON of a vault, as api-version 2024-11-01 writes it.
type keyVaultJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties keyVaultPropsJSON `json:"properties"`
}

type keyVaultPropsJSON struct {
	SKU                          map[string]string  `json:"sku"`
	TenantID                     string             `json:"tenantId"`
	AccessPolicies               []accessPolicyJSON `json:"accessPolicies"`
	EnabledForDeployment         bool               `json:"enabledForDeployment"`
	EnabledForDiskEncryption     bool               `json:"enabledForDiskEncryption"`
	EnabledForTemplateDeployment bool               `json:"enabledForTemplateDeployment"`
	EnableSoftDelete             bool               `json:"enableSoftDelete"`
	SoftDeleteRetentionInDays    int                `json:"softDeleteRetentionInDays"`
	EnableRbacAuthorization      bool               `json:"enableRbacAuthorization"`
	VaultURI                     string             `json:"vaultUri"`
	ProvisioningState            string             `json:"provisioningState"`
	PublicNetworkAccess          string             `json:"publicNetworkAccess"`
}

type accessPolicyJSON struct {
	TenantID      string          `json:"tenantId"`
	ObjectID      string          `json:"objectId"`
	ApplicationID string          `json:"applicationId,omitempty"`
	Permissions   permissionsJSON `json:"permissions"`
}

type permissionsJSON struct {
	Keys         []string `json:"keys,omitempty"`
	Secrets      []string `json:"secrets,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
	Storage      []string `json:"storage,omitempty"`
}

func (p KeyVaultAccessPolicy) json() accessPolicyJSON {
	return accessPolicyJSON{TenantID: p.TenantID, ObjectID: p.ObjectID, ApplicationID: p.ApplicationID,
		Permissions: permissionsJSON{Keys: p.Keys, Secrets: p.Secrets, Certificates: p.Certificates, Storage: p.Storage}}
}

func (v KeyVault) json(tenantID string) keyVaultJSON {
	policies := []accessPolicyJSON{}
	for _, p := range v.AccessPolicies {
		policies = append(policies, p.json())
	}
	return keyVaultJSON{
		ID: v.ID, Name: v.Name, Type: "Microsoft.KeyVault/vaults", Location: v.Location, Tags: map[string]string{},
		Properties: keyVaultPropsJSON{
			SKU: map[string]string{"family": "A", "name": "standard"}, TenantID: tenantID, AccessPolicies: policies,
			EnableSoftDelete: true, SoftDeleteRetentionInDays: 90, EnableRbacAuthorization: v.RBAC,
			VaultURI: "https://" + v.Name + ".vault.azure.net/", ProvisioningState: "Succeeded", PublicNetworkAccess: "Enabled",
		},
	}
}

// keyVaultScope checks the api-version and that the subscription (and
// resource group) the path names exist; false means answered.
func (t *Tenant) keyVaultScope(c *call) (q map[string][]string, scope armScope, ok bool) {
	q, ok = c.armQuery(armKeyVaultVersions())
	if !ok {
		return nil, armScope{}, false
	}
	path := "/subscriptions/" + c.param("subscription")
	if rg := c.param("resourceGroup"); rg != "" {
		path += "/resourceGroups/" + rg
	}
	scope = parseARMScope(path)
	t.mu.Lock()
	code, message, found := t.arm.checkScopeLocked(scope)
	t.mu.Unlock()
	if !found {
		c.armError(http.StatusNotFound, code, message)
		return nil, armScope{}, false
	}
	return q, scope, true
}

// listKeyVaults serves GET /subscriptions/{s}/providers/Microsoft.KeyVault/vaults
// and the same under a resource group: the vaults there with their
// properties, sorted by id, $top (or the tenant's page size) a page, paged
// with an absolute nextLink.
func (t *Tenant) listKeyVaults(c *call) {
	q, scope, ok := t.keyVaultScope(c)
	if !ok {
		return
	}
	size := t.armPageSize()
	if top := q["$top"]; len(top) > 0 {
		n, err := strconv.Atoi(top[0])
		if err != nil || n < 1 {
			c.armError(http.StatusBadRequest, "InvalidQueryParameterValue", "The value '"+top[0]+"' of the query parameter '$top' is not valid.")
			return
		}
		size = n
	}
	bind := "kv-vaults\x00" + scope.key() + "\x00" + strconv.Itoa(size)
	after, ok := t.armSkipToken(c, q, bind)
	if !ok {
		return
	}
	t.mu.Lock()
	var keys []string
	for k := range t.arm.vaults {
		if strings.HasPrefix(k, scope.key()+"/") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	page, more := pageAfter(keys, after, size)
	body := armList{Value: []any{}}
	for _, k := range page {
		body.Value = append(body.Value, t.arm.vaults[k].json(t.tenantID))
	}
	t.mu.Unlock()
	if more {
		body.NextLink = armNextLink(c.r, t.skipToken(page[len(page)-1], bind))
	}
	c.armJSON(http.StatusOK, body)
}

func (t *Tenant) armPageSize() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.arm.cfg.PageSize
}

// keyVaultTarget finds the vault a request names; ok false means
// answered (404 ResourceNotFound, as ARM answers a missing resource).
func (t *Tenant) keyVaultTarget(c *call) (key string, ok bool) {
	if _, _, ok = t.keyVaultScope(c); !ok {
		return "", false
	}
	id := KeyVaultID(c.param("subscription"), c.param("resourceGroup"), c.param("vault"))
	key = strings.ToLower(id)
	t.mu.Lock()
	_, found := t.arm.vaults[key]
	t.mu.Unlock()
	if !found {
		c.armError(http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/vaults/"+c.param("vault")+
			"' under resource group '"+c.param("resourceGroup")+"' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
		return "", false
	}
	return key, true
}

// getKeyVault serves GET {vault id}.
func (t *Tenant) getKeyVault(c *call) {
	key, ok := t.keyVaultTarget(c)
	if !ok {
		return
	}
	t.mu.Lock()
	body := t.arm.vaults[key].json(t.tenantID)
	t.mu.Unlock()
	c.armJSON(http.StatusOK, body)
}

// accessPolicyUpdate is the body of PUT {vault}/accessPolicies/{kind}.
type accessPolicyUpdate struct {
	Properties *struct {
		AccessPolicies []*struct {
			TenantID      string           `json:"tenantId"`
			ObjectID      string           `json:"objectId"`
			ApplicationID string           `json:"applicationId"`
			Permissions   *permissionsJSON `json:"permissions"`
		} `json:"accessPolicies"`
	} `json:"properties"`
}

// updateKeyVaultAccessPolicy serves PUT {vault}/accessPolicies/{add|replace|remove}
// with {"properties":{"accessPolicies":[entries]}} (1 to 16 entries, each
// with tenantId, objectId and permissions; the tenant the vault's). An
// entry is matched to the vault's by its identity (tenant, object and
// application ids, without case):
//
//   - add merges its permissions into the matching entry, or appends it
//     (400 past KeyVaultPolicyLimit entries);
//   - replace sets the matching entry's permissions, or appends it;
//   - remove takes its permissions out of the matching entry, and the
//     entry out of the vault once it has none left; no matching entry
//     changes nothing.
//
// The answer is 200 with the entries sent, as the examples of
// Vaults_UpdateAccessPolicy show. *Unconfirmed*: whether remove drops the
// whole matching entry whatever permissions it names (sending the entry
// as the vault holds it removes it under either reading), what a remove
// of an entry the vault lacks answers (modelled: 200, nothing changed),
// and the codes of the 400s (modelled: BadRequest).
func (t *Tenant) updateKeyVaultAccessPolicy(c *call) {
	key, ok := t.keyVaultTarget(c)
	if !ok {
		return
	}
	kind := strings.ToLower(c.param("operationKind"))
	if !slices.Contains([]string{"add", "replace", "remove"}, kind) {
		c.armError(http.StatusBadRequest, "BadRequest", "The access policy operation kind '"+c.param("operationKind")+"' is not valid: use add, replace or remove.")
		return
	}
	var body accessPolicyUpdate
	if err := json.Unmarshal(c.body, &body); err != nil || body.Properties == nil {
		c.armBadContent(err)
		return
	}
	entries := body.Properties.AccessPolicies
	if len(entries) == 0 || len(entries) > 16 {
		c.armError(http.StatusBadRequest, "BadRequest", fmt.Sprintf("An access policy update carries 1 to 16 entries, not %d.", len(entries)))
		return
	}
	var sent []KeyVaultAccessPolicy
	for _, e := range entries {
		switch {
		case e == nil || e.Permissions == nil:
			c.armBadContent(errors.New("every access policy entry needs permissions"))
			return
		case !isGUID(e.ObjectID):
			t.violation("Key Vault access policy %s with objectId %q, which is not a GUID", kind, e.ObjectID)
			c.armError(http.StatusBadRequest, "BadRequest", "The objectId '"+e.ObjectID+"' of an access policy entry is not a valid GUID.")
			return
		case !strings.EqualFold(e.TenantID, t.tenantID):
			c.armError(http.StatusBadRequest, "BadRequest", "The tenantId '"+e.TenantID+"' of an access policy entry is not the vault's tenant.")
			return
		case e.ApplicationID != "" && !isGUID(e.ApplicationID):
			c.armError(http.StatusBadRequest, "BadRequest", "The applicationId '"+e.ApplicationID+"' of an access policy entry is not a valid GUID.")
			return
		}
		p := e.Permissions
		sent = append(sent, KeyVaultAccessPolicy{TenantID: e.TenantID, ObjectID: e.ObjectID, ApplicationID: e.ApplicationID,
			Keys: p.Keys, Secrets: p.Secrets, Certificates: p.Certificates, Storage: p.Storage})
	}
	t.mu.Lock()
	v := t.arm.vaults[key]
	policies := slices.Clone(v.AccessPolicies)
	for _, s := range sent {
		i := slices.IndexFunc(policies, func(p KeyVaultAccessPolicy) bool { return sameIdentity(p, s) })
		switch {
		case i < 0 && kind == "remove":
		case i < 0:
			policies = append(policies, s)
		case kind == "add":
			policies[i] = mergePermissions(policies[i], s, union)
		case kind == "replace":
			policies[i] = s
		default:
			if policies[i] = mergePermissions(policies[i], s, subtract); policies[i].empty() {
				policies = slices.Delete(policies, i, i+1)
			}
		}
	}
	if len(policies) > KeyVaultPolicyLimit {
		t.mu.Unlock()
		c.armError(http.StatusBadRequest, "BadRequest", fmt.Sprintf("A vault holds at most %d access policy entries.", KeyVaultPolicyLimit))
		return
	}
	v.AccessPolicies = policies
	t.arm.vaults[key] = v
	t.mu.Unlock()
	answer := map[string]any{"id": v.ID + "/accessPolicies/", "type": "Microsoft.KeyVault/vaults/accessPolicies"}
	var out []accessPolicyJSON
	for _, s := range sent {
		out = append(out, s.json())
	}
	answer["properties"] = map[string]any{"accessPolicies": out}
	c.armJSON(http.StatusOK, answer)
}

func sameIdentity(a, b KeyVaultAccessPolicy) bool {
	return strings.EqualFold(a.TenantID, b.TenantID) && strings.EqualFold(a.ObjectID, b.ObjectID) &&
		strings.EqualFold(a.ApplicationID, b.ApplicationID)
}

func (p KeyVaultAccessPolicy) empty() bool {
	return len(p.Keys)+len(p.Secrets)+len(p.Certificates)+len(p.Storage) == 0
}

// mergePermissions combines each kind of b's permissions into a's with op.
func mergePermissions(a, b KeyVaultAccessPolicy, op func(have, with []string) []string) KeyVaultAccessPolicy {
	a.Keys, a.Secrets = op(a.Keys, b.Keys), op(a.Secrets, b.Secrets)
	a.Certificates, a.Storage = op(a.Certificates, b.Certificates), op(a.Storage, b.Storage)
	return a
}

// union adds what with holds and have lacks (Key Vault's permission names
// compare without case).
func union(have, with []string) []string {
	out := slices.Clone(have)
	for _, w := range with {
		if !slices.ContainsFunc(out, func(h string) bool { return strings.EqualFold(h, w) }) {
			out = append(out, w)
		}
	}
	return out
}

// subtract keeps what with does not name.
func subtract(have, with []string) []string {
	var out []string
	for _, h := range have {
		if !slices.ContainsFunc(with, func(w string) bool { return strings.EqualFold(h, w) }) {
			out = append(out, h)
		}
	}
	return out
}

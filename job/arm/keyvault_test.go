package arm

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"

	"github.com/offboard/offboard/job"
)

const (
	kvSub    = "/subscriptions/5daeeca8-17a9-41b4-996e-705b8faffbf8"
	kvOther  = "/subscriptions/0b1c2d3e-0000-4000-8000-000000000002"
	kvVault  = kvSub + "/resourceGroups/rg-web/providers/Microsoft.KeyVault/vaults/kv-web"
	kvObject = "0f2c7d6e-1b4a-4c3e-9d8f-1a2b3c4d5e6f"
	kvTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	kvApp    = "5a5a5a5a-0000-4000-8000-000000000001"
)

// resolvedKeyVaults is a keyvault source whose scopes are resolved to
// these.
func resolvedKeyVaults(scopes ...scope) *KeyVaults {
	s := &Source{scopes: scopes}
	s.resolved.Store(true)
	return s.KeyVaults()
}

// kvRow is a row as Find makes it, of entries.
func kvRow(vault, object string, entries ...*armkeyvault.AccessPolicyEntry) job.Assignment {
	raw, _ := json.Marshal(vaultEntries{Vault: vault, Entries: entries})
	return job.Assignment{Source: job.SourceKeyVault, Kind: job.KindKeyVaultAccessPolicy, ID: vault + accessPoliciesInfix + object,
		PrincipalID: object, Scope: vault, Raw: raw}
}

func entry(tenant, object string, app *string) *armkeyvault.AccessPolicyEntry {
	get := armkeyvault.SecretPermissionsGet
	return &armkeyvault.AccessPolicyEntry{TenantID: &tenant, ObjectID: &object, ApplicationID: app,
		Permissions: &armkeyvault.Permissions{Secrets: []*armkeyvault.SecretPermissions{&get}}}
}

func TestKeyVaultCheckID(t *testing.T) {
	k := resolvedKeyVaults(scope{id: kvSub})
	app, bad := kvApp, "not-a-guid"
	elsewhere := kvOther + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
	tests := []struct {
		name string
		a    job.Assignment
		ok   bool
	}{
		{"an entry", kvRow(kvVault, kvObject, entry(kvTenant, kvObject, nil)), true},
		{"a compound identity too", kvRow(kvVault, kvObject, entry(kvTenant, kvObject, nil), entry(kvTenant, kvObject, &app)), true},
		{"a vault in a subscription not listed", kvRow(elsewhere, kvObject, entry(kvTenant, kvObject, nil)), false},
		{"a dot segment", kvRow(strings.Replace(kvVault, "kv-web", "..", 1), kvObject, entry(kvTenant, kvObject, nil)), false},
		{"not a vault", kvRow(kvSub+"/resourceGroups/rg-web/providers/Microsoft.Storage/storageAccounts/st", kvObject, entry(kvTenant, kvObject, nil)), false},
		{"a query", kvRow(kvVault+"?api-version=1", kvObject, entry(kvTenant, kvObject, nil)), false},
		{"another principal's entry", kvRow(kvVault, kvObject, entry(kvTenant, kvApp, nil)), false},
		{"a tenant id that is not a GUID", kvRow(kvVault, kvObject, entry("contoso", kvObject, nil)), false},
		{"an application id that is not a GUID", kvRow(kvVault, kvObject, entry(kvTenant, kvObject, &bad)), false},
		{"no entry", kvRow(kvVault, kvObject), false},
	}
	for _, tt := range tests {
		if err := k.CheckID(tt.a); (err == nil) != tt.ok {
			t.Errorf("%s: CheckID(%q) = %v, want ok %v", tt.name, tt.a.ID, err, tt.ok)
		}
	}
	// The id must name the principal, and lie at the vault it was listed with.
	a := kvRow(kvVault, kvObject, entry(kvTenant, kvObject, nil))
	a.PrincipalID = kvApp
	if k.CheckID(a) == nil {
		t.Error("an id naming another principal was accepted")
	}
	a = kvRow(kvVault, kvObject, entry(kvTenant, kvObject, nil))
	a.Scope = kvSub
	if k.CheckID(a) == nil {
		t.Error("a row at another scope than its vault was accepted")
	}
	if resolvedKeyVaults(scope{id: kvOther}).CheckID(kvRow(kvVault, kvObject, entry(kvTenant, kvObject, nil))) == nil {
		t.Error("a vault outside the listed scopes was accepted")
	}
	unresolved := (&Source{}).KeyVaults()
	if unresolved.CheckID(kvRow(kvVault, kvObject, entry(kvTenant, kvObject, nil))) == nil {
		t.Error("a row checked before the scopes were resolved was accepted")
	}
}

// TestKeyVaultTargets: each subscription is listed once; a resource group
// only when its subscription is not listed whole; management groups add
// nothing of their own (their descendants are among the scopes).
func TestKeyVaultTargets(t *testing.T) {
	rg := kvOther + "/resourceGroups/rg-ops"
	got := targets([]scope{
		{id: kvSub}, {id: kvSub + "/resourceGroups/rg-web"}, {id: kvVault},
		{id: rg + "/providers/Microsoft.KeyVault/vaults/kv-ops"}, {id: rg},
		{id: "/providers/Microsoft.Management/managementGroups/mg", group: true},
	})
	var names []string
	for _, t := range got {
		names = append(names, t.String())
	}
	if want := []string{kvOther + "/resourceGroups/rg-ops", kvSub}; !slices.Equal(names, want) {
		t.Errorf("targets %v, want %v", names, want)
	}
	if !inScope(rg+"/providers/Microsoft.KeyVault/vaults/kv-ops", []scope{{id: rg + "/providers/Microsoft.KeyVault/vaults/kv-ops"}}) ||
		inScope(rg+"/providers/Microsoft.KeyVault/vaults/kv-other", []scope{{id: rg + "/providers/Microsoft.KeyVault/vaults/kv-ops"}}) {
		t.Error("inScope: a vault scope holds that vault only")
	}
}

func TestKeyVaultRows(t *testing.T) {
	rbacOn, rbacOff := true, false
	app := kvApp
	keys := armkeyvault.KeyPermissionsUnwrapKey
	compound := entry(kvTenant, kvObject, &app)
	compound.Permissions = &armkeyvault.Permissions{Keys: []*armkeyvault.KeyPermissions{&keys}}
	name := "kv-web"
	id := kvVault
	v := &armkeyvault.Vault{ID: &id, Name: &name, Properties: &armkeyvault.VaultProperties{EnableRbacAuthorization: &rbacOff,
		AccessPolicies: []*armkeyvault.AccessPolicyEntry{entry(kvTenant, strings.ToUpper(kvObject), nil), compound, entry(kvTenant, kvApp, nil)}}}
	rows := accessPolicies(v, map[string]bool{kvObject: true})
	if len(rows) != 1 {
		t.Fatalf("%d rows, want one per (vault, principal): %+v", len(rows), rows)
	}
	r := rows[0]
	if r.ID != kvVault+"/accessPolicies/"+kvObject || r.Scope != kvVault || r.RoleName != "access policy on kv-web" ||
		r.PrincipalID != kvObject || r.Kind != job.KindKeyVaultAccessPolicy {
		t.Errorf("row %+v", r)
	}
	if want := "secrets: get and keys: unwrapKey (for application " + kvApp + ")"; r.Note != want {
		t.Errorf("detail %q, want %q", r.Note, want)
	}
	if err := resolvedKeyVaults(scope{id: kvSub}).CheckID(r); err != nil {
		t.Errorf("the row Find makes is refused: %v", err)
	}
	v.Properties.EnableRbacAuthorization = &rbacOn
	if !usesRBAC(v) {
		t.Error("an RBAC vault is not told apart")
	}
}

func TestKeyVaultHoldsAll(t *testing.T) {
	get, list := armkeyvault.SecretPermissionsGet, armkeyvault.SecretPermissionsList
	want := entry(kvTenant, kvObject, nil)
	want.Permissions.Secrets = []*armkeyvault.SecretPermissions{&get, &list}
	have := entry(strings.ToUpper(kvTenant), kvObject, nil)
	if holdsAll([]*armkeyvault.AccessPolicyEntry{have}, []*armkeyvault.AccessPolicyEntry{want}) {
		t.Error("an entry lacking list holds all")
	}
	up := armkeyvault.SecretPermissions("LIST")
	have.Permissions.Secrets = append(have.Permissions.Secrets, &up)
	if !holdsAll([]*armkeyvault.AccessPolicyEntry{have}, []*armkeyvault.AccessPolicyEntry{want}) {
		t.Error("permissions are compared without case")
	}
	app := kvApp
	if holdsAll([]*armkeyvault.AccessPolicyEntry{have}, []*armkeyvault.AccessPolicyEntry{entry(kvTenant, kvObject, &app)}) {
		t.Error("a compound identity is held by the plain one")
	}
}

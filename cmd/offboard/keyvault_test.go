package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/simtenant"
)

// keyVaultTenant is an Azure tenant with vaults in both permission models:
// kv-web (access policies) in the first subscription, kv-ops (access
// policies) in the second, kv-rbac (RBAC authorization) in the first, and
// kv-elsewhere in a third subscription outside the scopes the tests clean.
type keyVaultTenant struct {
	*azureTenant
	web, ops, rbac, elsewhere string
}

func startKeyVaultTenant(t *testing.T, cfg simtenant.Config) *keyVaultTenant {
	a := startAzureTenant(t, cfg)
	k := &keyVaultTenant{azureTenant: a}
	a.AddResourceGroup(a.sub2, "rg-ops")
	s3 := a.AddSubscription(simtenant.ARMSubscription{})
	a.AddResourceGroup(s3.ID, "rg-other")
	k.web = a.AddKeyVault(simtenant.KeyVault{Name: "kv-web", SubscriptionID: a.sub1, ResourceGroup: "rg-web"}).ID
	k.ops = a.AddKeyVault(simtenant.KeyVault{Name: "kv-ops", SubscriptionID: a.sub2, ResourceGroup: "rg-ops"}).ID
	k.rbac = a.AddKeyVault(simtenant.KeyVault{Name: "kv-rbac", SubscriptionID: a.sub1, ResourceGroup: "rg-web", RBAC: true}).ID
	k.elsewhere = a.AddKeyVault(simtenant.KeyVault{Name: "kv-elsewhere", SubscriptionID: s3.ID, ResourceGroup: "rg-other"}).ID
	return k
}

// grant adds an access policy entry to a vault.
func (k *keyVaultTenant) grant(vault string, p simtenant.KeyVaultAccessPolicy) {
	v, ok := k.KeyVault(vault)
	if !ok {
		panic("no vault " + vault)
	}
	v.AccessPolicies = append(v.AccessPolicies, p)
	k.AddKeyVault(v)
}

func secretsReader(objectID string) simtenant.KeyVaultAccessPolicy {
	return simtenant.KeyVaultAccessPolicy{ObjectID: objectID, Secrets: []string{"get", "list"}}
}

func TestKeyVaultSource(t *testing.T) {
	t.Parallel()
	k := startKeyVaultTenant(t, simtenant.Config{Seed: 61})
	user, _ := k.user("mia@contoso.com", 0)
	stays, _ := k.user("noah@contoso.com", 0)
	orphan := "0e0e0e0e-0000-4000-8000-0000000000aa" // deleted from Entra, its entry left behind
	app := "5a5a5a5a-0000-4000-8000-000000000001"
	k.grant(k.web, secretsReader(user))
	k.grant(k.web, simtenant.KeyVaultAccessPolicy{ObjectID: user, ApplicationID: app, Keys: []string{"get", "unwrapKey"}})
	k.grant(k.web, secretsReader(stays))
	k.grant(k.web, simtenant.KeyVaultAccessPolicy{ObjectID: orphan, Certificates: []string{"get"}})
	k.grant(k.ops, secretsReader(user))
	k.grant(k.ops, secretsReader(stays))
	k.grant(k.rbac, secretsReader(user)) // ignored by the vault; the azure source's business
	k.grant(k.elsewhere, secretsReader(user))
	// Someone removes the entry in kv-ops between the listing and the
	// removal: the removal's own read finds it gone and sends nothing.
	k.AddRule(simtenant.Rule{Method: "GET", PathContains: "/vaults/kv-ops", Times: 1,
		Before: func(*http.Request) {
			v, _ := k.KeyVault(k.ops)
			v.AccessPolicies = slices.DeleteFunc(v.AccessPolicies, func(p simtenant.KeyVaultAccessPolicy) bool { return p.ObjectID == user })
			k.AddKeyVault(v)
		}})
	webBefore, _ := k.KeyVault(k.web)

	dir := t.TempDir()
	input := writeCSV(t, "principal_id", user, orphan)
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + k.url, "OFFBOARD_SOURCES=keyvault"}
	r := k.offboard(t, env, "run", "--input", input, "--report", dir, "--azure-scopes", k.s1+","+k.s2)
	wantCode(t, r, 0)
	got := byAssignment(readReport(t, dir))
	mine := k.web + "/accessPolicies/" + user
	if row := got[mine]; row["status"] != "removed" || row["source"] != "keyvault" || row["kind"] != "keyvault-access-policy" ||
		row["role_name"] != "access policy on kv-web" || row["scope"] != k.web ||
		!strings.Contains(row["detail"], "secrets: get, list") || !strings.Contains(row["detail"], "keys: get, unwrapKey (for application "+app+")") {
		t.Errorf("the leaver's entry: %v", row)
	}
	if row := got[k.web+"/accessPolicies/"+orphan]; row["status"] != "removed" || !strings.Contains(row["detail"], "certificates: get") {
		t.Errorf("the deleted principal's entry: %v", row)
	}
	if row := got[k.ops+"/accessPolicies/"+user]; row["status"] != "already-absent" {
		t.Errorf("the entry removed behind the job's back: %v", row)
	}
	for id := range got {
		if strings.HasPrefix(id, k.rbac) || strings.HasPrefix(id, k.elsewhere) {
			t.Errorf("a row for %s", id)
		}
	}
	if p := k.KeyVaultPoliciesOf(k.web, user); len(p) != 0 {
		t.Errorf("the leaver still holds %+v", p)
	}
	if p := k.KeyVaultPoliciesOf(k.web, orphan); len(p) != 0 {
		t.Errorf("the deleted principal still holds %+v", p)
	}
	for _, vault := range []string{k.web, k.ops} {
		if p := k.KeyVaultPoliciesOf(vault, stays); len(p) != 1 || !slices.Equal(p[0].Secrets, []string{"get", "list"}) {
			t.Errorf("someone else's entry in %s: %+v", vault, p)
		}
	}
	for _, vault := range []string{k.rbac, k.elsewhere} {
		if p := k.KeyVaultPoliciesOf(vault, user); len(p) != 1 {
			t.Errorf("%s was touched: %+v", vault, p)
		}
	}
	for _, w := range k.writes() {
		if w.Method != http.MethodPut || !strings.HasPrefix(strings.ToLower(w.Path), strings.ToLower(k.web)+"/accesspolicies/remove") {
			t.Errorf("a write other than a removal from kv-web: %s %s", w.Method, w.Path)
		}
	}

	before, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	k.ResetRequests()
	wantCode(t, k.offboard(t, env, "run", "--input", input, "--report", dir, "--azure-scopes", k.s1+","+k.s2), 0)
	after, _ := os.ReadFile(filepath.Join(dir, "report.csv"))
	if !bytes.Equal(before, after) {
		t.Errorf("the rerun changed report.csv:\n%s\n---\n%s", before, after)
	}
	if w := k.writes(); len(w) != 0 {
		t.Errorf("the rerun sent %s %s", w[0].Method, w[0].Path)
	}

	// Restore puts back exactly what was removed.
	wantCode(t, k.offboard(t, env, "restore", "--report", dir, "--all"), 0)
	webAfter, _ := k.KeyVault(k.web)
	if !samePolicies(webBefore.AccessPolicies, webAfter.AccessPolicies) {
		t.Errorf("kv-web after restore:\n%+v\nwant\n%+v", webAfter.AccessPolicies, webBefore.AccessPolicies)
	}
	if p := k.KeyVaultPoliciesOf(k.ops, user); len(p) != 0 {
		t.Errorf("restore re-added an entry the run did not remove: %+v", p)
	}
	// Restoring again finds everything there and sends no write.
	k.ResetRequests()
	wantCode(t, k.offboard(t, env, "restore", "--report", dir, "--all"), 0)
	if w := k.writes(); len(w) != 0 {
		t.Errorf("the second restore sent %s %s", w[0].Method, w[0].Path)
	}
}

// samePolicies compares entries without their order.
func samePolicies(a, b []simtenant.KeyVaultAccessPolicy) bool {
	key := func(p simtenant.KeyVaultAccessPolicy) string { return fmt.Sprintf("%+v", p) }
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		ka[i] = key(a[i])
	}
	for i := range b {
		kb[i] = key(b[i])
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

// TestKeyVaultListingDoesNotGrowWithPrincipals: the vaults are listed once
// a run, every page of each subscription, whatever the number of
// principals; each principal is matched locally.
func TestKeyVaultListingDoesNotGrowWithPrincipals(t *testing.T) {
	t.Parallel()
	k := startKeyVaultTenant(t, simtenant.Config{Seed: 62, ARM: simtenant.ARMConfig{PageSize: 1}})
	for i := range 3 {
		k.AddKeyVault(simtenant.KeyVault{Name: fmt.Sprintf("kv-more%d", i), SubscriptionID: k.sub2, ResourceGroup: "rg-ops"})
	}
	reads := func(principals int) (lists, others int) {
		lines := []string{"principal_id"}
		for i := range principals {
			id := fmt.Sprintf("0e0e0e0e-0000-4000-8000-%012d", i+1)
			lines = append(lines, id)
			k.grant(k.web, secretsReader(id))
			k.grant(k.ops, secretsReader(id))
		}
		k.ResetRequests()
		env := []string{"OFFBOARD_ARM_ENDPOINT=" + k.url, "OFFBOARD_SOURCES=keyvault"}
		r := k.offboard(t, env, "plan", "--input", writeCSV(t, lines...), "--report", t.TempDir(), "--azure-scopes", "all")
		wantCode(t, r, 0)
		for _, q := range k.Requests() {
			switch {
			case strings.HasSuffix(q.Path, "/providers/Microsoft.KeyVault/vaults"):
				lists++
			case strings.Contains(q.Path, "Microsoft.KeyVault"):
				others++
			}
		}
		return lists, others
	}
	lists1, others1 := reads(1)
	lists20, others20 := reads(20)
	// Three subscriptions: kv-elsewhere's (one page), kv-web and kv-rbac's
	// (two), kv-ops and kv-more*'s (four).
	if lists1 != 7 || lists20 != lists1 {
		t.Errorf("vault listings: %d with 1 principal, %d with 20; want 7 each", lists1, lists20)
	}
	if others1 != 0 || others20 != 0 {
		t.Errorf("%d and %d other Key Vault requests: the listing should carry every vault's access policies", others1, others20)
	}
}

func TestKeyVaultNeedsAzureScopes(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 63})
	r := tn.offboard(t, []string{"OFFBOARD_SOURCES=keyvault"}, "run", "--input", writeCSV(t, "principal_id", tn.NewID()), "--report", t.TempDir())
	wantCode(t, r, 2)
	if !strings.Contains(r.stderr, "--sources keyvault needs --azure-scopes") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if n := len(tn.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestKeyVaultUnexpectedIDIsRefused: a listing that hands out a vault
// outside the scopes cleaned is a failed row and no request touches it.
func TestKeyVaultUnexpectedIDIsRefused(t *testing.T) {
	t.Parallel()
	k := startKeyVaultTenant(t, simtenant.Config{Seed: 64})
	user, _ := k.user("mia@contoso.com", 0)
	k.grant(k.web, secretsReader(user))
	// The first subscription's listing answers with kv-elsewhere, in a
	// subscription the run does not clean, and a vault id with "..".
	other := strings.Replace(k.web, "kv-web", "..", 1)
	body := fmt.Sprintf(`{"value":[%s,%s]}`, vaultJSON(k.elsewhere, k.TenantID(), user), vaultJSON(other, k.TenantID(), user))
	k.AddRule(simtenant.Rule{Method: "GET", PathContains: k.sub1 + "/providers/Microsoft.KeyVault/vaults", Status: 200, Body: body})
	dir := t.TempDir()
	env := []string{"OFFBOARD_ARM_ENDPOINT=" + k.url, "OFFBOARD_SOURCES=keyvault"}
	wantCode(t, k.offboard(t, env, "run", "--input", writeCSV(t, "principal_id", user), "--report", dir, "--azure-scopes", k.s1), 1)
	rows := readReport(t, dir)
	failed := 0
	for _, r := range rows {
		if r["status"] == "failed" && r["detail"] == "unexpected id from the service" {
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("%d rows refused, want 2: %v", failed, rows)
	}
	for _, q := range k.Requests() {
		if strings.Contains(q.Path, "kv-elsewhere") || strings.Contains(q.Path, "/..") {
			t.Errorf("a request for a refused vault: %s %s", q.Method, q.Path)
		}
	}
	if p := k.KeyVaultPoliciesOf(k.elsewhere, user); len(p) != 0 {
		t.Errorf("kv-elsewhere holds %+v (it held none)", p)
	}
}

func vaultJSON(id, tenantID, objectID string) string {
	return fmt.Sprintf(`{"id":%q,"name":"x","type":"Microsoft.KeyVault/vaults","properties":{"tenantId":%q,`+
		`"accessPolicies":[{"tenantId":%q,"objectId":%q,"permissions":{"secrets":["get"]}}],"enableRbacAuthorization":false}}`,
		id, tenantID, tenantID, objectID)
}

func TestKeyVaultCheckNamesItsPermissions(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		role, status string
	}{{simtenant.ARMOwner, "ok"}, {simtenant.ARMUserAccessAdministrator, "missing"}} {
		a := startAzureTenant(t, simtenant.Config{Seed: 65})
		a.AddARMRoleAssignment(simtenant.ARMRoleAssignment{PrincipalID: a.CallerID(), PrincipalType: "ServicePrincipal",
			Scope: a.s1, RoleDefinitionID: simtenant.ARMRoleDefinitionID(a.s1, c.role)})
		_, out := a.check(t, []string{"OFFBOARD_ARM_ENDPOINT=" + a.url}, "--sources", "keyvault", "--azure-scopes", a.s1)
		s, d := out.status("keyvault-scope", a.s1)
		if s != c.status {
			t.Errorf("%s: keyvault-scope %q %q", c.role, s, d)
		}
		if c.status == "missing" && (!strings.Contains(d, "Microsoft.KeyVault/vaults/accessPolicies/write") || !strings.Contains(d, "Key Vault Contributor")) {
			t.Errorf("the fix does not name the permission: %q", d)
		}
	}
}

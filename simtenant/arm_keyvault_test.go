package simtenant

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
)

func TestKeyVaultEndpoints(t *testing.T) {
	h := start(t, Config{Seed: 5, ARM: ARMConfig{PageSize: 2}})
	tn := h.tenant
	tn.AddSubscription(ARMSubscription{ID: armSub1})
	tn.AddResourceGroup(armSub1, "rg1")
	for i := range 3 {
		tn.AddKeyVault(KeyVault{Name: fmt.Sprintf("kv%d", i), SubscriptionID: armSub1, ResourceGroup: "rg1", RBAC: i == 2,
			AccessPolicies: []KeyVaultAccessPolicy{{ObjectID: armUser, Secrets: []string{"get", "list"}}, {ObjectID: armPeer, Keys: []string{"get"}}}})
	}
	const v = "?api-version=2024-11-01"
	list := "/subscriptions/" + armSub1 + "/providers/Microsoft.KeyVault/vaults"

	// Paged with an absolute nextLink, every vault with its properties.
	a := h.do(http.MethodGet, list+v)
	var got []string
	for a.status == http.StatusOK {
		for _, it := range values(t, a) {
			got = append(got, it["name"].(string))
			if _, ok := it["properties"].(map[string]any)["accessPolicies"]; !ok {
				t.Errorf("%s listed without accessPolicies", it["name"])
			}
		}
		next, _ := a.json(t)["nextLink"].(string)
		if next == "" {
			break
		}
		a = h.do(http.MethodGet, next)
	}
	if !slices.Equal(got, []string{"kv0", "kv1", "kv2"}) {
		t.Errorf("listed %v", got)
	}

	if a := h.do(http.MethodGet, list); a.status != http.StatusBadRequest || a.errorCode(t) != "MissingApiVersionParameter" {
		t.Errorf("no api-version: %d %s", a.status, a.body)
	}
	if a := h.do(http.MethodGet, list+"?api-version=2099-01-01"); a.status != http.StatusBadRequest || a.errorCode(t) != "InvalidApiVersionParameter" {
		t.Errorf("unknown api-version: %d %s", a.status, a.body)
	}
	vault := KeyVaultID(armSub1, "rg1", "kv0")
	if a := h.do(http.MethodGet, KeyVaultID(armSub1, "rg1", "nope")+v); a.status != http.StatusNotFound || a.errorCode(t) != "ResourceNotFound" {
		t.Errorf("missing vault: %d %s", a.status, a.body)
	}
	if a := h.do(http.MethodGet, KeyVaultID(armSub2, "rg1", "kv0")+v); a.status != http.StatusNotFound || a.errorCode(t) != "SubscriptionNotFound" {
		t.Errorf("missing subscription: %d %s", a.status, a.body)
	}

	// remove takes the permissions named out of the matching entry, and
	// the entry once it has none left; add puts it back.
	body := func(secrets string) []byte {
		return []byte(`{"properties":{"accessPolicies":[{"tenantId":"` + tn.TenantID() + `","objectId":"` + armUser +
			`","permissions":{"secrets":[` + secrets + `]}}]}}`)
	}
	if a := h.do(http.MethodPut, vault+"/accessPolicies/remove"+v, withBody(body(`"list"`))); a.status != http.StatusOK {
		t.Fatalf("remove: %d %s", a.status, a.body)
	}
	if p := tn.KeyVaultPoliciesOf(vault, armUser); len(p) != 1 || !slices.Equal(p[0].Secrets, []string{"get"}) {
		t.Errorf("after removing list: %+v", p)
	}
	h.do(http.MethodPut, vault+"/accessPolicies/remove"+v, withBody(body(`"get"`)))
	if p := tn.KeyVaultPoliciesOf(vault, armUser); len(p) != 0 {
		t.Errorf("after removing get: %+v", p)
	}
	if a := h.do(http.MethodPut, vault+"/accessPolicies/remove"+v, withBody(body(`"get"`))); a.status != http.StatusOK {
		t.Errorf("removing what is not there: %d %s", a.status, a.body)
	}
	h.do(http.MethodPut, vault+"/accessPolicies/add"+v, withBody(body(`"get","list"`)))
	if p := tn.KeyVaultPoliciesOf(vault, armUser); len(p) != 1 || !slices.Equal(p[0].Secrets, []string{"get", "list"}) {
		t.Errorf("after add: %+v", p)
	}
	if p := tn.KeyVaultPoliciesOf(vault, armPeer); len(p) != 1 {
		t.Errorf("the other entry: %+v", p)
	}
	if a := h.do(http.MethodPut, vault+"/accessPolicies/merge"+v, withBody(body(`"get"`))); a.status != http.StatusBadRequest {
		t.Errorf("unknown operation kind: %d", a.status)
	}
	if a := h.do(http.MethodPut, vault+"/accessPolicies/add"+v, withBody([]byte(`{"properties":{"accessPolicies":[]}}`))); a.status != http.StatusBadRequest {
		t.Errorf("no entry: %d", a.status)
	}
	// Writes count against the subscription's write bucket.
	if a := h.do(http.MethodPut, vault+"/accessPolicies/add"+v, withBody(body(`"get"`))); a.header.Get("x-ms-ratelimit-remaining-subscription-writes") == "" {
		t.Error("no remaining-writes counter on a write")
	}
}

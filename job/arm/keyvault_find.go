package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// listTarget is one listing: a subscription's vaults, or a resource
// group's when only (part of) it is in scope.
type listTarget struct {
	subscription, resourceGroup string
}

func (t listTarget) String() string {
	if t.resourceGroup == "" {
		return "/subscriptions/" + t.subscription
	}
	return "/subscriptions/" + t.subscription + "/resourceGroups/" + t.resourceGroup
}

// holds reports whether a vault id lies inside what the target lists.
func (t listTarget) holds(vaultID string) bool {
	return strings.HasPrefix(strings.ToLower(vaultID), strings.ToLower(t.String())+"/")
}

// targets are the listings that cover the scopes: a subscription once,
// a resource group (or a resource below one) through its resource group
// unless its subscription is listed whole. A management group stands for
// itself and its descendants, which the scopes hold: it adds nothing.
func targets(scopes []scope) []listTarget {
	subs, rgs := map[string]listTarget{}, map[string]listTarget{}
	for _, sc := range scopes {
		if sc.group {
			continue
		}
		segs := strings.Split(strings.Trim(sc.id, "/"), "/")
		if len(segs) < 2 || !strings.EqualFold(segs[0], "subscriptions") {
			continue
		}
		if len(segs) == 2 {
			subs[strings.ToLower(segs[1])] = listTarget{subscription: segs[1]}
			continue
		}
		if len(segs) >= 4 && strings.EqualFold(segs[2], "resourceGroups") {
			rgs[strings.ToLower(segs[1]+"/"+segs[3])] = listTarget{subscription: segs[1], resourceGroup: segs[3]}
		}
	}
	out := slices.Collect(maps.Values(subs))
	for _, t := range rgs {
		if _, whole := subs[strings.ToLower(t.subscription)]; !whole {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b listTarget) int {
		return strings.Compare(strings.ToLower(a.String()), strings.ToLower(b.String()))
	})
	return out
}

// inScope reports whether a vault lies at or below one of the scopes (the
// target that listed it may be wider: a resource group for one vault).
func inScope(vaultID string, scopes []scope) bool {
	v := strings.ToLower(vaultID)
	for _, sc := range scopes {
		s := strings.ToLower(strings.TrimRight(sc.id, "/"))
		if !sc.group && (v == s || strings.HasPrefix(v, s+"/")) {
			return true
		}
	}
	return false
}

// Find implements job.Source: every vault under the scopes is listed
// once, and each principal's entries are matched locally. A listing that
// fails fails every principal (each would have needed it).
func (k *KeyVaults) Find(ctx context.Context, principals []job.Principal) ([]job.Assignment, error) {
	scopes, err := k.scopes.resolveScopes(ctx)
	if err != nil {
		return nil, err
	}
	ids, failed := principalIDs(principals)
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var (
		mu     sync.Mutex
		vaults = map[string]*armkeyvault.Vault{}
		errs   []error
		wg     sync.WaitGroup
		sem    = make(chan struct{}, k.scopes.concurrency)
	)
	if len(want) > 0 {
		for _, t := range targets(scopes) {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				got, err := k.list(ctx, t, scopes)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, fmt.Errorf("listing the Key Vaults in %s: %w", t, err))
					return
				}
				for _, v := range got {
					vaults[strings.ToLower(*v.ID)] = v
				}
			})
		}
		wg.Wait()
	}
	if len(errs) > 0 {
		for id := range want {
			failed[id] = errors.Join(errs...)
		}
		return nil, failed
	}
	var out []job.Assignment
	for _, v := range vaults {
		out = append(out, accessPolicies(v, want)...)
	}
	slices.SortFunc(out, func(a, b job.Assignment) int { return strings.Compare(a.ID, b.ID) })
	if len(failed) > 0 {
		return out, failed
	}
	return out, nil
}

// list reads one target's vaults, every page (one listing:
// transport.Listing), and keeps those in scope that use access policies.
// A vault listed without its access policies is then read on its own.
func (k *KeyVaults) list(ctx context.Context, t listTarget, scopes []scope) ([]*armkeyvault.Vault, error) {
	c, err := k.client(t.subscription)
	if err != nil {
		return nil, err
	}
	lctx := transport.Listing(ctx)
	listed := func(v *armkeyvault.Vault) (*armkeyvault.Vault, bool) { return v, v != nil && v.ID != nil }
	var vaults []*armkeyvault.Vault
	if t.resourceGroup == "" {
		vaults, err = readPages(lctx, c.NewListBySubscriptionPager(nil),
			func(p armkeyvault.VaultsClientListBySubscriptionResponse) []*armkeyvault.Vault { return p.Value }, listed, 0)
	} else {
		vaults, err = readPages(lctx, c.NewListByResourceGroupPager(t.resourceGroup, nil),
			func(p armkeyvault.VaultsClientListByResourceGroupResponse) []*armkeyvault.Vault { return p.Value }, listed, 0)
	}
	if err != nil {
		return nil, err
	}
	var out []*armkeyvault.Vault
	for _, v := range vaults {
		// One the listing should not hold is kept for CheckID, which
		// refuses it: a failed row, never a request.
		if t.holds(*v.ID) && !inScope(*v.ID, scopes) {
			continue
		}
		if v.Properties == nil || v.Properties.AccessPolicies == nil && !usesRBAC(v) {
			ref, err := parseVault(*v.ID)
			if err != nil || !t.holds(*v.ID) {
				continue
			}
			got, err := c.Get(ctx, ref.resourceGroup, ref.name, nil)
			if err != nil {
				return nil, fmt.Errorf("reading vault %s: %w", ref.id, classify(err))
			}
			if got.ID == nil || !strings.EqualFold(*got.ID, *v.ID) {
				continue
			}
			v = &got.Vault
		}
		if !usesRBAC(v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// usesRBAC reports whether a vault authorizes data actions with Azure RBAC:
// its access policies are then ignored.
func usesRBAC(v *armkeyvault.Vault) bool {
	return v.Properties != nil && v.Properties.EnableRbacAuthorization != nil && *v.Properties.EnableRbacAuthorization
}

// accessPolicies are a vault's rows: one per wanted principal holding
// entries there.
func accessPolicies(v *armkeyvault.Vault, want map[string]bool) []job.Assignment {
	by := map[string][]*armkeyvault.AccessPolicyEntry{}
	for _, e := range v.Properties.AccessPolicies {
		if e == nil || e.ObjectID == nil {
			continue
		}
		if id := strings.ToLower(*e.ObjectID); want[id] {
			by[id] = append(by[id], e)
		}
	}
	name := transport.Deref(v.Name)
	if name == "" {
		_, name = cutLastSlash(*v.ID)
	}
	var out []job.Assignment
	for _, id := range slices.Sorted(maps.Keys(by)) {
		raw, _ := json.Marshal(vaultEntries{Vault: *v.ID, Entries: by[id]})
		out = append(out, job.Assignment{
			Source:      job.SourceKeyVault,
			Kind:        job.KindKeyVaultAccessPolicy,
			ID:          *v.ID + accessPoliciesInfix + id,
			PrincipalID: id,
			Scope:       *v.ID,
			RoleName:    "access policy on " + name,
			Note:        describeEntries(by[id]),
			Raw:         raw,
		})
	}
	return out
}

func cutLastSlash(s string) (string, string) {
	i := strings.LastIndex(s, "/")
	return s[:max(i, 0)], s[i+1:]
}

// describeEntries says what the entries granted: "keys: get, list;
// secrets: get" (an entry for an application on the principal's behalf
// says which).
func describeEntries(entries []*armkeyvault.AccessPolicyEntry) string {
	var parts []string
	for _, e := range entries {
		var held []string
		if p := e.Permissions; p != nil {
			for _, kind := range []struct {
				name  string
				perms []string
			}{{"keys", strs(p.Keys)}, {"secrets", strs(p.Secrets)}, {"certificates", strs(p.Certificates)}, {"storage", strs(p.Storage)}} {
				if len(kind.perms) > 0 {
					held = append(held, kind.name+": "+strings.Join(kind.perms, ", "))
				}
			}
		}
		s := strings.Join(held, "; ")
		if s == "" {
			s = "no permissions"
		}
		if app := transport.Deref(e.ApplicationID); app != "" {
			s += " (for application " + app + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " and ")
}

// strs turns the SDK's permission enums into strings.
func strs[T ~string](list []*T) []string {
	var out []string
	for _, p := range list {
		if p != nil {
			out = append(out, string(*p))
		}
	}
	return out
}

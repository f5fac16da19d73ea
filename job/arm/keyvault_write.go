package arm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/keyvault/armkeyvault"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// current reads the vault and returns the principal's entries as it holds
// them now; gone is true when the vault itself no longer exists.
func (k *KeyVaults) current(ctx context.Context, vault vaultRef, principal string) (entries []*armkeyvault.AccessPolicyEntry, gone bool, err error) {
	c, err := k.client(vault.subscription)
	if err != nil {
		return nil, false, err
	}
	got, err := c.Get(ctx, vault.resourceGroup, vault.name, nil)
	if err != nil {
		err = classify(err)
		var ae *transport.ServiceError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return nil, true, nil
		}
		return nil, false, err
	}
	if got.Properties == nil {
		return nil, false, nil
	}
	for _, e := range got.Properties.AccessPolicies {
		if e != nil && strings.EqualFold(transport.Deref(e.ObjectID), principal) {
			entries = append(entries, e)
		}
	}
	return entries, false, nil
}

// Remove implements job.Source: the vault is read, and the principal's
// entries as it holds them now are sent to accessPolicies/remove (what it
// was granted since the listing goes too). None left: already absent, and
// no write is sent.
func (k *KeyVaults) Remove(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	vault, err := parseVault(a.Scope)
	if err != nil {
		return job.Outcome{}, err
	}
	entries, gone, err := k.current(ctx, vault, a.PrincipalID)
	switch {
	case err != nil:
		return job.Outcome{}, err
	case gone:
		return job.Outcome{State: job.AlreadyAbsent, Detail: "the vault no longer exists"}, nil
	case len(entries) == 0:
		return job.Outcome{State: job.AlreadyAbsent, Detail: "the vault holds no access policy entry for the principal"}, nil
	}
	return k.update(ctx, vault, armkeyvault.AccessPolicyUpdateKindRemove, entries, job.Removed)
}

// update sends entries to accessPolicies/{kind} and answers state.
func (k *KeyVaults) update(ctx context.Context, vault vaultRef, kind armkeyvault.AccessPolicyUpdateKind,
	entries []*armkeyvault.AccessPolicyEntry, state job.State) (job.Outcome, error) {
	c, err := k.client(vault.subscription)
	if err != nil {
		return job.Outcome{}, err
	}
	_, err = c.UpdateAccessPolicy(ctx, vault.resourceGroup, vault.name, kind,
		armkeyvault.VaultAccessPolicyParameters{Properties: &armkeyvault.VaultAccessPolicyProperties{AccessPolicies: entries}}, nil)
	if err != nil {
		return job.Outcome{}, classify(err)
	}
	return job.Outcome{State: state}, nil
}

// Restore implements job.Restorer: the entries as the run listed them are
// sent to accessPolicies/add, unless the vault holds every permission of
// each already (already present).
func (k *KeyVaults) Restore(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	if err := checkKind(k.Name(), a); err != nil {
		return job.Outcome{}, err
	}
	vault, err := parseVault(a.Scope)
	if err != nil {
		return job.Outcome{}, err
	}
	want, err := entriesOf(a, vault)
	if err != nil {
		return job.Outcome{}, err
	}
	have, gone, err := k.current(ctx, vault, a.PrincipalID)
	switch {
	case err != nil:
		return job.Outcome{}, err
	case gone:
		return job.Outcome{}, fmt.Errorf("the vault %s no longer exists: its access policy entries cannot be restored", vault.id)
	case holdsAll(have, want):
		return job.Outcome{State: job.AlreadyPresent, Detail: "the vault holds these access policy permissions"}, nil
	}
	return k.update(ctx, vault, armkeyvault.AccessPolicyUpdateKindAdd, want, job.Restored)
}

// holdsAll reports whether every permission of every wanted entry is in
// an entry of the same identity (tenant, object, application) the vault
// holds.
func holdsAll(have, want []*armkeyvault.AccessPolicyEntry) bool {
	for _, w := range want {
		i := slices.IndexFunc(have, func(h *armkeyvault.AccessPolicyEntry) bool {
			return strings.EqualFold(transport.Deref(h.TenantID), transport.Deref(w.TenantID)) && strings.EqualFold(transport.Deref(h.ObjectID), transport.Deref(w.ObjectID)) &&
				strings.EqualFold(transport.Deref(h.ApplicationID), transport.Deref(w.ApplicationID))
		})
		if i < 0 {
			return false
		}
		h, wp := have[i].Permissions, w.Permissions
		if h == nil {
			h = &armkeyvault.Permissions{}
		}
		if !contains(strs(h.Keys), strs(wp.Keys)) || !contains(strs(h.Secrets), strs(wp.Secrets)) ||
			!contains(strs(h.Certificates), strs(wp.Certificates)) || !contains(strs(h.Storage), strs(wp.Storage)) {
			return false
		}
	}
	return true
}

// contains reports whether have holds every permission of want, compared
// without case (Key Vault's permissions are case-insensitive).
func contains(have, want []string) bool {
	for _, w := range want {
		if !slices.ContainsFunc(have, func(h string) bool { return strings.EqualFold(h, w) }) {
			return false
		}
	}
	return true
}

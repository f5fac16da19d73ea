package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
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
	failed := job.ListingErrors{}
	want := map[string]bool{}
	for _, p := range principals {
		if !job.IsGUID(p.ID) {
			failed[p.ID] = fmt.Errorf("principal id %q is not a GUID", p.ID)
			continue
		}
		want[strings.ToLower(p.ID)] = true
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
// A vault listed without its access policies is read on its own.
func (k *KeyVaults) list(ctx context.Context, t listTarget, scopes []scope) ([]*armkeyvault.Vault, error) {
	c, err := k.client(t.subscription)
	if err != nil {
		return nil, err
	}
	lctx := transport.Listing(ctx)
	var out []*armkeyvault.Vault
	keep := func(values []*armkeyvault.Vault) error {
		for _, v := range values {
			if v == nil || v.ID == nil {
				continue
			}
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
					return fmt.Errorf("reading vault %s: %w", ref.id, classify(err))
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
		return nil
	}
	if t.resourceGroup == "" {
		pager := c.NewListBySubscriptionPager(nil)
		for pager.More() {
			page, err := pager.NextPage(lctx)
			if err != nil {
				return nil, classify(err)
			}
			if err := keep(page.Value); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	pager := c.NewListByResourceGroupPager(t.resourceGroup, nil)
	for pager.More() {
		page, err := pager.NextPage(lctx)
		if err != nil {
			return nil, classify(err)
		}
		if err := keep(page.Value); err != nil {
			return nil, err
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

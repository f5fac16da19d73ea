package simtenant

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// ARMSample is the Azure side of a generated tenant: what GenerateARM
// built, with the ids a demo or test needs to know what a correct run
// reports. Id lists are sorted.
type ARMSample struct {
	// Scopes are the subscription scopes (/subscriptions/{id}) in the
	// order they were made: the value for --azure-scopes (or use "all").
	Scopes []string
	// ManagementGroup is the scope of the management group the
	// subscriptions sit under (its parent is the tenant root group).
	ManagementGroup string
	// Removable are the role assignments a correct run with the azure
	// source deletes: every assignment of the departing principals and of
	// Orphan, each once.
	Removable []string
	// Remaining are the role assignments that must stay: the staying
	// principals' and the caller's.
	Remaining []string
	// Orphan is a principal that exists nowhere in the directory but holds
	// assignments ("Identity not found"); the CSV names it by principal_id
	// only.
	Orphan string
	// ManagementGroupAssignment is a departing principal's assignment at
	// ManagementGroup: every subscription's listing shows it; a correct run
	// deletes it once. It is in Removable.
	ManagementGroupAssignment string
	// Eligibilities are Azure PIM eligibility schedules of departing
	// principals: a run that removes eligibilities revokes them.
	Eligibilities []string
	// RemainingEligibilities are eligibilities that must stay.
	RemainingEligibilities []string
}

// GenerateARM adds an Azure estate to the tenant: under the tenant root
// group a management group, two or three subscriptions under it, two
// resource groups in each; then role assignments for departing (all of
// which a correct run removes: at subscription, resource group and resource
// scope, one at the management group) and for an Orphan principal it
// makes up, plus an Azure PIM eligibility of departing[0]; and assignments
// that must stay for staying (one each; staying[0] also at the management
// group and with an eligibility) and for the caller (User Access
// Administrator at the root group, which the job needs to delete
// anything). Everything, ids included, follows from seed, departing and
// staying; it draws nothing from the tenant's own id source, so calling it
// after the Graph side is built leaves Graph's ids unchanged.
//
// departing must hold only principals a correct run acts on (not the
// protected, deferred or self ones: put protected and deferred ones in
// staying, whose assignments must remain), and no principal twice.
func (t *Tenant) GenerateARM(seed uint64, departing, staying []string) ARMSample {
	g := armGenerator{t: t, rng: rand.New(rand.NewPCG(seed, 0x61726d67656e))} // "armgen"
	var s ARMSample

	const mgID = "mg-platform"
	s.ManagementGroup = t.AddManagementGroup(mgID, "")
	names := []string{"Contoso Production", "Contoso Development", "Contoso Sandbox"}
	var scopes []string // subscriptions and resource groups
	var resources []string
	for i := range 2 + g.rng.IntN(2) {
		sub := t.AddSubscription(ARMSubscription{ID: g.guid(), DisplayName: names[i], ManagementGroup: mgID})
		s.Scopes = append(s.Scopes, sub.Scope())
		scopes = append(scopes, sub.Scope())
		for _, rg := range []string{"rg-web", "rg-data"} {
			scopes = append(scopes, t.AddResourceGroup(sub.ID, rg))
		}
		resources = append(resources, fmt.Sprintf("%s/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stcontoso%d%03d",
			sub.Scope(), i+1, g.rng.IntN(1000)))
	}

	s.Orphan = g.guid()
	leavers := append(slices.Clone(departing), s.Orphan)
	for i, p := range leavers {
		roles := []string{ARMReader, ARMContributor, ARMOwner}
		for range 1 + g.rng.IntN(2) {
			if id, ok := g.assign(p, g.pick(scopes), g.pick(roles)); ok {
				s.Removable = append(s.Removable, id)
			}
		}
		switch i {
		case 0:
			id, _ := g.assign(p, s.ManagementGroup, ARMReader)
			s.ManagementGroupAssignment = id
			s.Removable = append(s.Removable, id)
			if p != s.Orphan {
				s.Eligibilities = append(s.Eligibilities, g.eligible(p, s.Scopes[0], ARMOwner))
			}
		case 1:
			if id, ok := g.assign(p, resources[0], ARMContributor); ok {
				s.Removable = append(s.Removable, id)
			}
		}
	}

	id, _ := g.assign(t.CallerID(), t.RootManagementGroup(), ARMUserAccessAdministrator)
	s.Remaining = append(s.Remaining, id)
	for i, p := range staying {
		if id, ok := g.assign(p, g.pick(scopes), g.pick([]string{ARMReader, ARMContributor})); ok {
			s.Remaining = append(s.Remaining, id)
		}
		if i == 0 {
			id, _ := g.assign(p, s.ManagementGroup, ARMReader)
			s.Remaining = append(s.Remaining, id)
			s.RemainingEligibilities = append(s.RemainingEligibilities, g.eligible(p, s.Scopes[0], ARMContributor))
		}
	}
	g.keyVaults(seed, &s, departing, staying)
	slices.Sort(s.Removable)
	slices.Sort(s.Remaining)
	slices.Sort(s.Eligibilities)
	slices.Sort(s.RemainingEligibilities)
	return s
}

// armGenerator draws an estate from one seeded source, in a fixed order.
type armGenerator struct {
	t    *Tenant
	rng  *rand.Rand
	held map[string]bool // scope, role and principal already assigned
}

func (g *armGenerator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// guid draws a (version 4) GUID from the generator's source.
func (g *armGenerator) guid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// principalType is what the directory says a principal is, User for one it
// does not know.
func (g *armGenerator) principalType(id string) string {
	if kind, ok := g.t.principalTypeOf(id); ok {
		return kind
	}
	return "User"
}

// assign gives a principal a role at a scope unless it holds it there
// already (ok false).
func (g *armGenerator) assign(principal, scope, role string) (string, bool) {
	key := strings.ToLower(principal + " " + scope + " " + role)
	if g.held == nil {
		g.held = map[string]bool{}
	}
	name := g.guid() // drawn either way, so one skip does not shift later ids
	if g.held[key] {
		return "", false
	}
	g.held[key] = true
	a := g.t.AddARMRoleAssignment(ARMRoleAssignment{
		Name:             name,
		Scope:            scope,
		RoleDefinitionID: role,
		PrincipalID:      principal,
		PrincipalType:    g.principalType(principal),
		Description:      "generated by simtenant",
	})
	return a.ID, true
}

// eligible makes a principal eligible for a role at a scope.
func (g *armGenerator) eligible(principal, scope, role string) string {
	e := g.t.AddARMEligibilitySchedule(ARMEligibilitySchedule{
		Name:             g.guid(),
		Scope:            scope,
		RoleDefinitionID: role,
		PrincipalID:      principal,
		PrincipalType:    g.principalType(principal),
	})
	return e.ID
}

// keyVaults adds the sample's Key Vaults, drawn from a source of their
// own so that the ids drawn before them are what they were before vaults
// existed, and kept out of ARMSample (whose fingerprint is pinned): one
// vault using access policies in each subscription's rg-data
// (kv-contoso-{n}{draw}), holding an entry that must stay for staying[0]
// and, in the first, departing[0]'s entry (secrets get and list, keys
// get), in the second Orphan's (certificates get and list): those two a
// correct run with the keyvault source removes. kv-contoso-rbac{draw}, in
// the first subscription's rg-web, uses RBAC authorization: its entry of
// departing[0] is dormant and stays. Tenant.KeyVaults lists them.
func (g *armGenerator) keyVaults(seed uint64, s *ARMSample, departing, staying []string) {
	rng := rand.New(rand.NewPCG(seed, 0x6b7667656e)) // "kvgen"
	reader := func(objectID string) KeyVaultAccessPolicy {
		return KeyVaultAccessPolicy{ObjectID: objectID, Secrets: []string{"get", "list"}}
	}
	for i, scope := range s.Scopes {
		v := KeyVault{Name: fmt.Sprintf("kv-contoso-%d%03d", i+1, rng.IntN(1000)),
			SubscriptionID: strings.TrimPrefix(scope, "/subscriptions/"), ResourceGroup: "rg-data"}
		switch {
		case i == 0 && len(departing) > 0:
			v.AccessPolicies = append(v.AccessPolicies, KeyVaultAccessPolicy{ObjectID: departing[0], Secrets: []string{"get", "list"}, Keys: []string{"get"}})
		case i == 1:
			v.AccessPolicies = append(v.AccessPolicies, KeyVaultAccessPolicy{ObjectID: s.Orphan, Certificates: []string{"get", "list"}})
		}
		if len(staying) > 0 {
			v.AccessPolicies = append(v.AccessPolicies, reader(staying[0]))
		}
		g.t.AddKeyVault(v)
	}
	if len(s.Scopes) > 0 && len(departing) > 0 {
		g.t.AddKeyVault(KeyVault{Name: fmt.Sprintf("kv-contoso-rbac%03d", rng.IntN(1000)), RBAC: true,
			SubscriptionID: strings.TrimPrefix(s.Scopes[0], "/subscriptions/"), ResourceGroup: "rg-web",
			AccessPolicies: []KeyVaultAccessPolicy{reader(departing[0])}})
	}
}

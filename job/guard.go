package job

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// The names of the sources, as --sources and the report spell them.
const (
	SourceDirectory = "directory"
	SourcePIM       = "pim"
	SourceGroups    = "groups"
	SourceAzure     = "azure"
	SourceKeyVault  = "keyvault"
)

// Why a guard leaves access in place on purpose: the detail of a skipped
// row begins with one of these, and report's summary page and attestation
// say from it why the access is there and what a person does about it.
const (
	HeldProtected         = "protected"          // the principal is named in --protect
	HeldSelf              = "self"               // the principal is the job's own identity
	HeldLastOwner         = "last-owner"         // a group's, an application's or a service principal's last owner
	HeldLastGlobalAdmin   = "last-global-admin"  // the tenant's last Global Administrator (LastGlobalAdmin)
	HeldDynamicMembership = "dynamic-membership" // a member of a group with a membership rule
	HeldOnPremisesSynced  = "on-premises-synced" // a member of a group synced from on-premises
	HeldMailEnabled       = "mail-enabled"       // a member or owner of a group only Exchange Online changes
)

// GroupScope is the scope of a row of access to a group (its membership,
// its ownership, PIM for Groups'): the group.
func GroupScope(groupID string) string { return "/groups/" + groupID }

// GlobalAdministrator is the role template id of Global Administrator.
const GlobalAdministrator = "62e90394-69f5-4237-9190-012177145e10"

// AdminHolder is one active Global Administrator assignment of the tenant.
type AdminHolder struct {
	AssignmentID string
	PrincipalID  string
	// Group is true when the principal is a (role-assignable) group; its
	// members then hold the role through it.
	Group   bool
	Members []string
}

// Admins lists who holds Global Administrator.
type Admins interface {
	GlobalAdmins(ctx context.Context) ([]AdminHolder, error)
}

// LastGlobalAdmin is the guard that keeps a tenant from losing its last
// Global Administrator: when the plan would remove every active Global
// Administrator assignment (and every membership that hands the role over
// through a group), those rows are skipped with detail last-global-admin.
//
// What it counts: active (not eligible) assignments of the Global
// Administrator role, at any scope; one held by a group counts while at
// least one of the group's members keeps its membership.
type LastGlobalAdmin struct {
	Admins Admins
	Log    *zap.Logger
}

var _ Guard = LastGlobalAdmin{}

// Check implements Guard.
func (g LastGlobalAdmin) Check(ctx context.Context, items []*Item) (string, error) {
	// The kinds whose removal can take Global Administrator away: the
	// role's assignment, and the membership (a reference, or a PIM for
	// Groups active one) of a group that holds it.
	leavesGroup := func(it *Item) bool { return it.Kind == KindGroupMember || it.Kind == KindGroupActiveMember }
	relevant := false
	for _, it := range items {
		if it.State == Planned && it.AssignmentID != "" && (leavesGroup(it) ||
			it.Kind == KindDirectoryRole && it.RoleDefinitionID == GlobalAdministrator) {
			relevant = true
			break
		}
	}
	if !relevant {
		// No planned removal could take Global Administrator away (and a
		// plan of 100,000 removals needs no index of them).
		return "", nil
	}
	planned := map[Key]*Item{}         // the role's assignments, by key
	leaving := map[[2]string][]*Item{} // {member, group's scope}: its rows that take it out
	for _, it := range items {
		switch {
		case it.State != Planned || it.AssignmentID == "":
		case it.Kind == KindDirectoryRole:
			planned[it.Key()] = it
		case leavesGroup(it):
			k := [2]string{it.PrincipalID, it.Scope}
			leaving[k] = append(leaving[k], it)
		}
	}
	holders, err := g.Admins.GlobalAdmins(ctx)
	if err != nil {
		return "", fmt.Errorf("listing the Global Administrators: %w", err)
	}
	var doomed []*Item
	remaining := 0
	for _, h := range holders {
		if it := planned[Key{PrincipalID: h.PrincipalID, Source: SourceDirectory, AssignmentID: h.AssignmentID}]; it != nil {
			doomed = append(doomed, it)
			continue
		}
		if !h.Group {
			remaining++
			continue
		}
		stays := false
		for _, m := range h.Members {
			// A member leaves the group by its membership's removal or
			// by the removal of the PIM for Groups active assignment
			// that made it a member.
			rows := leaving[[2]string{NormalizeGUID(m), GroupScope(h.PrincipalID)}]
			doomed = append(doomed, rows...)
			stays = stays || len(rows) == 0
		}
		if stays {
			remaining++
		}
	}
	if remaining > 0 || len(doomed) == 0 {
		return "", nil
	}
	for _, it := range doomed {
		if it.State == Skipped {
			continue // named by two assignments of the role
		}
		if err := it.Step(Guarded, Words{"reason": HeldLastGlobalAdmin}); err != nil {
			return "", err
		}
	}
	if g.Log != nil {
		g.Log.Warn("the plan would remove every Global Administrator of the tenant: those removals are skipped",
			zap.Int("assignments", len(holders)), zap.Int("skipped", len(doomed)))
	}
	return "", nil
}

// HeldBack is a principal held back by --max-removals-per-principal: its
// plan held more removals than the cap, so its rows are deferred, nothing
// is sent for it, and the run exits 1 so that someone looks. It is data,
// not a detail to parse: a row deferred by its effective date is not one.
type HeldBack struct {
	PrincipalID string
	UPN         string
	// Planned is how many removals its plan held; Cap is the cap they
	// exceed.
	Planned, Cap int
}

// overCap finds the principals whose pending removals number more than
// limit (none when limit is 0 or less: no cap), in the plan's order, and
// how many pending removals the others hold. One principal who holds a
// thousand assignments (created for herself, or a service principal's
// sprawl) must not stop everyone else's offboarding at --max-removals.
func overCap(pending []*Item, limit int) (held []HeldBack, rest int) {
	if limit <= 0 {
		return nil, len(pending)
	}
	per := map[string]int{}
	for _, it := range pending {
		per[it.PrincipalID]++
	}
	rest = len(pending)
	seen := map[string]bool{}
	for _, it := range pending {
		n := per[it.PrincipalID]
		if n <= limit || seen[it.PrincipalID] {
			continue
		}
		seen[it.PrincipalID] = true
		held = append(held, HeldBack{PrincipalID: it.PrincipalID, UPN: it.UPN, Planned: n, Cap: limit})
		rest -= n
	}
	return held, rest
}

// holdBack defers the pending items of the held principals (over-cap),
// keeping the listing's note (a group's name) before the reason.
func (r *Runner) holdBack(pending []*Item, held []HeldBack) {
	byID := make(map[string]HeldBack, len(held))
	for _, h := range held {
		byID[h.PrincipalID] = h
	}
	for _, it := range pending {
		if h, ok := byID[it.PrincipalID]; ok {
			r.step(it, OverCap, Words{"planned": fmt.Sprint(h.Planned), "cap": fmt.Sprint(h.Cap)})
		}
	}
}

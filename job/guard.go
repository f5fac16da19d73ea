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
)

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
	relevant := false
	for _, it := range items {
		if it.State == Planned && it.AssignmentID != "" && (it.Source == SourceGroups ||
			it.Source == SourceDirectory && it.RoleDefinitionID == GlobalAdministrator) {
			relevant = true
			break
		}
	}
	if !relevant {
		// No planned removal could take Global Administrator away (and a
		// plan of 100,000 removals needs no index of them).
		return "", nil
	}
	planned := map[Key]*Item{}
	for _, it := range items {
		if it.State == Planned && it.AssignmentID != "" {
			planned[it.Key()] = it
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
			// that made it a member (groups' {group}/active-member).
			leaves := false
			for _, id := range []string{h.PrincipalID, h.PrincipalID + "/active-member"} {
				if it := planned[Key{PrincipalID: NormalizeGUID(m), Source: SourceGroups, AssignmentID: id}]; it != nil {
					doomed = append(doomed, it)
					leaves = true
				}
			}
			stays = stays || !leaves
		}
		if stays {
			remaining++
		}
	}
	if remaining > 0 || len(doomed) == 0 {
		return "", nil
	}
	for _, it := range doomed {
		it.State, it.Detail = Skipped, "last-global-admin"
	}
	if g.Log != nil {
		g.Log.Warn("the plan would remove every Global Administrator of the tenant: those removals are skipped",
			zap.Int("assignments", len(holders)), zap.Int("skipped", len(doomed)))
	}
	return "", nil
}

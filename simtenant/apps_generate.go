package simtenant

import (
	"slices"
	"strings"
)

// AppsSample is what the sample holds for the `apps` source: a departing
// developer who owns an app registration and its service principal
// (with a colleague who stays), is the only owner of a sandbox app, and
// holds an app role on an enterprise application; and a retired
// workload whose service principal holds Microsoft Graph's
// RoleManagement.ReadWrite.Directory.
type AppsSample struct {
	// Developer is a departing user; Workload a departing service
	// principal. Either is "" when the sample has none acting.
	Developer, Workload string
	// MicrosoftGraph is the id of Microsoft Graph's service principal.
	MicrosoftGraph string
	// Ownerships are the (object id, owner id) ownerships of applications
	// and service principals a correct run removes, sorted.
	Ownerships [][2]string
	// LastOwner is the (application id, owner id) a correct run keeps:
	// skipped, last-owner.
	LastOwner [2]string
	// AppRoleAssignments are the ids of the app role assignments a
	// correct run removes, sorted.
	AppRoleAssignments []string
}

// appsAccess adds the sample's applications. Ids come from the seed by
// hashing, not from the tenant's sequence of ids, so that everything
// generated before and after stays as it was. acting are the departing
// principals a correct run acts on, in the sample's order.
func (g *generator) appsAccess(s *Sample, acting []string) {
	t := g.t
	id := func(parts ...string) string {
		return guidFromHash(hash64(t.cfg.Seed, append([]string{"apps", t.tenantID}, parts...)...))
	}
	graph := t.AddMicrosoftGraph()
	s.Apps.MicrosoftGraph = graph.ID
	for _, p := range acting {
		if _, ok := t.User(p); ok && s.Apps.Developer == "" {
			s.Apps.Developer = p
		}
		if _, ok := t.ServicePrincipal(p); ok && s.Apps.Workload == "" {
			s.Apps.Workload = p
		}
	}
	// A colleague who stays co-owns the developer's app.
	colleague := ""
	for _, u := range t.Users() {
		if !slices.Contains(s.Departing, u.ID) && !slices.Contains(s.BreakGlass, u.ID) {
			colleague = u.ID
			break
		}
	}
	if dev := s.Apps.Developer; dev != "" {
		payroll := t.AddApplication(Application{ID: id("app", "payroll"), AppID: id("appId", "payroll"), DisplayName: "Payroll Sync"})
		payrollSP := t.AddServicePrincipal(ServicePrincipal{ID: id("sp", "payroll"), AppID: payroll.AppID, DisplayName: "Payroll Sync"})
		sandbox := t.AddApplication(Application{ID: id("app", "sandbox"), AppID: id("appId", "sandbox"), DisplayName: "Developer Sandbox"})
		for _, obj := range []string{payroll.ID, payrollSP.ID} {
			if colleague != "" {
				_ = t.AddAppOwner(obj, colleague)
			}
			if t.AddAppOwner(obj, dev) == nil && colleague != "" {
				s.Apps.Ownerships = append(s.Apps.Ownerships, [2]string{obj, dev})
			}
		}
		if t.AddAppOwner(sandbox.ID, dev) == nil {
			s.Apps.LastOwner = [2]string{sandbox.ID, dev}
		}
		expenses := t.AddServicePrincipal(ServicePrincipal{ID: id("sp", "expenses"), AppID: id("appId", "expenses"), DisplayName: "Expense Reports"})
		t.SetAppRoles(expenses.ID, []AppRole{{ID: id("role", "approver"), Value: "Expenses.Approve", DisplayName: "Approver", AllowedMemberTypes: []string{"User"}}})
		if a, err := t.AddAppRoleAssignment(AppRoleAssignment{PrincipalID: dev, ResourceID: expenses.ID, AppRoleID: id("role", "approver")}); err == nil {
			s.Apps.AppRoleAssignments = append(s.Apps.AppRoleAssignments, a.ID)
		}
	}
	if s.Apps.Workload != "" {
		for _, role := range []string{AppRoleRoleManagementRWDir, AppRoleUserReadAll} {
			if a, err := t.AddAppRoleAssignment(AppRoleAssignment{PrincipalID: s.Apps.Workload, ResourceID: graph.ID, AppRoleID: role}); err == nil {
				s.Apps.AppRoleAssignments = append(s.Apps.AppRoleAssignments, a.ID)
			}
		}
	}
	slices.SortFunc(s.Apps.Ownerships, func(a, b [2]string) int { return strings.Compare(a[0]+"/"+a[1], b[0]+"/"+b[1]) })
	slices.Sort(s.Apps.AppRoleAssignments)
}

package graph

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/simtenant"
)

// appsTenant serves a tenant with applications and service principals
// owned by its principals, one object with more owners than $expand
// answers, and app role grants to a user, a service principal and a
// group the user is in.
type appsTenant struct {
	*listingTenant
	ann, carl, dave, workload, group string
	graph, payroll, crowd, sandbox   string
	grants                           []string // ann's and the workload's own
	groupGrant                       string
}

func newAppsTenant(t *testing.T) *appsTenant {
	t.Helper()
	tn := simtenant.New(simtenant.Config{Seed: 9, PageSize: 2})
	srv, err := tn.Start(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	at := &appsTenant{listingTenant: &listingTenant{Tenant: tn, url: srv.URL()}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	at.ann = tn.AddUser(simtenant.User{UserPrincipalName: "ann@contoso.com"}).ID
	at.carl = tn.AddUser(simtenant.User{UserPrincipalName: "carl@contoso.com"}).ID
	at.dave = tn.AddUser(simtenant.User{UserPrincipalName: "dave@contoso.com"}).ID
	at.workload = tn.AddServicePrincipal(simtenant.ServicePrincipal{DisplayName: "Nightly Export"}).ID
	at.group = tn.AddGroup(simtenant.Group{DisplayName: "Approvers"}).ID
	must(tn.AddMember(at.group, at.ann))
	at.graph = tn.AddMicrosoftGraph().ID
	at.payroll = tn.AddApplication(simtenant.Application{DisplayName: "Payroll Sync"}).ID
	at.sandbox = tn.AddApplication(simtenant.Application{DisplayName: "Sandbox"}).ID
	at.crowd = tn.AddServicePrincipal(simtenant.ServicePrincipal{DisplayName: "Crowd"}).ID
	must(tn.AddAppOwner(at.payroll, at.ann))
	must(tn.AddAppOwner(at.payroll, at.carl))
	must(tn.AddAppOwner(at.sandbox, at.ann))
	must(tn.AddAppOwner(at.sandbox, at.dave))
	must(tn.AddAppOwner(at.crowd, at.ann))
	for i := range 30 {
		must(tn.AddAppOwner(at.crowd, tn.AddUser(simtenant.User{UserPrincipalName: fmt.Sprintf("u%d@contoso.com", i)}).ID))
	}
	for _, g := range []simtenant.AppRoleAssignment{
		{PrincipalID: at.workload, ResourceID: at.graph, AppRoleID: simtenant.AppRoleRoleManagementRWDir},
		{PrincipalID: at.workload, ResourceID: at.graph, AppRoleID: simtenant.AppRoleUserReadAll},
		{PrincipalID: at.workload, ResourceID: at.graph, AppRoleID: simtenant.AppRoleDirectoryReadAll},
		{PrincipalID: at.ann, ResourceID: at.graph, AppRoleID: "00000000-0000-0000-0000-000000000000"},
	} {
		a, err := tn.AddAppRoleAssignment(g)
		must(err)
		at.grants = append(at.grants, a.ID)
	}
	a, err := tn.AddAppRoleAssignment(simtenant.AppRoleAssignment{PrincipalID: at.group, ResourceID: at.graph, AppRoleID: simtenant.AppRoleUserReadAll})
	must(err)
	at.groupGrant = a.ID
	for _, id := range []string{at.ann, at.dave, at.workload} {
		at.principals = append(at.principals, job.Principal{ID: id})
	}
	return at
}

// shape is an assignment as the tests compare it.
func shape(a job.Assignment) string {
	return strings.Join([]string{a.PrincipalID, a.Kind, a.ID, a.RoleDefinitionID, a.RoleName, a.Scope, a.Note}, " | ")
}

// The index finds every ownership, an object's owners beyond what $expand
// answers included; a principal's own app role grants are named from the
// resource's app roles, the group's left out. Batched or not, the same.
func TestAppsFind(t *testing.T) {
	at := newAppsTenant(t)
	var answers [][]string
	for _, batch := range []int{1, 20} {
		found, err := at.client(t, batch).Apps().Find(t.Context(), at.principals)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range found {
			got = append(got, shape(a))
		}
		slices.Sort(got)
		answers = append(answers, got)
	}
	if !slices.Equal(answers[0], answers[1]) {
		t.Errorf("batched:\n%s\nalone:\n%s", strings.Join(answers[1], "\n"), strings.Join(answers[0], "\n"))
	}
	want := []string{
		at.ann + " | app-owner | " + at.payroll + " |  | Payroll Sync | /applications/" + at.payroll,
		at.ann + " | app-owner | " + at.sandbox + " |  | Sandbox | /applications/" + at.sandbox,
		at.ann + " | service-principal-owner | " + at.crowd + " |  | Crowd | /servicePrincipals/" + at.crowd,
		at.dave + " | app-owner | " + at.sandbox + " |  | Sandbox | /applications/" + at.sandbox,
		at.ann + " | app-role-assignment | " + at.grants[3] + " | 00000000-0000-0000-0000-000000000000 |  | /servicePrincipals/" + at.graph + " | Microsoft Graph: default access",
		at.workload + " | app-role-assignment | " + at.grants[0] + " | " + simtenant.AppRoleRoleManagementRWDir +
			" | RoleManagement.ReadWrite.Directory | /servicePrincipals/" + at.graph + " | Microsoft Graph: RoleManagement.ReadWrite.Directory",
		at.workload + " | app-role-assignment | " + at.grants[1] + " | " + simtenant.AppRoleUserReadAll +
			" | User.Read.All | /servicePrincipals/" + at.graph + " | Microsoft Graph: User.Read.All",
		at.workload + " | app-role-assignment | " + at.grants[2] + " | " + simtenant.AppRoleDirectoryReadAll +
			" | Directory.Read.All | /servicePrincipals/" + at.graph + " | Microsoft Graph: Directory.Read.All",
	}
	for _, w := range want {
		if !slices.ContainsFunc(answers[0], func(g string) bool { return strings.HasPrefix(g, w) }) {
			t.Errorf("missing %s\nin:\n%s", w, strings.Join(answers[0], "\n"))
		}
	}
	if len(answers[0]) != len(want) {
		t.Errorf("%d assignments, want %d:\n%s", len(answers[0]), len(want), strings.Join(answers[0], "\n"))
	}
	for _, g := range answers[0] {
		if strings.Contains(g, at.groupGrant) {
			t.Errorf("the group's grant was listed as the user's: %s", g)
		}
	}
	// Each resource's app roles were read once a run, and no request went
	// to /users/{id}/ownedObjects.
	reads := 0
	for _, r := range at.Requests() {
		p := strings.ToLower(r.Path)
		if strings.Contains(p, "/ownedobjects") {
			t.Errorf("request to %s", r.Path)
		}
		if strings.EqualFold(r.Path, "/v1.0/servicePrincipals/"+at.graph) {
			reads++
		}
	}
	if reads != 2 { // one a client
		t.Errorf("Microsoft Graph's app roles read %d times over two runs, want 2", reads)
	}
}

// The guard keeps an object's last owner: every owner leaving skips them
// all, one who stays lets the others go.
func TestAppsLastOwnerGuard(t *testing.T) {
	at := newAppsTenant(t)
	src := at.client(t, 20).Apps()
	found, err := src.Find(t.Context(), at.principals)
	if err != nil {
		t.Fatal(err)
	}
	var items []*job.Item
	for _, a := range found {
		items = append(items, &job.Item{PrincipalID: a.PrincipalID, Source: a.Source, Kind: a.Kind, AssignmentID: a.ID, State: job.Planned})
	}
	if _, err := src.Check(t.Context(), items); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		last := it.AssignmentID == at.sandbox
		if skipped := it.State == job.Skipped; skipped != last {
			t.Errorf("%s %s %s: %s %q", it.PrincipalID, it.Kind, it.AssignmentID, it.State, it.Detail)
		}
		if last && it.Detail != "last-owner: application Sandbox ("+at.sandbox+") keeps its last owner" {
			t.Errorf("detail %q", it.Detail)
		}
	}
}

func TestAppsCheckID(t *testing.T) {
	const (
		p = "11111111-1111-4111-8111-111111111111"
		o = "22222222-2222-4222-8222-222222222222"
	)
	tests := []struct {
		a    job.Assignment
		want bool
	}{
		{job.Assignment{Kind: job.KindAppOwner, ID: o, PrincipalID: p, Scope: "/applications/" + o}, true},
		{job.Assignment{Kind: job.KindServicePrincipalOwner, ID: o, PrincipalID: p, Scope: "/servicePrincipals/" + o}, true},
		{job.Assignment{Kind: job.KindAppOwner, ID: o, PrincipalID: p, Scope: "/servicePrincipals/" + o}, false},
		{job.Assignment{Kind: job.KindAppOwner, ID: "../" + o, PrincipalID: p, Scope: "/applications/../" + o}, false},
		{job.Assignment{Kind: job.KindAppOwner, ID: o, PrincipalID: "x", Scope: "/applications/" + o}, false},
		{job.Assignment{Kind: job.KindAppRoleAssignment, ID: "8sI7KCdL0kO1cRvh9F07Ym9RLVBIpD1Bs8x9CHSIpSU", PrincipalID: p,
			RoleDefinitionID: o, Scope: "/servicePrincipals/" + o}, true},
		{job.Assignment{Kind: job.KindAppRoleAssignment, ID: "a/../b", PrincipalID: p, RoleDefinitionID: o, Scope: "/servicePrincipals/" + o}, false},
		{job.Assignment{Kind: job.KindAppRoleAssignment, ID: "abc", PrincipalID: p, RoleDefinitionID: "=1+1", Scope: "/servicePrincipals/" + o}, false},
		{job.Assignment{Kind: job.KindAppRoleAssignment, ID: "abc", PrincipalID: p, RoleDefinitionID: o, Scope: "/applications/" + o}, false},
		{job.Assignment{Kind: job.KindGroupOwner, ID: o, PrincipalID: p}, false},
	}
	for _, tt := range tests {
		if err := (Apps{}).CheckID(tt.a); (err == nil) != tt.want {
			t.Errorf("CheckID(%+v) = %v, want ok %v", tt.a, err, tt.want)
		}
	}
}

// An owner's DELETE without /$ref would delete the owner object: the
// guard refuses it for applications and service principals too.
func TestDeletesAppOwner(t *testing.T) {
	for path, want := range map[string]bool{
		"/v1.0/applications/a/owners/o/$ref":               false,
		"/v1.0/servicePrincipals/s/owners/o/%24ref":        false,
		"/v1.0/applications/a/owners/o":                    true,
		"/v1.0/ServicePrincipals/s/Owners/o/":              true,
		"/v1.0/servicePrincipals/s/appRoleAssignments/x":   false,
		"/v1.0/users/u/appRoleAssignments/x":               false,
		"/v1.0/applications/a/owners":                      false,
		"/v1.0/applications/a/owners/o/microsoft.graph.sp": true,
	} {
		if got := deletesMember(path); got != want {
			t.Errorf("deletesMember(%q) = %v, want %v", path, got, want)
		}
	}
}

// Removal, rerun and restore through the source: 204 removed, 404
// already absent, re-created with the recorded principal, resource and
// role; an ownership already back is already present.
func TestAppsRemoveAndRestore(t *testing.T) {
	at := newAppsTenant(t)
	src := at.client(t, 1).Apps()
	found, err := src.Find(t.Context(), at.principals)
	if err != nil {
		t.Fatal(err)
	}
	before := at.AppRoleAssignmentsOf(at.workload)
	for _, a := range found {
		if out, err := src.Remove(t.Context(), a); err != nil || out.State != job.Removed {
			t.Errorf("removing %s: %v %v", shape(a), out, err)
		}
		if out, err := src.Remove(t.Context(), a); err != nil || out.State != job.AlreadyAbsent {
			t.Errorf("removing %s again: %v %v", shape(a), out, err)
		}
	}
	if got := at.AppOwners(at.payroll); !slices.Equal(got, []string{at.carl}) {
		t.Errorf("Payroll Sync's owners %v", got)
	}
	for _, a := range found {
		if out, err := src.Restore(t.Context(), a); err != nil || out.State != job.Restored {
			t.Errorf("restoring %s: %v %v", shape(a), out, err)
		}
		if out, err := src.Restore(t.Context(), a); err != nil || out.State != job.AlreadyPresent {
			t.Errorf("restoring %s again: %v %v", shape(a), out, err)
		}
	}
	after := at.AppRoleAssignmentsOf(at.workload)
	role := func(as []simtenant.AppRoleAssignment) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.ResourceID+" "+a.AppRoleID+" "+a.PrincipalType)
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(role(after), role(before)) {
		t.Errorf("after the restore %v, before %v", role(after), role(before))
	}
	if got := at.AppOwners(at.payroll); !slices.Contains(got, at.ann) {
		t.Errorf("Payroll Sync's owners after the restore %v", got)
	}
	if v := at.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

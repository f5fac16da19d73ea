package preflight

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/arm"
	"github.com/offboard/offboard/job/graph"
)

// kinds is the registry of Graph's kinds, as app.Kinds builds it.
func kinds(t *testing.T) *job.Registry {
	t.Helper()
	r, err := job.NewRegistry(graph.Kinds(), arm.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func token(claims string) string {
	return "h." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".s"
}

func TestGraphJudgesRolesAndImpliedPermissions(t *testing.T) {
	id := NewIdentity("me", token(`{"roles":["RoleManagement.ReadWrite.Directory","Directory.Read.All"]}`), kinds(t))
	if r := id.Graph("users", nil); r.Status != OK || r.Check != "permission" {
		t.Errorf("users with Directory.Read.All: %+v", r)
	}
	r := id.Graph(job.SourceGroups, nil)
	if r.Status != Missing || !strings.Contains(r.Detail, "GroupMember.ReadWrite.All") || strings.Contains(r.Detail, "Application.Read.All") {
		t.Errorf("groups without GroupMember.ReadWrite.All: %+v", r)
	}
	if r := id.Graph(job.SourcePIM, &job.UnavailableError{Part: "pim", Reason: "no P2"}); r.Status != Unavailable || r.Detail != "no P2" {
		t.Errorf("pim without a licence: %+v", r)
	}
	none := NewIdentity("me", "static-token", kinds(t))
	if r := none.Graph(job.SourceDirectory, nil); r.Status != OK || !strings.Contains(r.Detail, "no roles claim") {
		t.Errorf("a token with no roles: %+v", r)
	}
}

// What each source needs comes from the kinds: pim needs only
// RoleEligibilitySchedule.ReadWrite.Directory (RoleManagement.ReadWrite.Directory
// includes it); the groups source's owners need Group.ReadWrite.All
// (GroupMember.ReadWrite.All is not enough); directory's last-Global-
// Administrator guard reads group members (GroupMember.Read.All, or any
// permission that includes it).
func TestGraphNeedsComeFromTheKinds(t *testing.T) {
	for _, tt := range []struct {
		roles, part string
		want        string // the status
		lacks       string // named in the detail when missing
	}{
		{`"RoleEligibilitySchedule.ReadWrite.Directory"`, job.SourcePIM, OK, ""},
		{`"RoleManagement.ReadWrite.Directory"`, job.SourcePIM, OK, ""},
		{`"User.Read.All"`, job.SourcePIM, Missing, "RoleEligibilitySchedule.ReadWrite.Directory"},
		{`"RoleManagement.ReadWrite.Directory","GroupMember.Read.All"`, job.SourceDirectory, OK, ""},
		{`"RoleManagement.ReadWrite.Directory","Group.ReadWrite.All"`, job.SourceDirectory, OK, ""},
		{`"RoleManagement.ReadWrite.Directory"`, job.SourceDirectory, Missing, "GroupMember.Read.All"},
		{`"RoleManagement.ReadWrite.Directory","GroupMember.ReadWrite.All","Application.Read.All","PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup","PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"`,
			job.SourceGroups, Missing, "Group.ReadWrite.All"},
		{`"RoleManagement.ReadWrite.Directory","Group.ReadWrite.All","Application.Read.All","PrivilegedEligibilitySchedule.ReadWrite.AzureADGroup","PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"`,
			job.SourceGroups, OK, ""},
	} {
		r := NewIdentity("me", token(`{"roles":[`+tt.roles+`]}`), kinds(t)).Graph(tt.part, nil)
		if r.Status != tt.want || !strings.Contains(r.Detail, tt.lacks) {
			t.Errorf("%s with %s: %+v, want %s naming %q", tt.part, tt.roles, r, tt.want, tt.lacks)
		}
	}
}

// An az login token carries the delegated scopes in scp, not roles: they
// are judged the same way.
func TestGraphReadsADelegatedTokensScopes(t *testing.T) {
	ok := NewIdentity("me", token(`{"scp":"RoleManagement.ReadWrite.Directory GroupMember.Read.All User.Read.All"}`), kinds(t))
	if r := ok.Graph(job.SourceDirectory, nil); r.Status != OK || strings.Contains(r.Detail, "no roles claim") {
		t.Errorf("directory with the scopes it needs: %+v", r)
	}
	short := NewIdentity("me", token(`{"scp":"User.Read.All openid"}`), kinds(t))
	if r := short.Graph(job.SourcePIM, nil); r.Status != Missing || !strings.Contains(r.Detail, "scp") ||
		!strings.Contains(r.Detail, "RoleEligibilitySchedule.ReadWrite.Directory") {
		t.Errorf("pim without its scope: %+v", r)
	}
}

type rights struct {
	r   []arm.Rights
	eli map[string]error
}

func (f rights) Rights(context.Context, string) ([]arm.Rights, error) { return f.r, nil }
func (f rights) Eligibility(_ context.Context, _, scope string) error { return f.eli[scope] }

// block is a role definition's permission block.
func block(actions, notActions []string) *armauthorization.Permission {
	p := &armauthorization.Permission{}
	for _, a := range actions {
		p.Actions = append(p.Actions, &a)
	}
	for _, a := range notActions {
		p.NotActions = append(p.NotActions, &a)
	}
	return p
}

// azureNeeds are what the azure source's kinds need, from the registry's
// table.
func azureNeeds() []string {
	r, _ := job.NewRegistry(arm.Kinds())
	return r.Permissions(job.SourceAzure)
}

func TestAzureJudgesEachScopeAndItsEligibility(t *testing.T) {
	c := rights{r: []arm.Rights{
		{Scope: "/subscriptions/a", Roles: []string{"Reader"}, Permissions: []*armauthorization.Permission{block([]string{"*/read"}, nil)}},
		{Scope: "/subscriptions/b", Roles: []string{"User Access Administrator"},
			Permissions: []*armauthorization.Permission{block([]string{"*/read", "Microsoft.Authorization/*"}, nil)}},
		// Every action the kinds need but the PIM fallback's.
		{Scope: "/subscriptions/c", Roles: []string{"Custom"},
			Permissions: []*armauthorization.Permission{block([]string{"*/read", "Microsoft.Authorization/*"}, []string{arm.ActionRequestAssignment})}},
	}, eli: map[string]error{"/subscriptions/b": errors.New("boom")}}
	got := Azure(context.Background(), c, nil, "me", azureNeeds())
	want := []string{"azure-scope /subscriptions/a missing", "source azure-eligibility /subscriptions/a ok",
		"azure-scope /subscriptions/b ok", "source azure-eligibility /subscriptions/b error",
		"azure-scope /subscriptions/c missing", "source azure-eligibility /subscriptions/c ok"}
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(got), len(want), got)
	}
	for i, r := range got {
		if s := r.Check + " " + r.Name + " " + r.Status; s != want[i] {
			t.Errorf("result %d: %q, want %q", i, s, want[i])
		}
	}
	if !strings.Contains(got[0].Fix, "--scope /subscriptions/a") || !strings.Contains(got[0].Detail, arm.ActionDeleteAssignment) {
		t.Errorf("missing at a: %q, fix %q", got[0].Detail, got[0].Fix)
	}
	if d := got[4].Detail; !strings.Contains(d, arm.ActionRequestAssignment) || strings.Contains(d, arm.ActionDeleteAssignment) {
		t.Errorf("missing at c: %q, want the fallback's action alone", d)
	}
	if r := Azure(context.Background(), nil, errors.New("bad cloud"), "me", azureNeeds()); len(r) != 1 || r[0].Status != Error {
		t.Errorf("a checker that could not be made: %+v", r)
	}
}

func TestWriteTableKeepsEachLineOnOneLine(t *testing.T) {
	var buf bytes.Buffer
	WriteTable(&buf, []Result{{Check: "source", Name: "pim", Status: Missing, Detail: "a\nb", Fix: "do\tthis"}, {Check: "report", Name: "-", Status: Skipped}})
	out := buf.String()
	for _, want := range []string{"CHECK", "a b", "fix: do this", "Something selected is not usable"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if Usable([]Result{{Status: OK}, {Status: Skipped}}) != true || Usable([]Result{{Status: Unavailable}}) {
		t.Error("Usable")
	}
}

package simtenant

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// groupFixture: a user and a service principal in a role-assignable group
// (which is eligible, so each inherits a Group-type eligibility) and in a
// plain group; a plain group nested in the plain group.
type groupFixture struct {
	user                User
	sp                  ServicePrincipal
	admins, staff, sub  Group
	userVia, spVia      EligibilitySchedule
	userDirect          EligibilitySchedule
	ga, scoped, readerA RoleAssignment
}

func newGroupFixture(t *testing.T, tn *Tenant) groupFixture {
	t.Helper()
	var f groupFixture
	f.user = tn.AddUser(User{UserPrincipalName: "leaver@contoso.onmicrosoft.com", DisplayName: "Leaver"})
	f.sp = tn.AddServicePrincipal(ServicePrincipal{DisplayName: "Payroll Sync"})
	f.admins = tn.AddGroup(Group{DisplayName: "Helpdesk Operators", IsAssignableToRole: true})
	f.staff = tn.AddGroup(Group{DisplayName: "All Staff"})
	f.sub = tn.AddGroup(Group{DisplayName: "Project X"})
	for _, m := range [][2]string{{f.admins.ID, f.user.ID}, {f.admins.ID, f.sp.ID}, {f.staff.ID, f.user.ID}, {f.staff.ID, f.sub.ID}} {
		if err := tn.AddMember(m[0], m[1]); err != nil {
			t.Fatal(err)
		}
	}
	tn.AddEligibility(EligibilitySchedule{PrincipalID: f.admins.ID, RoleDefinitionID: UserAdministrator})
	f.userVia = tn.AddEligibility(EligibilitySchedule{PrincipalID: f.user.ID, RoleDefinitionID: UserAdministrator, MemberType: MemberTypeGroup, ViaGroup: f.admins.ID})
	f.spVia = tn.AddEligibility(EligibilitySchedule{PrincipalID: f.sp.ID, RoleDefinitionID: UserAdministrator, MemberType: MemberTypeGroup, ViaGroup: f.admins.ID})
	f.userDirect = tn.AddEligibility(EligibilitySchedule{PrincipalID: f.user.ID, RoleDefinitionID: UserAdministrator})
	f.ga = tn.AddRoleAssignment(RoleAssignment{PrincipalID: f.user.ID, RoleDefinitionID: GlobalAdministrator})
	f.scoped = tn.AddRoleAssignment(RoleAssignment{PrincipalID: f.user.ID, RoleDefinitionID: HelpdeskAdministrator, DirectoryScopeID: "/administrativeUnits/" + tn.NewID()})
	f.readerA = tn.AddRoleAssignment(RoleAssignment{PrincipalID: f.user.ID, RoleDefinitionID: GlobalReader})
	tn.MarkGhost(f.readerA.ID)
	return f
}

func TestMembershipModel(t *testing.T) {
	tn := New(Config{Seed: 20})
	f := newGroupFixture(t, tn)
	other := tn.AddGroup(Group{DisplayName: "Security Operators", IsAssignableToRole: true})

	tests := []struct {
		name          string
		group, member string
		want          error
	}{
		{"already", f.admins.ID, f.user.ID, ErrAlreadyMember},
		{"already, other case", strings.ToUpper(f.admins.ID), strings.ToUpper(f.user.ID), ErrAlreadyMember},
		{"no group", tn.NewID(), f.user.ID, ErrNotFound},
		{"no member", f.admins.ID, tn.NewID(), ErrNotFound},
		{"group into role-assignable", f.admins.ID, f.staff.ID, ErrNesting},
		{"group into itself", f.staff.ID, f.staff.ID, ErrNesting},
		{"role-assignable group into plain", f.staff.ID, other.ID, nil},
		{"sp into another", other.ID, f.sp.ID, nil},
	}
	for _, tt := range tests {
		if err := tn.AddMember(tt.group, tt.member); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	wantMembers := []string{f.user.ID, f.sp.ID}
	slices.Sort(wantMembers)
	if got := tn.Members(f.admins.ID); !slices.Equal(got, wantMembers) {
		t.Errorf("Members %v, want %v", got, wantMembers)
	}
	wantOf := []string{f.admins.ID, f.staff.ID}
	slices.Sort(wantOf)
	if got := tn.MemberOf(strings.ToUpper(f.user.ID)); !slices.Equal(got, wantOf) {
		t.Errorf("MemberOf %v, want %v", got, wantOf)
	}
	if got := tn.Groups(); len(got) != 4 || !slices.IsSortedFunc(got, func(a, b Group) int { return strings.Compare(a.ID, b.ID) }) {
		t.Errorf("Groups %v", got)
	}

	if !tn.RemoveMember(f.admins.ID, f.user.ID) || tn.RemoveMember(f.admins.ID, f.user.ID) {
		t.Fatal("RemoveMember")
	}
	if _, ok := tn.Eligibility(f.userVia.ID); ok {
		t.Error("the Group-type eligibility through the group survived the membership")
	}
	for _, keep := range []string{f.spVia.ID, f.userDirect.ID} {
		if _, ok := tn.Eligibility(keep); !ok {
			t.Errorf("eligibility %s went with someone else's membership", keep)
		}
	}

	// Deleting a group ends its memberships both ways and the eligibilities
	// they carried.
	if !tn.DeleteObject(f.admins.ID) || tn.DeleteObject(f.admins.ID) {
		t.Fatal("DeleteObject")
	}
	if _, ok := tn.Eligibility(f.spVia.ID); ok || len(tn.MemberOf(f.sp.ID)) != 1 {
		t.Errorf("after deleting the group: %v %v", tn.MemberOf(f.sp.ID), tn.EligibilitiesOf(f.sp.ID))
	}
	if !tn.DeleteObject(f.user.ID) || len(tn.Members(f.staff.ID)) != 2 {
		t.Errorf("after deleting the user: %v", tn.Members(f.staff.ID))
	}
	if _, ok := tn.User(f.user.UserPrincipalName); ok {
		t.Error("the deleted user's UPN still resolves")
	}
	if len(tn.RoleAssignmentsOf(f.user.ID)) != 3 {
		t.Error("deleting a principal removed its role assignments; they stay as orphans")
	}
}

func TestMemberOf(t *testing.T) {
	h := start(t, Config{Seed: 21})
	tn := h.tenant
	f := newGroupFixture(t, tn)
	kinds := func(a answer) map[string]string {
		out := map[string]string{}
		for _, v := range values(t, a) {
			out[v["id"].(string)] = v["@odata.type"].(string)
		}
		return out
	}

	a := h.do("GET", "/v1.0/users/"+f.user.ID+"/memberOf")
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if a.json(t)["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#directoryObjects" {
		t.Errorf("context %s", a.body)
	}
	got := kinds(a)
	gaRole := tn.directoryRoleID(GlobalAdministrator)
	want := map[string]string{
		f.admins.ID: "#microsoft.graph.group",
		f.staff.ID:  "#microsoft.graph.group",
		gaRole:      "#microsoft.graph.directoryRole", // the AU-scoped role and the ghost do not count
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("memberOf %v, want %v", got, want)
	}
	for _, v := range values(t, a) {
		switch v["@odata.type"] {
		case "#microsoft.graph.directoryRole":
			if v["roleTemplateId"] != GlobalAdministrator || v["displayName"] != "Global Administrator" || v["id"] == GlobalAdministrator {
				t.Errorf("directoryRole %v", v)
			}
		case "#microsoft.graph.group":
			if v["id"] == f.admins.ID && (v["isAssignableToRole"] != true || v["securityEnabled"] != true || v["mailEnabled"] != false || v["displayName"] != f.admins.DisplayName) {
				t.Errorf("group %v", v)
			}
		}
	}

	for _, cast := range []string{"microsoft.graph.group", "graph.group", "Microsoft.Graph.Group"} {
		a := h.do("GET", "/v1.0/users/"+f.user.ID+"/memberOf/"+cast)
		if a.status != 200 || len(kinds(a)) != 2 || kinds(a)[gaRole] != "" {
			t.Errorf("cast %s: %d %s", cast, a.status, a.body)
		}
		if a.json(t)["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#groups" {
			t.Errorf("cast context %s", a.body)
		}
	}

	tests := []struct {
		name   string
		path   string
		status int
		ids    []string
	}{
		{"sp", "/v1.0/servicePrincipals/" + f.sp.ID + "/memberOf", 200, []string{f.admins.ID}},
		{"group", "/v1.0/groups/" + f.sub.ID + "/memberOf", 200, []string{f.staff.ID}},
		{"directoryObjects", "/v1.0/directoryObjects/" + f.sp.ID + "/memberOf/microsoft.graph.group", 400, nil},
		{"user by UPN", "/v1.0/users/" + f.user.UserPrincipalName + "/memberOf/graph.group", 200, []string{f.admins.ID, f.staff.ID}},
		{"no memberships", "/v1.0/servicePrincipals/" + tn.CallerID() + "/memberOf", 200, nil},
		{"sp as user", "/v1.0/users/" + f.sp.ID + "/memberOf", 404, nil},
		{"unknown", "/v1.0/directoryObjects/" + tn.NewID() + "/memberOf", 400, nil},
		{"unknown user", "/v1.0/users/" + tn.NewID() + "/memberOf", 404, nil},
	}
	for _, tt := range tests {
		a := h.do("GET", tt.path)
		if a.status != tt.status {
			t.Errorf("%s: %d %s", tt.name, a.status, a.body)
			continue
		}
		if tt.status == 404 {
			if a.errorCode(t) != "Request_ResourceNotFound" {
				t.Errorf("%s: %s", tt.name, a.body)
			}
			continue
		}
		want := slices.Clone(tt.ids)
		slices.Sort(want)
		if got := ids(values(t, a)); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", tt.name, got, want)
		}
	}

	sel := values(t, h.do("GET", "/v1.0/users/"+f.user.ID+"/memberOf?$select=id,isAssignableToRole"))
	for _, v := range sel {
		if _, ok := v["displayName"]; ok || v["@odata.type"] == nil {
			t.Errorf("$select gave %v", v)
		}
	}
	if a := h.do("GET", "/v1.0/users/"+f.user.ID+"/memberOf/graph.group?$select=roleTemplateId"); a.status != 400 {
		t.Errorf("$select of a directoryRole property on the group cast: %d", a.status)
	}
}

func TestMemberOfAdvancedQuery(t *testing.T) {
	h := start(t, Config{Seed: 22})
	f := newGroupFixture(t, h.tenant)
	eventual := withHeader("ConsistencyLevel", "eventual")
	base := "/v1.0/users/" + f.user.ID + "/memberOf/microsoft.graph.group?$filter="
	tests := []struct {
		name   string
		query  string
		opts   []reqOption
		status int
		code   string
		ids    []string
	}{
		{"no header, no count", url.QueryEscape("isAssignableToRole eq true"), nil, 400, "Request_UnsupportedQuery", nil},
		{"header only", url.QueryEscape("isAssignableToRole eq true"), []reqOption{eventual}, 400, "Request_UnsupportedQuery", nil},
		{"count only", url.QueryEscape("isAssignableToRole eq true") + "&$count=true", nil, 400, "Request_UnsupportedQuery", nil},
		{"both", url.QueryEscape("isAssignableToRole eq true") + "&$count=true", []reqOption{eventual}, 200, "", []string{f.admins.ID}},
		{"both, kiota encoding", url.QueryEscape("isAssignableToRole eq true") + "&%24count=true", []reqOption{withHeader("consistencylevel", "Eventual")}, 200, "", []string{f.admins.ID}},
		{"false", url.QueryEscape("isAssignableToRole eq false") + "&$count=true", []reqOption{eventual}, 200, "", []string{f.staff.ID}},
		{"ne", url.QueryEscape("isAssignableToRole ne true") + "&$count=true", []reqOption{eventual}, 200, "", []string{f.staff.ID}},
		{"quoted bool", url.QueryEscape("isAssignableToRole eq 'true'") + "&$count=true", []reqOption{eventual}, 400, "Request_UnsupportedQuery", nil},
		{"unknown property", url.QueryEscape("nope eq true") + "&$count=true", []reqOption{eventual}, 400, "Request_UnsupportedQuery", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := h.do("GET", base+tt.query, tt.opts...)
			if a.status != tt.status {
				t.Fatalf("%d %s", a.status, a.body)
			}
			if tt.code != "" {
				if a.errorCode(t) != tt.code {
					t.Fatalf("%s", a.body)
				}
				if strings.HasPrefix(tt.name, "no header") || tt.name == "header only" || tt.name == "count only" {
					if a.errorMessage(t) != "The specified filter to the reference property query is currently not supported." {
						t.Fatalf("message %q", a.errorMessage(t))
					}
				}
				return
			}
			if got := ids(values(t, a)); !slices.Equal(got, tt.ids) {
				t.Fatalf("%v, want %v", got, tt.ids)
			}
			if n, ok := a.json(t)["@odata.count"].(float64); !ok || int(n) != len(tt.ids) {
				t.Fatalf("@odata.count in %s", a.body)
			}
		})
	}
	// Without the cast a filter on a group property leaves directoryRoles out.
	a := h.do("GET", "/v1.0/users/"+f.user.ID+"/memberOf?$count=true&$filter="+url.QueryEscape("isAssignableToRole eq true"), eventual)
	if got := ids(values(t, a)); a.status != 200 || !slices.Equal(got, []string{f.admins.ID}) {
		t.Fatalf("uncast filter: %d %s", a.status, a.body)
	}
	// $count without the header is ignored; with it, counted.
	if m := h.do("GET", "/v1.0/users/"+f.user.ID+"/memberOf?$count=true").json(t); m["@odata.count"] != nil {
		t.Errorf("count without header: %v", m)
	}
	if m := h.do("GET", "/v1.0/users/"+f.user.ID+"/memberOf?$count=true", eventual).json(t); m["@odata.count"] != float64(3) {
		t.Errorf("count with header: %v", m)
	}
}

func TestMemberOfPaging(t *testing.T) {
	h := start(t, Config{Seed: 23})
	tn := h.tenant
	user := tn.AddUser(User{UserPrincipalName: "u@contoso.onmicrosoft.com"})
	var want []string
	for i := range 7 {
		g := tn.AddGroup(Group{DisplayName: fmt.Sprint("G", i), IsAssignableToRole: i%2 == 0})
		if err := tn.AddMember(g.ID, user.ID); err != nil {
			t.Fatal(err)
		}
		want = append(want, g.ID)
	}
	tn.AddRoleAssignment(RoleAssignment{PrincipalID: user.ID, RoleDefinitionID: SecurityReader})
	want = append(want, tn.directoryRoleID(SecurityReader))
	slices.Sort(want)

	var got []string
	next := h.server.URL() + "/v1.0/users/" + user.ID + "/memberOf?$top=3&$select=id"
	pages := 0
	for next != "" {
		a := h.do("GET", next)
		if a.status != 200 {
			t.Fatalf("%s: %d %s", next, a.status, a.body)
		}
		pages++
		got = append(got, ids(values(t, a))...)
		next, _ = a.json(t)["@odata.nextLink"].(string)
		if next != "" && !strings.HasPrefix(next, h.server.URL()+"/v1.0/users/"+user.ID+"/memberOf?") {
			t.Fatalf("nextLink %q", next)
		}
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Fatalf("%d pages: %v, want %v", pages, got, want)
	}
	for _, bad := range []string{"$top=1000", "$top=0", "$skiptoken=garbage"} {
		if a := h.do("GET", "/v1.0/users/"+user.ID+"/memberOf?"+bad); a.status != 400 {
			t.Errorf("%s: %d", bad, a.status)
		}
	}
	// A count covers every match, not the page.
	a := h.do("GET", "/v1.0/users/"+user.ID+"/memberOf/graph.group?$top=2&$count=true&$filter="+url.QueryEscape("isAssignableToRole eq true"),
		withHeader("ConsistencyLevel", "eventual"))
	if m := a.json(t); m["@odata.count"] != float64(4) || len(values(t, a)) != 2 || m["@odata.nextLink"] == nil {
		t.Fatalf("%s", a.body)
	}
}

func TestGroupAndMembers(t *testing.T) {
	h := start(t, Config{Seed: 24})
	tn := h.tenant
	f := newGroupFixture(t, tn)
	a := h.do("GET", "/v1.0/groups/"+f.admins.ID)
	if m := a.json(t); a.status != 200 || m["isAssignableToRole"] != true || m["displayName"] != f.admins.DisplayName ||
		m["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#groups/$entity" {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if a := h.do("GET", "/v1.0/groups/"+f.admins.ID+"?$select=id"); len(a.json(t)) != 2 {
		t.Fatalf("$select: %s", a.body)
	}
	if a := h.do("GET", "/v1.0/groups/"+tn.NewID()); a.status != 404 {
		t.Fatalf("unknown group: %d", a.status)
	}

	a = h.do("GET", "/v1.0/groups/"+f.staff.ID+"/members")
	got := map[string]string{}
	for _, v := range values(t, a) {
		got[v["id"].(string)] = v["@odata.type"].(string)
	}
	want := map[string]string{f.user.ID: "#microsoft.graph.user", f.sub.ID: "#microsoft.graph.group"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("members %v", got)
	}
	a = h.do("GET", "/v1.0/groups/"+f.admins.ID+"/members?$select=id,userPrincipalName,appId")
	for _, v := range values(t, a) {
		switch v["@odata.type"] {
		case "#microsoft.graph.user":
			if v["userPrincipalName"] != f.user.UserPrincipalName || v["displayName"] != nil {
				t.Errorf("user %v", v)
			}
		case "#microsoft.graph.servicePrincipal":
			if v["appId"] != f.sp.AppID {
				t.Errorf("sp %v", v)
			}
		default:
			t.Errorf("member %v", v)
		}
	}
	if a := h.do("GET", "/v1.0/groups/"+tn.NewID()+"/members"); a.status != 404 {
		t.Fatalf("members of unknown group: %d", a.status)
	}

	// Paging through a large group.
	big := tn.AddGroup(Group{DisplayName: "Big"})
	var all []string
	for i := range 25 {
		u := tn.AddUser(User{UserPrincipalName: fmt.Sprintf("m%d@contoso.onmicrosoft.com", i)})
		if err := tn.AddMember(big.ID, u.ID); err != nil {
			t.Fatal(err)
		}
		all = append(all, u.ID)
	}
	slices.Sort(all)
	var paged []string
	next := "/v1.0/groups/" + big.ID + "/members?$top=10"
	for next != "" {
		a := h.do("GET", next)
		paged = append(paged, ids(values(t, a))...)
		next, _ = a.json(t)["@odata.nextLink"].(string)
	}
	if !slices.Equal(paged, all) {
		t.Fatalf("paged %d of %d", len(paged), len(all))
	}
}

func TestMemberRef(t *testing.T) {
	h := start(t, Config{Seed: 25})
	tn := h.tenant
	f := newGroupFixture(t, tn)

	tests := []struct {
		name   string
		path   string
		status int
	}{
		{"remove", "/v1.0/groups/" + f.admins.ID + "/members/" + f.user.ID + "/$ref", 204},
		{"again", "/v1.0/groups/" + f.admins.ID + "/members/" + f.user.ID + "/$ref", 404},
		{"encoded $ref", "/v1.0/groups/" + f.admins.ID + "/members/" + f.sp.ID + "/%24ref", 204},
		{"never a member", "/v1.0/groups/" + f.staff.ID + "/members/" + f.sp.ID + "/$ref", 404},
		{"no such group", "/v1.0/groups/" + tn.NewID() + "/members/" + f.user.ID + "/$ref", 404},
	}
	for _, tt := range tests {
		a := h.do("DELETE", tt.path)
		if a.status != tt.status || tt.status == 404 && a.errorCode(t) != "Request_ResourceNotFound" {
			t.Fatalf("%s: %d %s", tt.name, a.status, a.body)
		}
	}
	if slices.Contains(tn.MemberOf(f.user.ID), f.admins.ID) || !slices.Contains(tn.MemberOf(f.user.ID), f.staff.ID) {
		t.Fatalf("memberOf %v", tn.MemberOf(f.user.ID))
	}
	for _, gone := range []string{f.userVia.ID, f.spVia.ID} {
		if _, ok := tn.Eligibility(gone); ok {
			t.Errorf("Group-type eligibility %s outlived the membership", gone)
		}
	}
	if _, ok := tn.Eligibility(f.userDirect.ID); !ok {
		t.Error("the Direct eligibility went with the membership")
	}
	if _, ok := tn.User(f.user.ID); !ok {
		t.Error("removing a membership deleted the user")
	}

	ref := func(id string) map[string]any {
		return map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + id}
	}
	add := []struct {
		name    string
		group   string
		body    any
		status  int
		code    string
		message string
	}{
		{"add back", f.admins.ID, ref(f.user.ID), 204, "", ""},
		{"add again", f.admins.ID, ref(f.user.ID), 400, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'."},
		{"own service root", f.admins.ID, map[string]any{"@odata.id": h.server.URL() + "/v1.0/servicePrincipals/" + f.sp.ID}, 204, "", ""},
		{"nesting", f.admins.ID, ref(f.sub.ID), 400, "Request_BadRequest", "Nesting is currently not supported for groups that can be assigned to a role."},
		{"unknown object", f.admins.ID, ref(tn.NewID()), 404, "Request_ResourceNotFound", ""},
		{"unknown group", tn.NewID(), ref(f.user.ID), 404, "Request_ResourceNotFound", ""},
		{"bad reference", f.admins.ID, map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/nothing"}, 400, "BadRequest", ""},
		{"no reference", f.admins.ID, map[string]any{}, 400, "BadRequest", ""},
	}
	for _, tt := range add {
		a := h.postJSON("/v1.0/groups/"+tt.group+"/members/$ref", tt.body)
		if a.status != tt.status {
			t.Fatalf("%s: %d %s", tt.name, a.status, a.body)
		}
		if tt.code != "" && a.errorCode(t) != tt.code || tt.message != "" && a.errorMessage(t) != tt.message {
			t.Fatalf("%s: %s", tt.name, a.body)
		}
	}
	if got := tn.Members(f.admins.ID); len(got) != 2 {
		t.Fatalf("members %v", got)
	}
	if v := tn.Violations(); len(v) != 0 {
		t.Fatalf("violations %v", v)
	}
}

// TestDeleteMemberWithoutRef is the trap: without /$ref Graph deletes the
// member object itself.
func TestDeleteMemberWithoutRef(t *testing.T) {
	h := start(t, Config{Seed: 26})
	tn := h.tenant
	f := newGroupFixture(t, tn)

	a := h.do("DELETE", "/v1.0/groups/"+f.admins.ID+"/members/"+f.user.ID)
	if a.status != 204 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if v := tn.Violations(); len(v) != 2 || !strings.Contains(v[0], "without /$ref") || v[1] != "DELETE without /$ref deleted the member object "+f.user.ID+" itself" {
		t.Fatalf("violations %q", v)
	}
	if a := h.do("GET", "/v1.0/users/"+f.user.ID); a.status != 404 {
		t.Fatalf("the user is still there: %d", a.status)
	}
	if a := h.do("GET", "/v1.0/users/"+f.user.ID+"/memberOf"); a.status != 404 {
		t.Fatalf("memberOf of a deleted user: %d", a.status)
	}
	if m := tn.Members(f.staff.ID); slices.Contains(m, f.user.ID) {
		t.Fatalf("the deleted user is still a member elsewhere: %v", m)
	}
	if _, ok := tn.Eligibility(f.userVia.ID); ok {
		t.Fatal("the Group-type eligibility survived")
	}

	// Not a member: 404, and still a violation: it must never be sent.
	a = h.do("DELETE", "/v1.0/groups/"+f.staff.ID+"/members/"+f.sp.ID)
	if a.status != 404 {
		t.Fatalf("not a member: %d", a.status)
	}
	if _, ok := tn.ServicePrincipal(f.sp.ID); !ok {
		t.Fatal("a non-member was deleted")
	}
	if v := tn.Violations(); len(v) != 3 || !strings.Contains(v[2], "without /$ref") {
		t.Fatalf("violations %q", v)
	}
	if a := h.do("DELETE", "/v1.0/groups/"+tn.NewID()+"/members/"+f.sp.ID); a.status != 404 || len(tn.Violations()) != 4 {
		t.Fatalf("unknown group: %d %v", a.status, tn.Violations())
	}
}

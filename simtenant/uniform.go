package simtenant

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
)

// uniformRoles are the roles GenerateUniform hands out: every built-in role
// but Global Administrator, so that no plan of a uniform tenant involves
// the last-Global-Administrator guard.
func uniformRoles() []string {
	return []string{UserAdministrator, HelpdeskAdministrator, SecurityReader, GlobalReader,
		ApplicationAdministrator, CloudApplicationAdministrator, GroupsAdministrator,
		ExchangeAdministrator, PrivilegedRoleAdministrator}
}

// GenerateUniform builds a tenant for benchmarks: n departing users, each
// holding exactly perPrincipal active directory role assignments and
// nothing else (no eligibility, no group membership, no Azure role), and a
// CSV that names each of them once by principal_id. Assignments cycle
// through the built-in roles other than Global Administrator, at the
// tenant scope first and then at administrative units, so any perPrincipal
// gives distinct assignments. Everything follows from cfg.Seed.
//
// The Sample's CSV, Departing (in CSV order) and Removable (sorted) are
// set; every other field is empty.
func GenerateUniform(cfg Config, n, perPrincipal int) (*Tenant, Sample) {
	return generateUniform(cfg, n, perPrincipal, false)
}

// GenerateUniformKeyed is GenerateUniform with a CSV that names the users
// by their HR keys instead, in turn: user_principal_name, mail,
// employee_id. Every user's mail and employeeId are unique.
func GenerateUniformKeyed(cfg Config, n, perPrincipal int) (*Tenant, Sample) {
	return generateUniform(cfg, n, perPrincipal, true)
}

func generateUniform(cfg Config, n, perPrincipal int, keyed bool) (*Tenant, Sample) {
	t := New(cfg)
	n, perPrincipal = max(n, 0), max(perPrincipal, 0)
	roles := uniformRoles()

	t.mu.Lock()
	var units []string
	for range (perPrincipal + len(roles) - 1) / len(roles) {
		units = append(units, t.newGUIDLocked())
	}
	var s Sample
	ids := make([]string, 0, n*perPrincipal)
	for i := range n {
		id := t.newGUIDLocked()
		upn := fmt.Sprintf("bench.user%06d@%s", i, tenantDomain)
		t.users[id] = User{ID: id, UserPrincipalName: upn, DisplayName: fmt.Sprintf("Bench User %d", i), UserType: "Member",
			Mail: fmt.Sprintf("bench.user%06d@%s", i, mailDomain), EmployeeID: fmt.Sprintf("B%07d", i)}
		t.upns[strings.ToLower(upn)] = id
		s.Departing = append(s.Departing, id)
		for j := range perPrincipal {
			scope := "/"
			if j >= len(roles) {
				scope = "/administrativeUnits/" + units[j/len(roles)-1]
			}
			a := RoleAssignment{PrincipalID: id, RoleDefinitionID: roles[j%len(roles)], DirectoryScopeID: scope}
			a.ID = t.freeAssignmentIDLocked(a.RoleDefinitionID, a.PrincipalID)
			t.assignments[a.ID] = a
			t.indexLocked(a)
			ids = append(ids, a.ID)
		}
	}
	// One sort instead of an insertion per assignment: a tenant of 100,000
	// assignments is built in well under a second.
	t.assignmentIDs = append(t.assignmentIDs, ids...)
	slices.Sort(t.assignmentIDs)
	t.assignmentIDs = slices.Compact(t.assignmentIDs)
	t.mu.Unlock()

	s.Removable = slices.Sorted(slices.Values(ids))
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if keyed {
		w.Write([]string{"user_principal_name", "mail", "employee_id", "principal_type", "reference"})
		for i, id := range s.Departing {
			u := t.users[id]
			rec := []string{"", "", "", "User", fmt.Sprintf("BENCH-%06d", i)}
			rec[i%3] = []string{u.UserPrincipalName, u.Mail, u.EmployeeID}[i%3]
			w.Write(rec)
		}
	} else {
		w.Write([]string{"principal_id", "principal_type", "reference"})
		for i, id := range s.Departing {
			w.Write([]string{id, "User", fmt.Sprintf("BENCH-%06d", i)})
		}
	}
	w.Flush()
	s.CSV = buf.Bytes()
	return t, s
}

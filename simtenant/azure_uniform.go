package simtenant

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"slices"
)

// GenerateAzureUniform builds a tenant for the Azure listing benchmark:
// subscriptions subscriptions, and n departing principals (ids only: not
// in the directory, as principals deleted from Entra but still assigned
// in Azure are), principal i holding Reader at subscription i mod
// subscriptions and, one in three, an Owner eligibility there; beside
// each, someone staying holds Owner in the same subscription. The CSV
// names each departing principal once by principal_id. Everything follows
// from cfg.Seed.
//
// The Sample's CSV, Departing (in CSV order) and ARM.Scopes (the
// subscriptions) are set; ARM.Removable holds the assignment ids and
// ARM.Eligibilities the eligibility ids, sorted.
func GenerateAzureUniform(cfg Config, n, subscriptions int) (*Tenant, Sample) {
	t := New(cfg)
	var s Sample
	var subs []ARMSubscription
	for range max(subscriptions, 1) {
		sub := t.AddSubscription(ARMSubscription{})
		subs = append(subs, sub)
		s.ARM.Scopes = append(s.ARM.Scopes, sub.Scope())
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"principal_id", "reference"})
	for i := range max(n, 0) {
		id := t.NewID()
		s.Departing = append(s.Departing, id)
		w.Write([]string{id, fmt.Sprintf("AZURE-%06d", i)})
		sub := subs[i%len(subs)]
		a := t.AddARMRoleAssignment(ARMRoleAssignment{PrincipalID: id, Scope: sub.Scope(),
			RoleDefinitionID: ARMRoleDefinitionID(sub.Scope(), ARMReader)})
		s.ARM.Removable = append(s.ARM.Removable, a.ID)
		if i%3 == 0 {
			e := t.AddARMEligibilitySchedule(ARMEligibilitySchedule{PrincipalID: id, Scope: sub.Scope(),
				RoleDefinitionID: ARMRoleDefinitionID(sub.Scope(), ARMOwner)})
			s.ARM.Eligibilities = append(s.ARM.Eligibilities, e.ID)
		}
		t.AddARMRoleAssignment(ARMRoleAssignment{PrincipalID: t.NewID(), Scope: sub.Scope(),
			RoleDefinitionID: ARMRoleDefinitionID(sub.Scope(), ARMOwner)})
	}
	w.Flush()
	s.CSV = buf.Bytes()
	slices.Sort(s.ARM.Removable)
	slices.Sort(s.ARM.Eligibilities)
	return t, s
}

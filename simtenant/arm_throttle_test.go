package simtenant

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestARMThrottlePerSubscription(t *testing.T) {
	clk := newClock()
	e := newARMEstate(t, Config{Now: clk.Now, ARM: ARMConfig{DeleteRate: 0.4, DeleteBurst: 2}}) // a token every 2.5 s
	tn := e.h.tenant
	var inS1, inS2 []string
	for range 3 {
		inS1 = append(inS1, tn.AddARMRoleAssignment(ARMRoleAssignment{Scope: e.s1, RoleDefinitionID: ARMReader, PrincipalID: tn.NewID()}).ID)
		inS2 = append(inS2, tn.AddARMRoleAssignment(ARMRoleAssignment{Scope: e.s2rg1, RoleDefinitionID: ARMReader, PrincipalID: tn.NewID()}).ID)
	}
	const header = "x-ms-ratelimit-remaining-subscription-deletes"
	del := func(id string) answer { return e.h.do("DELETE", id+v2022) }

	for i, want := range []string{"1", "0"} {
		if a := del(inS1[i]); a.status != 200 || a.header.Get(header) != want {
			t.Fatalf("delete %d: %d, %s %q", i, a.status, header, a.header.Get(header))
		}
	}
	a := del(inS1[2])
	if a.status != 429 || a.errorCode(t) != "TooManyRequests" || a.header.Get("Retry-After") != "3" || a.header.Get(header) != "0" {
		t.Fatalf("over the burst: %d %v %s", a.status, a.header, a.body)
	}
	if !strings.Contains(a.errorMessage(t), "Delete_Subscription") {
		t.Errorf("message %q", a.errorMessage(t))
	}
	if _, ok := tn.ARMRoleAssignment(inS1[2]); !ok {
		t.Fatal("a throttled DELETE removed the assignment")
	}

	// Another subscription has its own buckets, and so do reads and writes.
	if a := del(inS2[0]); a.status != 200 || a.header.Get(header) != "1" {
		t.Fatalf("other subscription: %d %q", a.status, a.header.Get(header))
	}
	if a := e.list(t, e.s1, ""); a.status != 200 || a.header.Get("x-ms-ratelimit-remaining-subscription-reads") != "249" {
		t.Fatalf("read: %d %v", a.status, a.header)
	}
	put := e.s1 + armRoleAssignments + "/5b5c3a8e-5d2f-4c1e-9a7b-3f6d2e1c0b9a" + v2022
	if a := e.h.do("PUT", put, withBody(putBody(ARMRoleDefinitionID(e.s1, ARMContributor), armPeer, "User"))); a.status != 201 ||
		a.header.Get("x-ms-ratelimit-remaining-subscription-writes") != "199" {
		t.Fatalf("write: %d %v", a.status, a.header)
	}
	// Management groups count at the tenant level.
	if a := e.h.do("DELETE", e.atMG+v2022); a.status != 200 || a.header.Get("x-ms-ratelimit-remaining-tenant-deletes") != "1" ||
		a.header.Get(header) != "" {
		t.Fatalf("management group: %d %v", a.status, a.header)
	}

	clk.Advance(2400 * time.Millisecond)
	if a := del(inS1[2]); a.status != 429 {
		t.Fatalf("before the token is back: %d", a.status)
	}
	clk.Advance(100 * time.Millisecond)
	if a := del(inS1[2]); a.status != 200 {
		t.Fatalf("after the token is back: %d %s", a.status, a.body)
	}
	if s := tn.Stats(); s.Throttled != 2 || s.ByMethodStatus["DELETE"][429] != 2 {
		t.Fatalf("stats %+v", s)
	}
	// The retry came back before the Retry-After it was given.
	if v := tn.Violations(); len(v) != 2 || !strings.Contains(v[0], "before the Retry-After") {
		t.Fatalf("violations %q", v)
	}
}

func TestARMThrottleReadsAndOff(t *testing.T) {
	clk := newClock()
	e := newARMEstate(t, Config{Now: clk.Now, ARM: ARMConfig{ReadRate: 1, ReadBurst: 3, DeleteRate: -1}})
	for i := range 3 {
		if a := e.list(t, e.s2, ""); a.status != 200 || a.header.Get("x-ms-ratelimit-remaining-subscription-reads") != fmt.Sprint(2-i) {
			t.Fatalf("read %d: %d %v", i, a.status, a.header)
		}
	}
	if a := e.list(t, e.s2, ""); a.status != 429 || a.header.Get("Retry-After") != "1" {
		t.Fatalf("over: %d %v", a.status, a.header)
	}
	if a := e.list(t, e.s1, ""); a.status != 200 {
		t.Fatalf("subscription 1: %d", a.status)
	}
	for range 300 {
		if a := e.h.do("DELETE", e.atS2RG1+v2022); a.status != 200 && a.status != 204 ||
			a.header.Get("x-ms-ratelimit-remaining-subscription-deletes") != "" {
			t.Fatalf("deletes unthrottled: %d %v", a.status, a.header)
		}
	}
}

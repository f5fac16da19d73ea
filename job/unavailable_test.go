package job

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// partSource lists what held says and answers its listings with err
// besides: an unavailable part, joined or not with a ListingErrors.
type partSource struct {
	name string
	held map[string][]string
	err  func() error
}

func (s *partSource) Name() string   { return s.name }
func (s *partSource) GroupSize() int { return 10 }

func (s *partSource) Find(_ context.Context, ps []Principal) ([]Assignment, error) {
	var out []Assignment
	for _, p := range ps {
		for _, a := range s.held[p.ID] {
			out = append(out, Assignment{Source: s.name, ID: a, PrincipalID: p.ID, RoleDefinitionID: "role", Scope: "/"})
		}
	}
	return out, s.err()
}

func (s *partSource) Remove(context.Context, Assignment) (Outcome, error) {
	return Outcome{State: Removed}, nil
}

func TestUnavailablePartsHaveNoRowsAndKeepTheExitCode(t *testing.T) {
	pim := &partSource{name: "pim", held: map[string][]string{}, err: func() error {
		return &UnavailableError{Part: "pim", Reason: "AadPremiumLicenseRequired: no P2"}
	}}
	azure := &partSource{name: "azure", held: map[string][]string{alice: {"rbac-1"}, bob: {}}, err: func() error {
		return errors.Join(&UnavailableError{Part: "azure-eligibility", Reason: "no P2 either"},
			ListingErrors{bob: errors.New("HTTP 503")})
	}}
	rec := &fakeRecorder{}
	r := newRunner(&fakeSource{held: map[string][]string{}}, rec, day1)
	r.Sources = []Source{pim, azure}
	// An earlier run's failed eligibility of alice: a listing that lacks
	// the eligibility part cannot say it is gone.
	r.Previous = []Item{{PrincipalID: alice, Source: "azure", AssignmentID: "elig-1", State: Failed, Detail: "HTTP 500"}}
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}, {Line: 3, PrincipalID: bob}, {Line: 4, PrincipalID: carol}})
	if err != nil {
		t.Fatal(err)
	}
	got := states(res.Items)
	want := map[string]string{
		alice + "/azure/rbac-1": "removed ",
		bob + "/azure/":         "failed listing failed: HTTP 503",
		carol + "//":            "no-assignments ",
	}
	if len(got) != len(want) {
		t.Errorf("rows %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(res.Unavailable) != 2 || !strings.Contains(res.Unavailable["pim"], "AadPremiumLicenseRequired") ||
		res.Unavailable["azure-eligibility"] != "no P2 either" {
		t.Errorf("unavailable %v", res.Unavailable)
	}
	if code := res.ExitCode(); code != 1 {
		t.Errorf("exit code %d: bob's failed listing alone makes it 1", code)
	}
}

// A source the tenant cannot have lists nothing, so it confirms nothing:
// an earlier run's unconfirmed removal is not "confirmed absent" on its
// word, nor a failed row "absent on rerun".
func TestWhollyUnavailableSourceConfirmsNothing(t *testing.T) {
	pim := &partSource{name: "pim", held: map[string][]string{}, err: func() error {
		return &UnavailableError{Part: "pim", Reason: "AadPremiumLicenseRequired: the licence lapsed"}
	}}
	r := newRunner(&fakeSource{held: map[string][]string{}}, &fakeRecorder{}, day1)
	r.Sources = []Source{pim}
	r.Previous = []Item{
		{PrincipalID: alice, Source: "pim", AssignmentID: "elig-9", State: Planned, Unconfirmed: true},
		{PrincipalID: alice, Source: "pim", AssignmentID: "elig-8", State: Failed, Detail: "HTTP 500"},
	}
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range res.Items {
		if it.Source == "pim" && (it.State == Removed || it.State == AlreadyAbsent) {
			t.Errorf("%s settled as %s (%s) by a source that listed nothing", it.AssignmentID, it.State, it.Detail)
		}
	}
}

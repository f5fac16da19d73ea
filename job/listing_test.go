package job

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// partialSource lists a group at once and fails some of its principals on
// their own, as a source listing with a batch of requests does.
type partialSource struct {
	fakeSource
	// fail answers a principal's own listing error.
	fail map[string]error
	// leak lists an assignment of a failed principal all the same.
	leak bool
	// stray names a principal outside every group in the error.
	stray bool
}

func (s *partialSource) Find(ctx context.Context, ps []Principal) ([]Assignment, error) {
	found, err := s.fakeSource.Find(ctx, ps)
	if err != nil {
		return nil, err
	}
	errs := ListingErrors{}
	var out []Assignment
	for _, a := range found {
		if s.fail[a.PrincipalID] == nil || s.leak {
			out = append(out, a)
		}
	}
	for _, p := range ps {
		if e := s.fail[p.ID]; e != nil {
			errs[p.ID] = e
		}
	}
	if s.stray {
		errs[guard] = errors.New("HTTP 500")
	}
	if len(errs) == 0 {
		return out, nil
	}
	return out, errs
}

func TestListingErrorsFailOnlyTheirPrincipals(t *testing.T) {
	src := &partialSource{
		fakeSource: fakeSource{held: map[string][]string{alice: {"a1"}, bob: {"b1", "b2"}, carol: {"c1"}}, group: 3},
		fail:       map[string]error{bob: errors.New("listing role eligibility schedules (page 2): HTTP 500 InternalServerError")},
		leak:       true,
	}
	rec := &fakeRecorder{}
	r := newRunner(&src.fakeSource, rec, day2)
	r.Sources = []Source{src}
	// bob's earlier failed removal is not taken for absent: his listing
	// failed, so the run cannot tell it is gone.
	r.Previous = []Item{{PrincipalID: bob, Source: "directory", AssignmentID: "b0", State: Failed, Detail: "HTTP 403", UpdatedAt: day1}}
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}, {Line: 3, PrincipalID: bob}, {Line: 4, PrincipalID: carol}})
	if err != nil {
		t.Fatal(err)
	}
	got := states(res.Items)
	// What bob's own failed listing found before it failed (the other
	// half, the first page) is removed all the same (issue 12: one half
	// never hides the other); his failed row says the rest is unknown.
	want := map[string]string{
		alice + "/directory/a1": "removed ",
		bob + "/directory/":     "failed listing failed: listing role eligibility schedules (page 2): HTTP 500 InternalServerError",
		bob + "/directory/b1":   "removed ",
		bob + "/directory/b2":   "removed ",
		carol + "/directory/c1": "removed ",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d rows, want %d: %v", len(got), len(want), got)
	}
	if len(src.listed) != 1 {
		t.Errorf("%d listings, want the one group", len(src.listed))
	}
	if res.ExitCode() != 1 {
		t.Errorf("exit %d, want 1", res.ExitCode())
	}
}

func TestListingErrorsNamingNoneOfTheGroupFailItAll(t *testing.T) {
	src := &partialSource{
		fakeSource: fakeSource{held: map[string][]string{alice: {"a1"}, carol: {"c1"}}, group: 2},
		stray:      true,
	}
	r := newRunner(&src.fakeSource, &fakeRecorder{}, day1)
	r.Sources = []Source{src}
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}, {Line: 3, PrincipalID: carol}})
	if err != nil {
		t.Fatal(err)
	}
	got := states(res.Items)
	for _, id := range []string{alice, carol} {
		if v := got[id+"/directory/"]; !strings.HasPrefix(v, "failed listing failed: listing failed for 1 principals") {
			t.Errorf("%s: %q, want its listing failed", id, v)
		}
	}
	if len(got) != 2 || len(src.removed) != 0 {
		t.Errorf("rows %v, removed %v: want two failed listings and nothing removed", got, src.removed)
	}
}

// TestListingsMergeInOrder: however the listings finish, each is merged
// once, in the order of the listings, one at a time.
func TestListingsMergeInOrder(t *testing.T) {
	const n = 200
	var (
		got     []int
		running atomic.Int32
	)
	o := &inOrder{done: make([]bool, n), each: func(i int) {
		if running.Add(1) != 1 {
			t.Error("two merges at once")
		}
		got = append(got, i)
		running.Add(-1)
	}}
	var wg sync.WaitGroup
	for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(n) {
		wg.Go(func() { o.finished(i) })
	}
	wg.Wait()
	if len(got) != n {
		t.Fatalf("%d merges, want %d", len(got), n)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("merge %d was listing %d: want the listings' order", i, v)
		}
	}
}

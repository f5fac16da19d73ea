package job

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// slowListing is a fakeSource whose listing waits until a listing
// progress line has been logged (or gives up after a while, failing).
type slowListing struct {
	*fakeSource
	logs *observer.ObservedLogs
}

func (s slowListing) Find(ctx context.Context, ps []Principal) ([]Assignment, error) {
	for giveUp := time.Now().Add(10 * time.Second); time.Now().Before(giveUp); {
		if s.logs.FilterMessage("listing progress").Len() > 0 {
			return s.fakeSource.Find(ctx, ps)
		}
		time.Sleep(time.Millisecond)
	}
	return nil, errors.New("no listing progress line while listing")
}

// A listing that takes a while is reported as it goes, with how many
// listings are done out of how many.
func TestListingProgressIsLogged(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	src := slowListing{fakeSource: &fakeSource{held: map[string][]string{alice: {"a1"}}}, logs: logs}
	r := newRunner(src.fakeSource, &fakeRecorder{}, day1)
	r.Sources = []Source{src}
	r.Log = zap.New(core)
	r.ProgressEvery = time.Millisecond
	res, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice}})
	if err != nil {
		t.Fatal(err)
	}
	if s := states(res.Items)[alice+"/directory/a1"]; s != "removed " {
		t.Fatalf("a1: %q (the listing gave up waiting for a progress line?)", s)
	}
	line := logs.FilterMessage("listing progress").All()[0].ContextMap()
	if line["total"] != int64(1) || line["done"] != int64(0) {
		t.Errorf("listing progress %v, want 0 done of 1", line)
	}
}

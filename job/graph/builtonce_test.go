package graph

import (
	"context"
	"errors"
	"testing"
)

// TestBuiltOnceRetriesOnlyACutOffBuild: an index whose listing ctx cut
// off is built again at the next call; one the service refused, or one
// built, is answered as it was.
func TestBuiltOnceRetriesOnlyACutOffBuild(t *testing.T) {
	refused := errors.New("HTTP 403")
	cut, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name      string
		ctx       context.Context
		err       error
		wantBuild int
	}{
		{"cut off by ctx", cut, context.Canceled, 2},
		{"refused by the service", context.Background(), refused, 1},
		{"built", context.Background(), nil, 1},
	} {
		var b builtOnce
		builds := 0
		build := func() error { builds++; return tc.err }
		first := b.once(tc.ctx, build)
		second := b.once(context.Background(), build)
		if builds != tc.wantBuild {
			t.Errorf("%s: built %d times, want %d", tc.name, builds, tc.wantBuild)
		}
		if !errors.Is(first, tc.err) || (tc.wantBuild == 1 && !errors.Is(second, tc.err)) {
			t.Errorf("%s: answered %v then %v", tc.name, first, second)
		}
		if ok := b.ok(); ok != (tc.err == nil) {
			t.Errorf("%s: ok() = %v", tc.name, ok)
		}
	}
}

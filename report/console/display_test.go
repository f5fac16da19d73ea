package console

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/offboard/offboard/job"
)

// syncBuffer is a buffer the display and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lastLine is the last line of out that starts with prefix.
func lastLine(out, prefix string) string {
	last := ""
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r", "\n"), "\n") {
		if i := strings.Index(l, prefix); i >= 0 {
			last = l[i:]
		}
	}
	return last
}

// Each bar counts its own phase's failures, those put just after the
// phase ended included (a resolution's, a listing's), and its own
// throttled answers.
func TestDisplayCountsFailuresAndThrottlingPerPhase(t *testing.T) {
	var out syncBuffer
	d := New(&out, false, false)
	fail := func(n int, source string) {
		for i := range n {
			d.Item(job.Item{PrincipalID: fmt.Sprint("p", i), Source: source, State: job.Failed, Detail: "HTTP 401"})
		}
	}
	// An invalid input line, before any phase: nobody's.
	d.Item(job.Item{State: job.Invalid, Detail: "line 2: not a GUID"})
	end := d.Phase(job.PhaseResolving, 5, func() int { return 5 })
	d.OnThrottled()
	end()
	fail(5, "")
	end = d.Phase(job.PhaseListing, 41, func() int { return 41 })
	end()
	fail(41, "directory")
	end = d.Phase(job.PhaseRemoving, 3, func() int { return 3 })
	d.OnThrottled()
	d.OnThrottled()
	fail(1, "directory")
	end()
	d.Stop()
	screen := out.String()
	for _, tc := range []struct{ bar, want string }{
		{"resolving", `5/5 .*429s 1\s+failures 5\s*$`},
		{"listing", `41/41 .*429s 0\s+failures 41\s*$`},
		{"removing", `3/3 .*429s 2\s+failures 1\s*$`},
	} {
		if l := lastLine(screen, tc.bar); !regexp.MustCompile(tc.want).MatchString(l) {
			t.Errorf("the %s bar ends %q, want %s\n%s", tc.bar, l, tc.want, screen)
		}
	}
}

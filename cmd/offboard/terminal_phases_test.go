package main

// The terminal display counts each phase's failures on its own bar,
// prints each failure once, groups them by cause at the end, and prints
// no raw log line of its own above the bars.

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/offboard/offboard/simtenant"
)

func TestTerminalCountsResolvingFailuresAndPrintsEachOnce(t *testing.T) {
	tn := startTenant(t, simtenant.Config{Seed: 47})
	lines := []string{"principal_id,user_principal_name"}
	for i := range 5 {
		tn.user(fmt.Sprintf("r%d@contoso.com", i), 1)
		lines = append(lines, fmt.Sprintf(",r%d@contoso.com", i))
	}
	for i := range 6 {
		lines = append(lines, fmt.Sprintf("bad-%d,", i))
	}
	// 403, not 401: a 401 stops the run at once (issue 27), and this is
	// about failures the run counts and goes on after.
	tn.AddRule(simtenant.Rule{PathContains: "users", Status: 403, Code: "Authorization_RequestDenied", Message: "no"})
	tn.AddRule(simtenant.Rule{PathContains: "$batch", Status: 403, Code: "Authorization_RequestDenied", Message: "no"})
	code, raw := runInTerminal(t, tn, nil, "run", "--input", writeCSV(t, lines...), "--report", t.TempDir())
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, raw)
	}
	screen := strings.Join(screenOf(raw), "\n")
	if !regexp.MustCompile(`(?m)^resolving\s.*\s5/5\s.*failures 5\s*$`).MatchString(screen) {
		t.Errorf("the resolving bar does not count its 5 failures:\n%s", screen)
	}
	for i := range 5 {
		if n := strings.Count(screen, fmt.Sprintf("r%d@contoso.com", i)); n > 2 {
			// Once above the bars; at most once more among the end's examples.
			t.Errorf("r%d@contoso.com is printed %d times:\n%s", i, n, screen)
		}
	}
	for _, bad := range []string{"run starting", "WARN", "input_sha256", `"msg"`} {
		if strings.Contains(screen, bad) {
			t.Errorf("a raw log line (%q) is on the screen:\n%s", bad, screen)
		}
	}
	for _, want := range []string{
		"Failed or invalid rows: 11, of 2 kinds",
		`6 × principal_id "…" is not a GUID`,
		"5 × resolving user_principal_name: ",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("the end does not say %q:\n%s", want, screen)
		}
	}
}

func TestTerminalCountsEveryListingFailure(t *testing.T) {
	tn := startTenant(t, simtenant.Config{Seed: 48})
	lines := []string{"principal_id"}
	for i := range 41 {
		id, _ := tn.user(fmt.Sprintf("l%d@contoso.com", i), 1)
		lines = append(lines, id)
	}
	tn.AddRule(simtenant.Rule{Method: "GET", PathContains: "roleManagement/directory/roleAssignments", Status: 403,
		Code: "Authorization_RequestDenied", Message: "no"})
	code, raw := runInTerminal(t, tn, []string{"OFFBOARD_SOURCES=directory"}, "run", "--input", writeCSV(t, lines...), "--report", t.TempDir())
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, raw)
	}
	screen := strings.Join(screenOf(raw), "\n")
	if !regexp.MustCompile(`(?m)^listing\s.*failures 41\s*$`).MatchString(screen) {
		t.Errorf("the listing bar does not count its 41 failures:\n%s", screen)
	}
	if strings.Contains(screen, "WARN") {
		t.Errorf("a failure is printed twice, as a warning too:\n%s", screen)
	}
	if !strings.Contains(screen, "Failed or invalid rows: 41, of 1 kinds") {
		t.Errorf("the end does not group the 41 listing failures as one kind:\n%s", screen)
	}
}

// A terminal that reports no size (0×0: some CI runners, serial
// consoles, a container's pseudo-terminal before it is sized) still gets
// the display, 80 columns wide.
func TestTerminalWithoutASizeStillGetsTheDisplay(t *testing.T) {
	tn, input, _ := terminalTenant(t)
	code, raw := runInTerminalSized(t, tn, &pty.Winsize{}, nil, "run", "--input", input, "--report", t.TempDir())
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, raw)
	}
	lines := screenOf(raw)
	screen := strings.Join(lines, "\n")
	found := false
	for _, l := range lines {
		if regexp.MustCompile(`^removing\s.*12/12`).MatchString(l) {
			found = true
			if n := len([]rune(l)); n > 80 {
				t.Errorf("a bar %d columns wide, want at most 80: %q", n, l)
			}
		}
	}
	if !found {
		t.Errorf("no removing bar on a terminal without a size:\n%s", screen)
	}
}

// Ctrl-C at a terminal: the display says the run is finishing what is in
// flight and how long it may take; a second Ctrl-C cuts it off at once,
// the report written, exit 4. The ^C the terminal echoes leaves no
// stray characters in the bars' redraw.
func TestTerminalSecondCtrlCStopsAtOnce(t *testing.T) {
	tn := startTenant(t, simtenant.Config{Seed: 49})
	id, _ := tn.user("slow@contoso.com", 30)
	tn.AddRule(simtenant.Rule{Method: "DELETE", Delay: 30 * time.Second})
	dir := t.TempDir()
	cmd := tn.command(t, []string{"TERM=xterm", "OFFBOARD_CONCURRENCY=2", "OFFBOARD_GRAPH_BATCH_SIZE=1", "OFFBOARD_GRACE=60s"},
		"run", "--input", writeCSV(t, "principal_id", id), "--report", dir)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	var screen syncBuffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(&screen, f)
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if ok() {
				return
			}
		}
		t.Fatalf("%s did not happen:\n%s", what, strings.Join(screenOf(screen.String()), "\n"))
	}
	waitFor("the removing bar", func() bool { return strings.Contains(screen.String(), "removing") })
	if _, err := f.Write([]byte{3}); err != nil { // Ctrl-C, as the terminal sends it
		t.Fatal(err)
	}
	waitFor("the interruption's note", func() bool {
		return strings.Contains(screen.String(), "interrupted: finishing in-flight requests (grace 1m0s); Ctrl-C again to stop now")
	})
	time.Sleep(500 * time.Millisecond) // a few redraws after the echoed ^C
	began := time.Now()
	if _, err := f.Write([]byte{3}); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("a second Ctrl-C did not stop the run:\n%s", strings.Join(screenOf(screen.String()), "\n"))
	}
	_ = f.Close()
	<-copied
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("the second Ctrl-C took %s to stop the run", took)
	}
	lines := screenOf(screen.String())
	shown := strings.Join(lines, "\n")
	if code := cmd.ProcessState.ExitCode(); code != 4 {
		t.Errorf("exit %d, want 4\n%s", code, shown)
	}
	if s := readSummary(t, dir); s.ExitCode != 4 {
		t.Errorf("summary.json exit %d, want 4", s.ExitCode)
	}
	for _, l := range lines {
		for _, start := range []string{"resolving ", "listing ", "removing ", "interrupted: "} {
			if i := strings.Index(l, start); i > 0 && strings.TrimSpace(l[:i]) != "" {
				t.Errorf("a stray prefix before %q: %q\n%s", start, l, shown)
			}
		}
	}
	if strings.Contains(shown, "WARN") {
		t.Errorf("a raw log line above the bars:\n%s", shown)
	}
}

// syncBuffer is a buffer a copying goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

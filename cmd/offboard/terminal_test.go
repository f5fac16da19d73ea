package main

// Terminal mode end to end: the binary under a real pseudo-terminal
// shows a progress display and a final table; the same run with a pipe
// writes JSON lines only.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"

	"github.com/offboard/offboard/simtenant"
)

// hostileMessage is a service's error message that would set the
// terminal's title and clear the screen if it were printed as it is.
const hostileMessage = "denied \x1b]0;pwned\x07\x1b[2J<script>x</script>"

// terminalTenant is a tenant where one user holds 12 assignments: one
// removal is throttled once, one refused for good with a hostile message.
func terminalTenant(t *testing.T) (*tenant, string, []string) {
	tn := startTenant(t, simtenant.Config{Seed: 41})
	id, ids := tn.user("tty@contoso.com", 12)
	tn.AddRule(simtenant.Rule{Method: "DELETE", PathContains: ids[3], Times: 1, Status: 429,
		Header: http.Header{"Retry-After": {"1"}}})
	tn.AddRule(simtenant.Rule{Method: "DELETE", PathContains: ids[7], Status: 403,
		Code: "Authorization_RequestDenied", Message: hostileMessage})
	tn.user("upn-only@contoso.com", 0)
	return tn, writeCSV(t, "principal_id,user_principal_name,reference", id+",tty@contoso.com,HR-1", ",upn-only@contoso.com,HR-2"), ids
}

// screenOf is what a terminal shows after out: it plays the text, line
// feeds, carriage returns and the sequences the progress display redraws
// with (cursor up, erase below, erase line), and ignores other sequences.
func screenOf(out string) []string {
	lines := []string{""}
	row, col := 0, 0
	put := func(r rune) {
		line := []rune(lines[row])
		for len(line) < col {
			line = append(line, ' ')
		}
		if col < len(line) {
			line[col] = r
		} else {
			line = append(line, r)
		}
		lines[row] = string(line)
		col++
	}
	csi := regexp.MustCompile(`^\x1b\[([0-9;?]*)[ -/]*([@-~])`)
	for i := 0; i < len(out); {
		if m := csi.FindStringSubmatch(out[i:]); m != nil {
			n, _ := strconv.Atoi(m[1])
			switch m[2] {
			case "A":
				row = max(row-max(n, 1), 0)
			case "J":
				lines = lines[:row+1]
				lines[row] = string([]rune(lines[row])[:min(col, len([]rune(lines[row])))])
			case "K":
				lines[row] = string([]rune(lines[row])[:min(col, len([]rune(lines[row])))])
			}
			i += len(m[0])
			continue
		}
		r, size := utf8.DecodeRuneInString(out[i:])
		i += size
		switch r {
		case '\n':
			row, col = row+1, 0
			if row == len(lines) {
				lines = append(lines, "")
			}
		case '\r':
			col = 0
		default:
			put(r)
		}
	}
	return lines
}

// runInTerminal runs the binary with a pseudo-terminal as its standard
// input, output and error, and returns the exit code and all it wrote.
func runInTerminal(t *testing.T, tn *tenant, env []string, args ...string) (int, string) {
	t.Helper()
	return runInTerminalSized(t, tn, &pty.Winsize{Rows: 50, Cols: 160}, env, args...)
}

// runInTerminalSized is runInTerminal with a terminal of the given size.
func runInTerminalSized(t *testing.T, tn *tenant, size *pty.Winsize, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := tn.command(t, append([]string{"TERM=xterm"}, env...), args...)
	f, err := pty.StartWithSize(cmd, size)
	if err != nil {
		t.Fatal(err)
	}
	var screen bytes.Buffer
	_, err = io.Copy(&screen, f)
	// The terminal's other end reports EIO once the process has gone.
	if err != nil && !errors.Is(err, syscall.EIO) && !errors.Is(err, os.ErrClosed) {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	_ = f.Close()
	out := screen.String()
	if strings.Contains(out, "WARNING: DATA RACE") {
		t.Fatalf("the binary raced:\n%s", out)
	}
	if strings.Contains(out, tn.Token()) {
		t.Fatal("the token appeared on the terminal")
	}
	return cmd.ProcessState.ExitCode(), out
}

func TestTerminalShowsProgressAndFinalTable(t *testing.T) {
	t.Parallel()
	tn, input, ids := terminalTenant(t)
	dir := t.TempDir()
	code, raw := runInTerminal(t, tn, nil, "run", "--input", input, "--report", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one row refused)\n%s", code, raw)
	}
	lines := screenOf(raw)
	screen := strings.Join(lines, "\n")
	find := func(re string) int {
		for i, l := range lines {
			if regexp.MustCompile(re).MatchString(l) {
				return i
			}
		}
		return -1
	}

	// The progress display, redrawn in place: one bar per phase with its
	// figures, the removals' complete, with the throttled answer and the
	// failure.
	removing := find(`^removing\s.*\s12/12\s+[0-9.]+/s\s+in [0-9.]+m?s\s+429s 1\s+failures 1\s*$`)
	if removing < 0 {
		t.Errorf("no finished removing bar with 12/12, 1 throttled answer and 1 failure on the screen:\n%s", screen)
	}
	if n := len(regexp.MustCompile(`(?m)^removing `).FindAllString(screen, -1)); n != 1 {
		t.Errorf("%d removing bars on the screen, want 1 redrawn in place:\n%s", n, screen)
	}
	listing := find(`^listing\s.*\s3/3\s`)
	if listing < 0 || listing > removing {
		t.Errorf("no listing bar above the removing one:\n%s", screen)
	}
	// Finished before any failure, the resolving bar keeps its figures:
	// two keys, the first line's UPN checked against its object id and
	// the second line's UPN.
	if resolving := find(`^resolving\s.*\s2/2\s.*429s 0\s+failures 0\s*$`); resolving < 0 || resolving > listing {
		t.Errorf("no resolving bar above the listing one:\n%s", screen)
	}
	// The failure, printed above the bars as it happened, its message
	// made harmless.
	if failed := find(`^FAILED\s+directory\s+tty@contoso.com ` + ids[7] + `: .*Authorization_RequestDenied`); failed < 0 || failed > removing {
		t.Errorf("the refused removal is not on the screen above the bars:\n%s", screen)
	}
	if strings.Contains(raw, "\x1b]0;pwned") || strings.Contains(raw, "\x1b[2J") {
		t.Error("the service's escape sequences reached the terminal")
	}
	// Successful outcomes are not printed without --verbose, nor any
	// log line per outcome.
	if strings.Contains(screen, "REMOVED") || strings.Contains(screen, `"outcome"`) || strings.Contains(screen, "\toutcome\t") {
		t.Errorf("successful outcomes printed without --verbose:\n%s", screen)
	}
	// The final table: counts by source and status, the failures by
	// detail, where the report is.
	table := regexp.MustCompile(`(?m)^\s*source\s+removed\s+failed\s+no-assignments\s+total\s*\n` +
		`\s*\(none\)\s+0\s+0\s+1\s+1\s*\n` +
		`\s*directory\s+11\s+1\s+0\s+12\s*\n` +
		`\s*total\s+11\s+1\s+1\s+13\s*$`)
	if !table.MatchString(screen) {
		t.Errorf("no final table of 11 removed and 1 failed in directory, 1 principal without assignments:\n%s", screen)
	}
	if !strings.Contains(screen, "1 × HTTP 403") || !strings.Contains(screen, "tty@contoso.com directory "+ids[7]) {
		t.Errorf("the failures are not grouped by detail at the end:\n%s", screen)
	}
	for _, f := range []string{"report.csv", "summary.json", "summary.html"} {
		if !strings.Contains(screen, dir+"/"+f) {
			t.Errorf("the end does not say where %s is:\n%s", f, screen)
		}
	}
	if !strings.Contains(screen, "Rerun:  offboard run --input "+input+" --report "+dir) {
		t.Errorf("the end does not give the rerun command:\n%s", screen)
	}
}

func TestTerminalVerboseShowsEveryOutcome(t *testing.T) {
	t.Parallel()
	tn, input, _ := terminalTenant(t)
	code, raw := runInTerminal(t, tn, []string{"OFFBOARD_VERBOSE=true"}, "run", "--input", input, "--report", t.TempDir())
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, raw)
	}
	screen := strings.Join(screenOf(raw), "\n")
	if n := regexp.MustCompile(`REMOVED\s+directory\s+tty@contoso.com `).FindAllStringIndex(screen, -1); len(n) != 11 {
		t.Errorf("%d removals printed with --verbose, want 11:\n%s", len(n), screen)
	}
}

func TestPipeGetsJSONLinesOnly(t *testing.T) {
	t.Parallel()
	tn, input, _ := terminalTenant(t)
	r := tn.offboard(t, nil, "run", "--input", input, "--report", t.TempDir())
	wantCode(t, r, 1)
	if r.stdout != "" {
		t.Errorf("standard output %q, want nothing", r.stdout)
	}
	outcomes := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if m["msg"] == "outcome" {
			outcomes++
		}
	}
	if outcomes != 12 {
		t.Errorf("%d outcome lines, want 12", outcomes)
	}
}

// A line logged after the last bar moved (here the --timeout warning,
// logged once the runner has returned) is on the screen, above the final
// table, not lost with the live view.
func TestTerminalShowsWhatIsLoggedAfterTheBars(t *testing.T) {
	tn := startTenant(t, simtenant.Config{Seed: 45})
	id, _ := tn.user("slow@contoso.com", 40)
	tn.AddRule(simtenant.Rule{Method: "DELETE", Delay: 500 * time.Millisecond})
	code, raw := runInTerminal(t, tn, []string{"OFFBOARD_CONCURRENCY=1", "OFFBOARD_GRAPH_BATCH_SIZE=1", "OFFBOARD_TIMEOUT=3s"},
		"run", "--input", writeCSV(t, "principal_id", id), "--report", t.TempDir())
	if code != 4 {
		t.Fatalf("exit %d, want 4 (the timeout)\n%s", code, raw)
	}
	lines := screenOf(raw)
	screen := strings.Join(lines, "\n")
	warned, ended := -1, -1
	for i, l := range lines {
		if strings.Contains(l, "WARN") && strings.Contains(l, "the run reached its --timeout") {
			warned = i
		}
		if strings.HasPrefix(l, "offboard run finished in ") && strings.Contains(l, "exit 4") {
			ended = i
		}
	}
	if warned < 0 || ended < 0 || warned > ended {
		t.Errorf("the timeout's warning is not on the screen above the end:\n%s", screen)
	}
	if !regexp.MustCompile(`(?m)^\s*directory\s+\d+\s+\d+\s+40\s*$`).MatchString(screen) {
		t.Errorf("no table of planned and removed rows:\n%s", screen)
	}
}

func TestTerminalShowsTheGuard(t *testing.T) {
	t.Parallel()
	tn, input, _ := terminalTenant(t)
	dir := t.TempDir()
	code, raw := runInTerminal(t, tn, []string{"OFFBOARD_MAX_REMOVALS=5"}, "run", "--input", input, "--report", dir)
	if code != 3 {
		t.Fatalf("exit %d, want 3 (the guard)\n%s", code, raw)
	}
	screen := strings.Join(screenOf(raw), "\n")
	for _, want := range []string{
		"A guard stopped the run before any change: the plan holds 12 removals, more than --max-removals 5",
		"Rerun:  offboard run --input " + input + " --report " + dir + " --graph-endpoint=" + tn.url + " --max-removals=5",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("the end does not say %q:\n%s", want, screen)
		}
	}
	if !regexp.MustCompile(`(?m)^\s*directory\s+12\s+0\s+12\s*$`).MatchString(screen) {
		t.Errorf("no table of 12 planned rows:\n%s", screen)
	}
	if regexp.MustCompile(`(?m)^removing `).MatchString(screen) {
		t.Errorf("a removing bar, though nothing was removed:\n%s", screen)
	}
}

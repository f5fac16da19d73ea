package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// offboardInProcess runs a command line in this process, with no
// environment.
func offboardInProcess(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), args, stdio{in: strings.NewReader(""), out: &out, err: &errb,
		env: func(string) (string, bool) { return "", false }})
	return code, out.String(), errb.String()
}

// flagLine matches a flag's line in help: "  --name" at its start.
var flagLine = regexp.MustCompile(`(?m)^  (?:-h, )?--([a-z0-9-]+)`)

// helpFlags are the flags a command's help lists, in order.
func helpFlags(help string) []string {
	var out []string
	for _, m := range flagLine.FindAllStringSubmatch(help, -1) {
		out = append(out, m[1])
	}
	return out
}

// Issue 28, item 10: `run --help` says what the command does first, then
// its flags with two dashes under headings, each with its variable, then
// examples and exit codes.
func TestRunHelpFollowsTheConventions(t *testing.T) {
	code, help, stderr := offboardInProcess("run", "--help")
	if code != 0 || stderr != "" {
		t.Fatalf("run --help: exit %d, stderr %q", code, stderr)
	}
	if !strings.HasPrefix(help, "Removes the access of departing principals.") {
		t.Errorf("run --help does not start with what run does:\n%s", help)
	}
	order := []string{"Usage:\n  offboard run --input FILE --report DIR [flags]", "\nInput:\n", "\nSources:\n", "\nGuards:\n",
		"\nTenant and endpoints:\n", "\nPace and retries:\n", "\nReport and output:\n", "\nExamples:\n", "\nExit codes:\n"}
	at := 0
	for _, want := range order {
		i := strings.Index(help[at:], want)
		if i < 0 {
			t.Fatalf("run --help lacks %q after byte %d:\n%s", want, at, help)
		}
		at += i
	}
	for _, want := range []string{
		"  --max-removals int", "env: OFFBOARD_MAX_REMOVALS\n", "env: OFFBOARD_TENANT or OFFBOARD_TENANT_ID\n",
		"(default 1000)", "(default \"directory,pim,groups\")", "offboard run --input departures.csv --report",
		"  3  a guard stopped the run; nothing changed", "a flag given on the command line wins over its\nvariable",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("run --help lacks %q", want)
		}
	}
	if regexp.MustCompile(`(?m)^\s+-[a-z][a-z-]+`).MatchString(help) {
		t.Errorf("run --help shows a flag with one dash:\n%s", help)
	}
	// Every flag of run, each with its variable.
	for _, name := range helpFlags(help) {
		if name != "help" && !strings.Contains(help, "env: "+envName(name)) {
			t.Errorf("--%s: no variable shown", name)
		}
	}
}

// Each command's help shows exactly the flags it parses and has a use
// for: check's no write pace, plan's no --dry-run nor "Usage of run",
// watch's one flag for its root.
func TestEachCommandsHelpShowsItsOwnFlags(t *testing.T) {
	helps := map[string]string{}
	for _, c := range commands {
		code, help, stderr := offboardInProcess(c, "--help")
		if code != 0 || stderr != "" || help == "" {
			t.Fatalf("%s --help: exit %d, stderr %q", c, code, stderr)
		}
		helps[c] = help
		for _, line := range strings.Split(help, "\n") {
			if len([]rune(line)) > helpWidth {
				t.Errorf("%s --help: a line of %d columns: %q", c, len([]rune(line)), line)
			}
		}
	}
	root := (&cli{}).root()
	for _, c := range commands {
		cmd, _, err := root.Find([]string{c})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, f := range commandFlags(root)[c] {
			want = append(want, f.name)
		}
		got := helpFlags(helps[c])
		if got = slices.DeleteFunc(got, func(n string) bool { return n == "help" }); !sameSet(got, want) {
			t.Errorf("%s --help lists %v, want %v (%s)", c, got, want, cmd.Name())
		}
	}
	for _, tc := range []struct {
		command string
		absent  []string
	}{
		{"check", []string{"graph-write-rate", "graph-write-burst", "arm-delete-rate", "arm-delete-burst", "max-removals", "grace", "timeout", "verbose", "dry-run"}},
		{"plan", []string{"dry-run", "graph-write-rate", "graph-batch-size"}},
		{"restore", []string{"sources", "max-removals-per-principal", "input"}},
		{"watch", []string{"input", "dry-run"}},
	} {
		flags := helpFlags(helps[tc.command])
		for _, a := range tc.absent {
			if slices.Contains(flags, a) {
				t.Errorf("%s --help lists --%s", tc.command, a)
			}
		}
	}
	if strings.Contains(helps["plan"], "Usage of run") || !strings.Contains(helps["plan"], "Usage:\n  offboard plan ") {
		t.Errorf("plan --help:\n%s", helps["plan"])
	}
	watch := helpFlags(helps["watch"])
	if !slices.Contains(watch, "reports") || !strings.Contains(helps["watch"], "--reports root") ||
		!strings.Contains(helps["watch"], "where the watch writes its own report") {
		t.Errorf("watch --help: --reports is the root, --report where it writes:\n%s", helps["watch"])
	}
	_, rootHelp, _ := offboardInProcess("--help")
	for _, line := range strings.Split(rootHelp, "\n") {
		if len([]rune(line)) > helpWidth {
			t.Errorf("offboard --help: a line of %d columns: %q", len([]rune(line)), line)
		}
	}
	for _, c := range commands {
		if !regexp.MustCompile(`(?m)^  ` + c + ` `).MatchString(rootHelp) {
			t.Errorf("offboard --help does not list %s:\n%s", c, rootHelp)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// A usage error is one line and the hint, on standard error, exit 2: not
// the whole usage.
func TestUsageErrorIsOneLineAndTheHint(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--input"}, "offboard run: flag needs an argument: --input"},
		{[]string{"check", "--bogus"}, "offboard check: unknown flag: --bogus"},
		{[]string{"plan", "--concurrency", "many"}, `offboard plan: invalid value "many" for --concurrency: a whole number expected`},
		{[]string{"watch", "--reports"}, "offboard watch: flag needs an argument: --reports"},
		{[]string{"restore", "--report", "x", "--all", "stray"}, `offboard restore: unexpected argument "stray"`},
		{[]string{"check", "--graph-write-rate"}, "offboard check: flag needs an argument: --graph-write-rate"},
	} {
		code, stdout, stderr := offboardInProcess(tc.args...)
		hint := "Run 'offboard " + tc.args[0] + " --help' for usage.\n"
		if code != exitUsage || stdout != "" || stderr != tc.want+"\n"+hint {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, stdout, stderr, tc.want+"\n"+hint)
		}
	}
	code, _, stderr := offboardInProcess("runn")
	if code != exitUsage || !strings.Contains(stderr, `unknown command "runn"`) || !strings.Contains(stderr, "  run\n") {
		t.Errorf("offboard runn: exit %d, %q", code, stderr)
	}
	if code, stdout, stderr := offboardInProcess(); code != exitUsage || stdout != "" || !strings.Contains(stderr, "Commands:") {
		t.Errorf("offboard alone: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// The flag package offboard used before took -name as well as --name:
// a script written then keeps working.
func TestSingleDashLongFlagsStillWork(t *testing.T) {
	root := (&cli{}).root()
	got := singleDashLong(root, []string{"run", "-input", "x.csv", "-dry-run", "--report", "-report", "-timeout=5m",
		"--protect", "-x", "-h", "-", "--", "-verbose"})
	want := []string{"run", "--input", "x.csv", "--dry-run", "--report", "-report", "--timeout=5m",
		"--protect", "-x", "-h", "-", "--", "-verbose"}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	c, err := parseRunFlags(singleDashLong(root, []string{"run", "-input", "x", "-report", "y", "-max-removals", "7"})[1:],
		func(string) (string, bool) { return "", false }, io.Discard)
	if err != nil || c.Input != "x" || c.Report != "y" || c.MaxRemovals != 7 {
		t.Errorf("single-dash flags: %+v, %v", c, err)
	}
}

// A flag hidden from a command's help still parses: one command line (or
// one set of variables) serves run and check.
func TestHiddenFlagsAreStillAccepted(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	if _, _, err := parseCheckFlags([]string{"--graph-write-rate", "5", "--max-removals", "3", "--verbose"}, none, io.Discard); err != nil {
		t.Errorf("check with run's write flags: %v", err)
	}
	var f runFlags
	fs := newFlagSet("plan", io.Discard)
	f.define(fs, true)
	if err := fs.Parse([]string{"--input", "x", "--report", "y", "--dry-run", "--graph-batch-size", "5"}); err != nil {
		t.Fatal(err)
	}
	if c, err := f.config(fs, fs.Args(), none); err != nil || c.GraphBatchSize != 5 {
		t.Errorf("plan with --dry-run and --graph-batch-size: %+v, %v", c.GraphBatchSize, err)
	}
}

package main

import (
	"flag"
	"slices"
	"strings"
)

// notInRerun are the flags the rerun command leaves out: it names the
// input and report itself, the command says dry run, and how the run is
// shown is the person's choice.
var notInRerun = []string{"input", "report", "dry-run", "log-format", "verbose", "processed"}

// changedFlags lists, as --name=value, every flag whose value (from the
// command line or its OFFBOARD_* variable) is not its default, so that
// the rerun command does what the run did.
func changedFlags(fs *flag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *flag.Flag) {
		if slices.Contains(notInRerun, f.Name) || f.Value.String() == f.DefValue {
			return
		}
		out = append(out, "--"+f.Name+"="+f.Value.String())
	})
	return out
}

// rerunCommand is the command line that runs command again on the input
// into the report, with the flags that changed.
func rerunCommand(command, input, reportLoc string, flags []string) string {
	parts := []string{"offboard", command}
	if input != "" {
		parts = append(parts, "--input", shellQuote(input))
	}
	parts = append(parts, "--report", shellQuote(reportLoc))
	for _, f := range flags {
		parts = append(parts, shellQuote(f))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// characters that are safe as they are.
func shellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,@%+", r))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

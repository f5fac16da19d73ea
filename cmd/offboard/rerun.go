package main

import (
	"flag"
	"slices"
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

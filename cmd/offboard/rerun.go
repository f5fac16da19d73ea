package main

import (
	"slices"

	"github.com/spf13/pflag"
)

// notInRerun are the flags the rerun command leaves out: it names the
// input and report itself, the command says dry run, and how the run is
// shown is the person's choice.
var notInRerun = []string{"input", "report", "dry-run", "log-format", "verbose", "processed"}

// changedFlags lists, as --name=value, every flag whose value (from the
// command line or its OFFBOARD_* variable) is not its default, so that
// the rerun command does what the run did.
func changedFlags(fs *pflag.FlagSet) []string {
	var out []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || slices.Contains(notInRerun, f.Name) || f.Value.String() == f.DefValue {
			return
		}
		out = append(out, "--"+f.Name+"="+f.Value.String())
	})
	return out
}

package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Help is laid out as az, kubectl and Terraform lay theirs: what the
// command does, how it is called, its flags under headings (each with its
// OFFBOARD_* variable), examples, exit codes. cobra renders none of this
// by itself (it has no flag groups), so helpText does, from the command's
// own flag set: a command shows exactly the flags it parses.

// helpWidth is the width help is wrapped to.
const helpWidth = 80

// Annotations a command carries for its help.
const (
	exitsAnnotation = "offboard.exits" // the exit codes section
	envAnnotation   = "offboard.env"   // "yes": every flag has an OFFBOARD_* variable
)

// flagGroups are the headings flags are shown under, in order; a flag
// none names is shown under "Other flags".
var flagGroups = []struct {
	title string
	flags []string
}{
	{"Input", []string{"input", "reports", "within", "principal", "all", "trust-unsigned", "processed"}},
	{"Sources", []string{"sources", "azure-scopes"}},
	{"Guards", []string{"max-removals", "max-removals-per-principal", "protect", "self-id"}},
	{"Tenant and endpoints", []string{"tenant", "cloud", "graph-endpoint", "arm-endpoint"}},
	{"Pace and retries", []string{"concurrency", "graph-write-rate", "graph-write-burst", "arm-delete-rate",
		"arm-delete-burst", "graph-batch-size", "max-attempts", "request-timeout", "timeout", "grace"}},
	{"Report and output", []string{"report", "dry-run", "output", "dir", "log-format", "verbose"}},
	{"Simulated tenant", []string{"tenants", "seed", "tenant-id", "principals", "latency", "jitter", "fault-rate",
		"write-rate", "write-burst", "read-ru", "page-size", "arm-page-size", "legacy-errors", "profile", "no-p2",
		"deny", "arm-filter-required"}},
	{"Sample CSV", []string{"shape", "per-principal", "keys", "subscriptions", "csv"}},
	{"Serving", []string{"listen"}},
}

// annotate gives cmd its exit codes section, and says whether its flags
// are read from OFFBOARD_* variables too.
func annotate(cmd *cobra.Command, exits string, env bool) {
	cmd.Annotations = map[string]string{exitsAnnotation: exits}
	if env {
		cmd.Annotations[envAnnotation] = "yes"
	}
}

// helpText is cmd's help.
func helpText(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return rootHelp(cmd)
	}
	var b strings.Builder
	b.WriteString(paragraphs(cmd.Long) + "\n\n")
	fmt.Fprintf(&b, "Usage:\n  %s\n", cmd.UseLine())
	env := cmd.Annotations[envAnnotation] == "yes"
	for _, g := range groupFlags(cmd.LocalFlags()) {
		fmt.Fprintf(&b, "\n%s:\n%s", g.title, flagLines(g.flags, env))
	}
	if cmd.Example != "" {
		fmt.Fprintf(&b, "\nExamples:\n%s\n", strings.TrimRight(cmd.Example, "\n"))
	}
	if exits := cmd.Annotations[exitsAnnotation]; exits != "" {
		fmt.Fprintf(&b, "\nExit codes:\n%s", exitLines(exits))
	}
	if env {
		b.WriteString("\n" + wrap("Every flag can also be set by the variable shown under it (OFFBOARD_ and the flag in "+
			"upper snake case); a flag given on the command line wins over its variable, and the variable over the default.", 0) + "\n")
	}
	fmt.Fprintf(&b, "\nRun '%s --help' for every command.\n", cmd.Root().Name())
	return b.String()
}

// rootHelp is the help of `offboard` itself: what it does and its
// commands.
func rootHelp(root *cobra.Command) string {
	var b strings.Builder
	b.WriteString(paragraphs(root.Long) + "\n\n")
	b.WriteString("Usage:\n  offboard COMMAND [flags]\n\nCommands:\n")
	width := 0
	for _, name := range commands {
		width = max(width, len(name))
	}
	// In the order a person meets them (cobra's own sorts them by name).
	for _, name := range commands {
		if c, _, err := root.Find([]string{name}); err == nil && c != root {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, c.Name(), c.Short)
		}
	}
	b.WriteString("\n" + wrap("Run 'offboard COMMAND --help' for a command's flags, their OFFBOARD_* variables, "+
		"examples and exit codes. The README says the rest.", 0) + "\n")
	return b.String()
}

// group is a heading and the flags under it.
type group struct {
	title string
	flags []*pflag.Flag
}

// groupFlags sorts the visible flags of fs under their headings, in the
// order of flagGroups, each heading's flags in its own order; the help
// flag comes last, on its own.
func groupFlags(fs *pflag.FlagSet) []group {
	byName := map[string]*pflag.Flag{}
	fs.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Name != "help" {
			byName[f.Name] = f
		}
	})
	var out []group
	for _, g := range flagGroups {
		var flags []*pflag.Flag
		for _, n := range g.flags {
			if f := byName[n]; f != nil {
				flags = append(flags, f)
				delete(byName, n)
			}
		}
		if len(flags) > 0 {
			out = append(out, group{g.title, flags})
		}
	}
	var other []*pflag.Flag
	fs.VisitAll(func(f *pflag.Flag) {
		if byName[f.Name] != nil {
			other = append(other, f)
		}
	})
	if len(other) > 0 {
		out = append(out, group{"Other flags", other})
	}
	if h := fs.Lookup("help"); h != nil {
		out = append(out, group{"Help", []*pflag.Flag{h}})
	}
	return out
}

// flagColumn is where a flag's description starts.
const flagColumn = 32

// flagLines are the lines of flags: "  --name value" and the description,
// wrapped, with the default and (env) the OFFBOARD_* variable under it.
func flagLines(flags []*pflag.Flag, env bool) string {
	var b strings.Builder
	for _, f := range flags {
		value, text := pflag.UnquoteUsage(f)
		left := "  --" + f.Name
		if f.Shorthand != "" {
			left = "  -" + f.Shorthand + ", --" + f.Name
		}
		if value = valueName(value); value != "" && takesValue(f) {
			left += " " + value
		}
		if def := defaultText(f); def != "" {
			text += " (default " + def + ")"
		}
		desc := wrap(text, flagColumn)
		if env && f.Name != "help" {
			desc += "\n" + strings.Repeat(" ", flagColumn) + "env: " + envName(f.Name)
			if f.Name == "tenant" {
				desc += " or " + tenantIDVar
			}
		}
		if len(left) > flagColumn-2 {
			b.WriteString(left + "\n" + strings.Repeat(" ", flagColumn) + desc + "\n")
			continue
		}
		fmt.Fprintf(&b, "%-*s%s\n", flagColumn, left, desc)
	}
	return b.String()
}

// valueName is how help names a flag's value, from pflag's type name (or
// the word the usage quoted with backticks).
func valueName(typ string) string {
	switch typ {
	case "float", "float64":
		return "number"
	case "uint", "uint64":
		return "int"
	case "stringArray":
		return "string"
	}
	return typ
}

// defaultText is a flag's default as help shows it: nothing for a zero
// value (the description says what an empty value means).
func defaultText(f *pflag.Flag) string {
	switch f.DefValue {
	case "", "0", "0s", "false", "[]":
		return ""
	}
	switch f.Value.Type() {
	case "string":
		return `"` + f.DefValue + `"`
	case "duration": // 1m0s reads 1m
		if d, ok := strings.CutSuffix(f.DefValue, "m0s"); ok {
			return d + "m"
		}
	}
	return f.DefValue
}

// exitLines lays out "code meaning" lines, the meanings wrapped.
func exitLines(exits string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(exits), "\n") {
		code, meaning, _ := strings.Cut(line, " ")
		fmt.Fprintf(&b, "  %-3s%s\n", code, wrap(meaning, 5))
	}
	return b.String()
}

// wrap wraps text to helpWidth, the lines after the first indented by
// indent (the first is where the caller put it).
func wrap(text string, indent int) string {
	var b strings.Builder
	col := indent
	for i, w := range strings.Fields(text) {
		if i > 0 && col+1+len(w) > helpWidth {
			b.WriteString("\n" + strings.Repeat(" ", indent))
			col = indent
		} else if i > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}

// paragraphs wraps each paragraph of text (they are separated by a blank
// line) to helpWidth.
func paragraphs(text string) string {
	var out []string
	for _, p := range strings.Split(strings.TrimSpace(text), "\n\n") {
		out = append(out, wrap(p, 0))
	}
	return strings.Join(out, "\n\n")
}

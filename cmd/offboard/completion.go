package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// commands are offboard's commands, in the order usage lists them.
var commands = []string{"run", "plan", "check", "restore", "watch", "demo", "simulate", "version", "completion"}

// shells are those `completion` writes a script for.
var shells = []string{"bash", "zsh", "fish", "powershell"}

// completionValues are the values completion offers after a flag that
// takes one of a few words; fileFlags take a path.
var (
	completionValues = map[string][]string{
		"cloud":      {"public", "usgov", "usgovdod", "china"},
		"log-format": {"console", "json"},
		"sources":    app.KnownSources(),
		"output":     {"table", "json"},
		"shape":      {"sample", "bench", "azure"},
		"keys":       {"id", "hr"},
	}
	fileFlags = map[string]bool{"input": true, "report": true, "reports": true, "processed": true, "csv": true, "dir": true}
)

// flagSpec is one flag of a command: its name, and whether it takes a
// value.
type flagSpec struct {
	name  string
	value bool
}

// commandFlags are each command's flags, read from the command's own
// flag set, so that completion offers exactly what the command parses
// (less those hidden from its help).
func commandFlags(root *cobra.Command) map[string][]flagSpec {
	out := map[string][]flagSpec{}
	for _, cmd := range root.Commands() {
		cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden && f.Name != "help" {
				out[cmd.Name()] = append(out[cmd.Name()], flagSpec{name: f.Name, value: takesValue(f)})
			}
		})
	}
	return out
}

// shellScript is the completion script for shell (one of shells)
// of root's commands.
func shellScript(root *cobra.Command, shell string) string {
	flags := commandFlags(root)
	switch shell {
	case "bash":
		return bashCompletion(flags)
	case "zsh":
		return zshCompletion(flags)
	case "fish":
		return fishCompletion(flags)
	}
	return powershellCompletion(flags)
}

// dashed is the flags' names as typed: --name.
func dashed(fs []flagSpec) string {
	var out []string
	for _, f := range fs {
		out = append(out, "--"+f.name)
	}
	return strings.Join(out, " ")
}

// valueFlags are every flag of any command that takes a value, dashed,
// separated by sep.
func valueFlags(flags map[string][]flagSpec, sep string, keep func(string) bool) string {
	seen := map[string]bool{}
	for _, fs := range flags {
		for _, f := range fs {
			if f.value && keep(f.name) {
				seen["--"+f.name] = true
			}
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, sep)
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func bashCompletion(flags map[string][]flagSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# bash completion for offboard. Load it with:
#   source <(offboard completion bash)
# or save it as /etc/bash_completion.d/offboard.
_offboard() {
    local cur prev
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    COMPREPLY=()
    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=( $(compgen -W "%s" -- "$cur") )
        return 0
    fi
    case "$prev" in
`, strings.Join(commands, " "))
	for _, name := range sortedNames(completionValues) {
		fmt.Fprintf(&b, "        --%s) COMPREPLY=( $(compgen -W \"%s\" -- \"$cur\") ); return 0 ;;\n", name, strings.Join(completionValues[name], " "))
	}
	fmt.Fprintf(&b, "        %s) COMPREPLY=( $(compgen -f -- \"$cur\") ); return 0 ;;\n",
		valueFlags(flags, "|", func(n string) bool { return fileFlags[n] }))
	fmt.Fprintf(&b, "        %s) return 0 ;;\n",
		valueFlags(flags, "|", func(n string) bool { return !fileFlags[n] && completionValues[n] == nil }))
	b.WriteString("    esac\n    local words=\"\"\n    case \"${COMP_WORDS[1]}\" in\n")
	for _, c := range commands {
		switch c {
		case "completion":
			fmt.Fprintf(&b, "        completion) [[ $COMP_CWORD -eq 2 ]] && words=\"%s\" ;;\n", strings.Join(shells, " "))
		default:
			if fs := flags[c]; len(fs) > 0 {
				fmt.Fprintf(&b, "        %s) words=\"%s\" ;;\n", c, dashed(fs))
			}
		}
	}
	b.WriteString(`    esac
    COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -o default -F _offboard offboard
`)
	return b.String()
}

func zshCompletion(flags map[string][]flagSpec) string {
	var b strings.Builder
	fmt.Fprintf(&b, `#compdef offboard
# zsh completion for offboard. Load it with:
#   source <(offboard completion zsh)
# or save it as _offboard in a directory of $fpath.
_offboard() {
    if (( CURRENT == 2 )); then
        compadd -- %s
        return
    fi
    case "${words[CURRENT-1]}" in
`, strings.Join(commands, " "))
	for _, name := range sortedNames(completionValues) {
		fmt.Fprintf(&b, "        --%s) compadd -- %s; return ;;\n", name, strings.Join(completionValues[name], " "))
	}
	fmt.Fprintf(&b, "        %s) _files; return ;;\n", valueFlags(flags, "|", func(n string) bool { return fileFlags[n] }))
	fmt.Fprintf(&b, "        %s) return ;;\n",
		valueFlags(flags, "|", func(n string) bool { return !fileFlags[n] && completionValues[n] == nil }))
	b.WriteString("    esac\n    case \"${words[2]}\" in\n")
	for _, c := range commands {
		switch c {
		case "completion":
			fmt.Fprintf(&b, "        completion) (( CURRENT == 3 )) && compadd -- %s ;;\n", strings.Join(shells, " "))
		default:
			if fs := flags[c]; len(fs) > 0 {
				fmt.Fprintf(&b, "        %s) compadd -- %s ;;\n", c, dashed(fs))
			}
		}
	}
	b.WriteString(`    esac
}
if [[ "${funcstack[1]}" == "_offboard" ]]; then
    _offboard "$@"
else
    compdef _offboard offboard
fi
`)
	return b.String()
}

func fishCompletion(flags map[string][]flagSpec) string {
	var b strings.Builder
	b.WriteString(`# fish completion for offboard. Load it with:
#   offboard completion fish | source
# or save it as ~/.config/fish/completions/offboard.fish.
complete -c offboard -f
`)
	fmt.Fprintf(&b, "complete -c offboard -n __fish_use_subcommand -a '%s'\n", strings.Join(commands, " "))
	fmt.Fprintf(&b, "complete -c offboard -n '__fish_seen_subcommand_from completion' -a '%s'\n", strings.Join(shells, " "))
	for _, c := range commands {
		for _, f := range flags[c] {
			line := fmt.Sprintf("complete -c offboard -n '__fish_seen_subcommand_from %s' -l %s", c, f.name)
			switch {
			case completionValues[f.name] != nil:
				line += fmt.Sprintf(" -x -a '%s'", strings.Join(completionValues[f.name], " "))
			case fileFlags[f.name]:
				line += " -r -F"
			case f.value:
				line += " -x"
			}
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func powershellCompletion(flags map[string][]flagSpec) string {
	quote := func(ws []string) string {
		out := make([]string, len(ws))
		for i, w := range ws {
			out[i] = "'" + w + "'"
		}
		return "@(" + strings.Join(out, ", ") + ")"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# PowerShell completion for offboard. Load it with:
#   offboard completion powershell | Out-String | Invoke-Expression
# or add that line to $PROFILE.
Register-ArgumentCompleter -Native -CommandName offboard -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $commands = %s
    $flags = @{
`, quote(commands))
	for _, c := range commands {
		if fs := flags[c]; len(fs) > 0 {
			fmt.Fprintf(&b, "        '%s' = %s\n", c, quote(strings.Fields(dashed(fs))))
		}
	}
	fmt.Fprintf(&b, "        'completion' = %s\n    }\n    $values = @{\n", quote(shells))
	for _, name := range sortedNames(completionValues) {
		fmt.Fprintf(&b, "        '--%s' = %s\n", name, quote(completionValues[name]))
	}
	b.WriteString(`    }
    $words = @($commandAst.CommandElements | ForEach-Object { $_.ToString() })
    if ($wordToComplete -ne '') { $words = $words[0..($words.Count - 2)] }
    if ($words.Count -le 1) {
        $candidates = $commands
    } elseif ($values.ContainsKey($words[-1])) {
        $candidates = $values[$words[-1]]
    } elseif ($flags.ContainsKey($words[1])) {
        $candidates = $flags[$words[1]]
    } else {
        $candidates = @()
    }
    $candidates | Where-Object { $_ -like "$wordToComplete*" } | ForEach-Object {
        [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
    }
}
`)
	return b.String()
}

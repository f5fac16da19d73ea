package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/offboard/offboard/simtenant/demo"
)

// cli is one command line being run: the streams it reads and writes,
// and the exit code its command ended with.
type cli struct {
	sio  stdio
	code int
}

// usageError is a command line that cannot be run: a flag that is not
// the command's, a missing value, a value the configuration refuses.
// Nothing was done; the command exits 2 with the message and the hint.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usage marks err, if any, as a usage error.
func usage(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// flagError rewords pflag's refusal of a flag's value, which names the
// parser's error ("strconv.ParseInt: parsing ...: invalid syntax"), to
// say what was expected.
func flagError(err error) error {
	var iv *pflag.InvalidValueError
	if !errors.As(err, &iv) {
		return err
	}
	return fmt.Errorf("invalid value %q for --%s: %s", iv.GetValue(), iv.GetFlag().Name, expected(iv.GetFlag(), iv.Unwrap()))
}

// expected says what a flag's value must be, when err refused it.
func expected(f *pflag.Flag, err error) string {
	switch f.Value.Type() {
	case "int", "uint", "uint64":
		return "a whole number expected"
	case "float64":
		return "a number expected"
	case "duration":
		return "a duration expected, such as 90s, 15m or 1h30m"
	case "bool":
		return "true or false expected"
	}
	return err.Error()
}

// run runs a command line and returns the process exit code.
func run(ctx context.Context, args []string, sio stdio) int {
	c := &cli{sio: sio}
	root := c.root()
	if len(args) == 0 {
		// A bare `offboard` is a mistake in a script: the commands, on
		// standard error, and exit 2.
		root.SetOut(sio.err)
		_ = root.Help()
		return exitUsage
	}
	root.SetArgs(singleDashLong(root, args))
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return c.code
	}
	printUsageError(sio.err, cmd, err)
	return exitUsage
}

// printUsageError prints err, a line each, and the hint: the command's
// help, not the whole of it.
func printUsageError(w io.Writer, cmd *cobra.Command, err error) {
	path := cmd.CommandPath()
	for _, line := range strings.Split(err.Error(), "\n") {
		switch {
		case strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "Did you mean"): // cobra's suggestions
			fmt.Fprintln(w, line)
		case strings.HasPrefix(line, "\t"):
			fmt.Fprintf(w, "  %s\n", strings.TrimSpace(line))
		default:
			fmt.Fprintf(w, "%s: %s\n", path, line)
		}
	}
	fmt.Fprintf(w, "Run '%s --help' for usage.\n", path)
}

// root is offboard's command tree, each command writing to c's streams
// and setting c.code.
func (c *cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "offboard",
		Short: "remove the access of departing principals from Entra ID and Azure",
		Long: "offboard removes the roles of departing principals from Microsoft Entra ID and Azure: " +
			"directory roles, PIM eligibilities, memberships of role-assignable groups, Azure RBAC, " +
			"application ownership, app roles and Key Vault access policies. It plans first, checks the plan " +
			"against guards, removes under a pace that keeps to the services' limits, and writes a report " +
			"that a rerun completes.",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetOut(c.sio.out)
	root.SetErr(c.sio.err)
	root.SetIn(c.sio.in)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usage(flagError(err)) })
	root.SetHelpFunc(func(cmd *cobra.Command, _ []string) { fmt.Fprint(cmd.OutOrStdout(), helpText(cmd)) })
	root.AddCommand(c.runCommand(false), c.runCommand(true), c.checkCommand(), c.restoreCommand(), c.watchCommand(),
		c.demoCommand(), c.simulateCommand(), c.versionCommand(), c.completionCommand())
	return root
}

// runCommand is `run`, or `plan` (the same as run --dry-run).
func (c *cli) runCommand(plan bool) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:     "run --input FILE --report DIR [flags]",
		Short:   "the job: read, resolve, plan, guard, remove, report",
		Long:    runLong,
		Example: runExamples,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.config(cmd.Flags(), args, c.sio.env)
			if err != nil {
				return usage(err)
			}
			cfg.DryRun = cfg.DryRun || plan
			c.code = runJob(cmd.Context(), cfg, c.sio)
			return nil
		},
	}
	if plan {
		cmd.Use, cmd.Short, cmd.Long, cmd.Example = "plan --input FILE --report DIR [flags]", "the same as run --dry-run", planLong, planExamples
	}
	f.define(cmd.Flags(), plan)
	annotate(cmd, runExits, true)
	return cmd
}

// checkCommand is `check`, the read-only preflight.
func (c *cli) checkCommand() *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:     "check [--input FILE] [--report DIR] [flags]",
		Short:   "read-only preflight: permissions, licences, input, report",
		Long:    checkLong,
		Example: checkExamples,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, output, err := f.config(cmd.Flags(), args, c.sio.env)
			if err != nil {
				return usage(err)
			}
			c.code = runCheck(cmd.Context(), cfg, output, c.sio)
			return nil
		},
	}
	f.define(cmd.Flags())
	annotate(cmd, checkExits, true)
	return cmd
}

// restoreCommand is `restore`.
func (c *cli) restoreCommand() *cobra.Command {
	var f restoreFlags
	cmd := &cobra.Command{
		Use:     "restore --report DIR (--principal P | --all) [flags]",
		Short:   "put back what the run in a report directory removed",
		Long:    restoreLong,
		Example: restoreExamples,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.config(cmd.Flags(), args, c.sio.env)
			if err != nil {
				return usage(err)
			}
			c.code = runRestore(cmd.Context(), cfg, c.sio)
			return nil
		},
	}
	f.define(cmd.Flags())
	annotate(cmd, restoreExits, true)
	return cmd
}

// watchCommand is `watch`.
func (c *cli) watchCommand() *cobra.Command {
	var f watchFlags
	cmd := &cobra.Command{
		Use:     "watch --reports ROOT [flags]",
		Short:   "re-check the recently offboarded: remove what they hold again",
		Long:    watchLong,
		Example: watchExamples,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := f.config(cmd.Flags(), args, c.sio.env)
			if err != nil {
				return usage(err)
			}
			c.code = runWatch(cmd.Context(), cfg, c.sio)
			return nil
		},
	}
	f.define(cmd.Flags())
	annotate(cmd, watchExits, true)
	return cmd
}

// demoCommand is `demo`.
func (c *cli) demoCommand() *cobra.Command {
	var d demo.Demo
	cmd := &cobra.Command{
		Use:     "demo [--dir DIR] [--tenants 2] [flags]",
		Short:   "the whole job against a simulated tenant: no Azure account needed",
		Long:    demoLong,
		Example: demoExamples,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			code, err := runDemo(cmd.Context(), d, args, c.sio)
			c.code = code
			return usage(err)
		},
	}
	defineDemo(cmd.Flags(), &d)
	annotate(cmd, demoExits, false)
	return cmd
}

// simulateCommand is `simulate`.
func (c *cli) simulateCommand() *cobra.Command {
	var f simulateFlags
	cmd := &cobra.Command{
		Use:     "simulate [--listen ADDR] [flags]",
		Short:   "serve a simulated tenant (Graph and ARM) over HTTP",
		Long:    simulateLong,
		Example: simulateExamples,
		Args:    cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sim, err := f.simulation(args)
			if err != nil {
				return usage(err)
			}
			c.code = runSimulate(cmd.Context(), sim, c.sio)
			return nil
		},
	}
	f.define(cmd.Flags())
	annotate(cmd, simulateExits, false)
	return cmd
}

// versionCommand is `version`.
func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "version, commit, Go version",
		Long:  "Prints offboard's version, the commit it was built from, and the Go release and platform.",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(c.sio.out, versionLine())
		},
	}
}

// completionCommand is `completion`.
func (c *cli) completionCommand() *cobra.Command {
	return &cobra.Command{
		Use:       "completion " + strings.Join(shells, "|"),
		Short:     "a shell completion script",
		Long:      completionLong,
		Example:   completionExamples,
		ValidArgs: shells,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || !slices.Contains(shells, args[0]) {
				return usage(fmt.Errorf("name one shell: %s", strings.Join(shells, "|")))
			}
			fmt.Fprint(c.sio.out, shellScript(cmd.Root(), args[0]))
			return nil
		},
	}
}

// singleDashLong turns -name and -name=value into --name and
// --name=value where name is a long flag of the command: the flag
// package offboard used before cobra accepted one dash as well as two,
// and scripts written then keep working. What follows a flag that takes
// a value is that value, never a flag, and "--" ends the flags.
func singleDashLong(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == root {
		return args
	}
	cmd.InitDefaultHelpFlag()
	out := make([]string, len(args))
	copy(out, args)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if a == "--" {
			break
		}
		if strings.HasPrefix(a, "--") {
			if f := cmd.Flags().Lookup(strings.SplitN(a[2:], "=", 2)[0]); f != nil && takesValue(f) && !strings.Contains(a, "=") {
				i++ // its value
			}
			continue
		}
		if len(a) < 3 || a[0] != '-' {
			continue
		}
		name, _, hasValue := strings.Cut(a[1:], "=")
		f := cmd.Flags().Lookup(name)
		if f == nil {
			continue
		}
		out[i] = "-" + a
		if takesValue(f) && !hasValue {
			i++
		}
	}
	return out
}

// takesValue says whether a flag takes a value (a bool flag does not).
func takesValue(f *pflag.Flag) bool { return f.NoOptDefVal == "" }

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"completion", shell}, stdio{in: strings.NewReader(""), out: &out, err: &errb,
		env: func(string) (string, bool) { return "", false }})
	if code != 0 || errb.Len() != 0 {
		t.Fatalf("completion %s: exit %d, %s", shell, code, errb.String())
	}
	return out.String()
}

func TestCompletionScriptsNameEveryCommandAndFlag(t *testing.T) {
	for _, shell := range shells {
		script := completionScript(t, shell)
		for _, want := range append(append([]string{}, commands...),
			"max-removals-per-principal", "graph-batch-size", "trust-unsigned", "within", "listen", "usgovdod") {
			if !strings.Contains(script, want) {
				t.Errorf("the %s script does not name %q", shell, want)
			}
		}
	}
	var errb bytes.Buffer
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}} {
		errb.Reset()
		if code := run(context.Background(), args, stdio{out: &bytes.Buffer{}, err: &errb}); code != exitUsage || !strings.Contains(errb.String(), "bash|zsh|fish|powershell") {
			t.Errorf("%v: exit %d, %q", args, code, errb.String())
		}
	}
}

// The bash script completes, as bash runs it: the commands, a command's
// flags, a flag's values.
func TestBashCompletionCompletes(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	path := filepath.Join(t.TempDir(), "offboard.bash")
	if err := os.WriteFile(path, []byte(completionScript(t, "bash")), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"offboard re", []string{"restore"}},
		{"offboard run --max-rem", []string{"--max-removals", "--max-removals-per-principal"}},
		{"offboard run --cloud us", []string{"usgov", "usgovdod"}},
		{"offboard restore --tr", []string{"--trust-unsigned"}},
		{"offboard completion p", []string{"powershell"}},
		{"offboard run --concurrency ", nil},
	} {
		script := `source "$1"; COMP_WORDS=($2); [[ "$2" == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); _offboard; echo "${COMPREPLY[*]}"`
		out, err := exec.Command(bash, "-c", script, "bash", path, tc.line).CombinedOutput()
		if err != nil {
			t.Fatalf("%q: %v\n%s", tc.line, err, out)
		}
		if got := strings.Fields(string(out)); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q completes to %q, want %q", tc.line, got, tc.want)
		}
	}
}

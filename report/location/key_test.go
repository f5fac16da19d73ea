package location

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A key file others can read or write is refused: whoever could read it
// could forge the records it authenticates. One only its owner can use
// is read; a missing one is created with mode 0600.
func TestKeyFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not Unix's")
	}
	rep, err := Parse(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "journal.key")
	env := func(name string) (string, bool) {
		if name == KeyFileEnv {
			return path, true
		}
		return "", false
	}
	jk, err := LoadKey(env, rep)
	if err != nil || !jk.Created {
		t.Fatalf("first use: %+v, %v; want a key file created", jk, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("created key file: %v, %v; want mode 0600", fi, err)
	}
	if jk, err := LoadKey(env, rep); err != nil || jk.Created {
		t.Fatalf("second use: %+v, %v; want the file read", jk, err)
	}
	for _, mode := range []os.FileMode{0o644, 0o620, 0o604} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKey(env, rep); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %v: %v, want a refusal", mode, err)
		}
	}
}

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

// fileEnv is an environment that names the key file path and nothing else.
func fileEnv(path string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if name == KeyFileEnv {
			return path, true
		}
		return "", false
	}
}

// chownOrSkip gives path to another user, or skips the test when this
// process may not (only root can give a file away).
func chownOrSkip(t *testing.T, path string, uid int) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("files have no Unix owner")
	}
	if err := os.Lchown(path, uid, -1); err != nil {
		t.Skipf("cannot give %s to user %d as user %d, so cannot plant another user's file: %v", path, uid, os.Geteuid(), err)
	}
}

// nobody is the user another local user's files are given to.
const nobody = 65534

// Issue 24 item 8: a key file is the job's own. One planted by another
// local user (mode 0600, theirs) held a key they chose, and signed a
// journal that made restore grant Global Administrator; it is refused,
// saying whose it is and what to do.
func TestKeyFileOwnedByAnotherUserIsRefused(t *testing.T) {
	rep, err := Parse(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.key")
	if err := os.WriteFile(path, []byte("a-key-another-user-chose-0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	chownOrSkip(t, path, nobody)
	jk, err := LoadKey(fileEnv(path), rep)
	if err == nil {
		t.Fatalf("another user's key file was used: %+v", jk)
	}
	for _, want := range []string{path, "owned by user 65534", "delete it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// Issue 24 item 8: a key file's directory that group or others can
// write (the world-writable ~/.config/offboard of the issue) is refused,
// whether the key file in it is there already or is to be created, and
// whoever owns the file; so is one owned by another user, or a link.
func TestKeyFileDirectoryOthersCanWriteIsRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not Unix's")
	}
	rep, err := Parse(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		mode    os.FileMode
		keyFile bool // a key file of the job's is in it already
		planted bool // a key file of another user's is in it
		want    string
	}{
		{"world-writable, empty", 0o777, false, false, "chmod go-w"},
		{"world-writable, job's key", 0o777, true, false, "chmod go-w"},
		{"world-writable, planted key (the issue)", 0o777, false, true, "chmod go-w"},
		{"sticky world-writable", 0o777 | os.ModeSticky, true, false, "chmod go-w"},
		{"group-writable", 0o770, true, false, "chmod go-w"},
		{"others may write, not read", 0o703, true, false, "chmod go-w"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "offboard")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "journal.key")
			if tc.keyFile || tc.planted {
				if err := os.WriteFile(path, []byte("a-key-0123456789abcdef-0123456789abcdef\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.planted {
				chownOrSkip(t, path, nobody)
			}
			if err := os.Chmod(dir, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadKey(fileEnv(path), rep)
			if err == nil || !strings.Contains(err.Error(), tc.want+" "+dir) {
				t.Fatalf("directory mode %v: %v; want a refusal saying %q", tc.mode, err, tc.want+" "+dir)
			}
			if !tc.keyFile && !tc.planted {
				if _, err := os.Lstat(path); err == nil {
					t.Error("a key file was created in a directory others can write")
				}
			}
		})
	}

	t.Run("owned by another user", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "offboard")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "journal.key")
		if err := os.WriteFile(path, []byte("a-key-0123456789abcdef-0123456789abcdef\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		chownOrSkip(t, dir, nobody)
		_, err := LoadKey(fileEnv(path), rep)
		if err == nil || !strings.Contains(err.Error(), "owned by user 65534") || !strings.Contains(err.Error(), "chown ") {
			t.Fatalf("a directory of another user's: %v; want a refusal naming its owner and chown", err)
		}
	})

	t.Run("a link", func(t *testing.T) {
		real := filepath.Join(t.TempDir(), "real")
		if err := os.Mkdir(real, 0o700); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(t.TempDir(), "offboard")
		if err := os.Symlink(real, link); err != nil {
			t.Fatal(err)
		}
		_, err := LoadKey(fileEnv(filepath.Join(link, "journal.key")), rep)
		if err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Fatalf("a directory that is a link: %v; want a refusal", err)
		}
		if _, err := os.Lstat(filepath.Join(real, "journal.key")); err == nil {
			t.Error("a key file was created through the link")
		}
	})
}

// Issue 24 item 8: OFFBOARD_JOURNAL_KEY set but empty (a secret that did
// not arrive) is a configuration error, not a fall back to a key file.
func TestEmptyJournalKeyVariableIsAnError(t *testing.T) {
	rep, err := Parse(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "journal.key")
	for _, v := range []string{"", "  \n"} {
		env := func(name string) (string, bool) {
			switch name {
			case KeyEnv:
				return v, true
			case KeyFileEnv:
				return path, true
			}
			return "", false
		}
		jk, err := LoadKey(env, rep)
		if err == nil || !strings.Contains(err.Error(), KeyEnv+" is set but empty") {
			t.Errorf("%s=%q: %+v, %v; want an error", KeyEnv, v, jk, err)
		}
		if _, err := os.Lstat(path); err == nil {
			t.Fatalf("%s=%q: a key file was created", KeyEnv, v)
		}
	}
}

// Issue 24 item 8: a key file inside the drop folder is refused like one
// inside the report location: HR's droppers write there. A single input
// file, or standard input, leaves the key file where it is.
func TestKeyFileInsideDropFolderIsRefused(t *testing.T) {
	rep, err := Parse(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	drop := t.TempDir()
	in, err := Parse(drop)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(drop, "journal.key"), filepath.Join(drop, "keys", "journal.key")} {
		_, err := LoadKey(fileEnv(path), rep, in)
		if err == nil || !strings.Contains(err.Error(), "inside the drop folder "+drop) {
			t.Errorf("key file %s: %v; want a refusal", path, err)
		}
		if _, err := os.Lstat(path); err == nil {
			t.Errorf("a key file was created in the drop folder: %s", path)
		}
	}
	file := filepath.Join(t.TempDir(), "departures.csv")
	if err := os.WriteFile(file, []byte("principal_id\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(filepath.Dir(file), "journal.key")
	for _, spec := range []string{file, "-"} {
		in, err := Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKey(fileEnv(keyFile), rep, in); err != nil {
			t.Errorf("input %s: %v; want the key file beside it used", spec, err)
		}
	}
}

// A key file the job creates, and the directories it creates for it,
// only the job's user can use.
func TestCreatedKeyFileAndDirectoryModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not Unix's")
	}
	rep, err := Parse(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	path := filepath.Join(base, "config", "offboard", "journal.key")
	jk, err := LoadKey(fileEnv(path), rep)
	if err != nil || !jk.Created {
		t.Fatalf("%+v, %v; want a key file created", jk, err)
	}
	for p, want := range map[string]os.FileMode{
		path: 0o600, filepath.Dir(path): 0o700, filepath.Join(base, "config"): 0o700,
	} {
		if fi, err := os.Lstat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %v", p, fi.Mode(), err, want)
		}
	}
}

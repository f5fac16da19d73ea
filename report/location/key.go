package location

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/offboard/offboard/report"
)

// The key that authenticates the records of report locations (issue 18):
// OFFBOARD_JOURNAL_KEY (a Container Apps secret), else a key file outside
// the report location, OFFBOARD_JOURNAL_KEY_FILE or
// {os.UserConfigDir()}/offboard/journal.key, created on first use.
const (
	KeyEnv     = "OFFBOARD_JOURNAL_KEY"
	KeyFileEnv = "OFFBOARD_JOURNAL_KEY_FILE"
)

// JournalKey is the key and where it came from, for the log.
type JournalKey struct {
	Key     *report.Key
	Source  string // the variable's name, or the key file's path
	Created bool   // the key file was created now
}

// LoadKey returns the key for a command working in the report location
// rep and reading inputs (run's --input: a drop folder, or a file). A key
// file inside the report location or a drop folder is refused: whoever
// can write them could read or replace it. OFFBOARD_JOURNAL_KEY set but
// empty is an error, not a fall back to a key file: a secret that did not
// arrive must not pass unnoticed.
func LoadKey(env func(string) (string, bool), rep Location, inputs ...Location) (JournalKey, error) {
	if v, ok := env(KeyEnv); ok {
		if strings.TrimSpace(v) == "" {
			return JournalKey{}, fmt.Errorf("%s is set but empty: give it the key (openssl rand -base64 32), "+
				"or unset it to use a key file (%s)", KeyEnv, KeyFileEnv)
		}
		k, err := report.NewKey([]byte(strings.TrimSpace(v)))
		if err != nil {
			return JournalKey{}, fmt.Errorf("%s: %w", KeyEnv, err)
		}
		return JournalKey{Key: k, Source: KeyEnv}, nil
	}
	path, ok := env(KeyFileEnv)
	if !ok || path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return JournalKey{}, fmt.Errorf("no %s, and no configuration directory for a key file (%v): set %s or %s",
				KeyEnv, err, KeyEnv, KeyFileEnv)
		}
		path = filepath.Join(dir, "offboard", "journal.key")
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return JournalKey{}, err
	}
	if err := outside(path, rep); err != nil {
		return JournalKey{}, err
	}
	for _, in := range inputs {
		if err := outsideOf(path, in, "input"); err != nil {
			return JournalKey{}, err
		}
	}
	secret, created, err := readOrCreateKeyFile(path)
	if err != nil {
		return JournalKey{}, err
	}
	k, err := report.NewKey(secret)
	if err != nil {
		return JournalKey{}, fmt.Errorf("key file %s: %w", path, err)
	}
	return JournalKey{Key: k, Source: path, Created: created}, nil
}

// outside refuses a key file inside a local report location.
func outside(keyPath string, loc Location) error { return outsideOf(keyPath, loc, "report location") }

// outsideOf refuses a key file inside the local location loc (what it
// is, for the message; an input that is a directory is a drop folder).
func outsideOf(keyPath string, loc Location, what string) error {
	if loc.isBlob || loc.spec == "" || loc.Stdin() {
		return nil
	}
	spec := loc.spec
	abs, err := filepath.Abs(spec)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(abs); what == "input" && err == nil && fi.IsDir() {
		what = "drop folder"
	}
	rel, err := filepath.Rel(resolved(abs), resolved(keyPath))
	if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("the journal key file %s is inside the %s %s, whose writers must not hold it: "+
			"set %s, or %s to a path elsewhere", keyPath, what, spec, KeyEnv, KeyFileEnv)
	}
	return nil
}

// resolved returns the absolute path p with the links of its longest
// existing ancestor resolved, so that two spellings of one place compare
// equal before either exists.
func resolved(p string) string {
	rest := ""
	for dir := p; ; dir = filepath.Dir(dir) {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, rest)
		}
		if filepath.Dir(dir) == dir {
			return p
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
}

// readOrCreateKeyFile reads the key file at path, or creates it with 32
// random bytes (base64) and mode 0600 when there is none, in a directory
// created with mode 0700 when there is none. Creation is atomic: a file
// written whole, then linked to path, so that two first runs at once end
// with one key. Whoever could have chosen the key must not be able to
// have: the file must be the job's own, and its directory writable by
// no one else (keyDirProblem).
func readOrCreateKeyFile(path string) ([]byte, bool, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("creating the journal key file's directory: %w", err)
	}
	if err := keyDirProblem(dir); err != nil {
		return nil, false, err
	}
	secret, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return secret, false, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, false, err
	}
	text := base64.StdEncoding.EncodeToString(raw)
	tmp, err := os.CreateTemp(dir, ".journal.key.*.tmp")
	if err != nil {
		return nil, false, fmt.Errorf("creating the journal key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(text + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("creating the journal key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		secret, err := readKeyFile(path) // another process created it first
		return secret, false, err
	} else if err != nil {
		return nil, false, fmt.Errorf("creating the journal key file: %w", err)
	}
	return []byte(text), true, nil
}

// keyDirProblem refuses a key file's directory that is a link, or that
// someone other than the job's user (or root) could write: they could
// put a key of theirs in it.
func keyDirProblem(dir string) error {
	fi, err := os.Lstat(dir)
	switch {
	case err != nil:
		return fmt.Errorf("the journal key file's directory: %w", err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("the journal key file's directory %s is a symbolic link, which is not followed: "+
			"set %s to a path in the directory it points to", dir, KeyFileEnv)
	case !fi.IsDir():
		return fmt.Errorf("the journal key file's directory %s is not a directory (%s)", dir, fi.Mode().Type())
	case runtime.GOOS == "windows":
		return nil
	}
	if uid, me, ok := owner(fi); ok && uid != me && uid != 0 {
		return fmt.Errorf("the journal key file's directory %s is owned by user %d, not by the user the job runs as (%d), "+
			"and its owner could put a key of theirs in it: chown %d %s, or set %s to a path in a directory of yours",
			dir, uid, me, me, dir, KeyFileEnv)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("the journal key file's directory %s can be written by group or others (mode %v), "+
			"who could put a key of theirs in it: chmod go-w %s", dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// readKeyFile reads a key file that is a regular file, the job's user's
// own, that only its owner can read and write: what it checks is the
// opened file, not the name.
func readKeyFile(path string) ([]byte, error) {
	f, err := OpenRegular(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("journal key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if uid, me, ok := owner(fi); ok && uid != me {
		return nil, fmt.Errorf("journal key file %s is owned by user %d, not by the user the job runs as (%d), "+
			"so its owner could have chosen the key: delete it (the job then creates its own), or chown %d it if its key is yours",
			path, uid, me, me)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("journal key file %s can be read or written by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("journal key file %s: %w", path, err)
	}
	return []byte(strings.TrimSpace(string(b))), nil
}

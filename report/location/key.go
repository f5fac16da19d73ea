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
// rep. A key file inside the report location is refused: whoever can
// write the location could read or replace it.
func LoadKey(env func(string) (string, bool), rep Location) (JournalKey, error) {
	if v, ok := env(KeyEnv); ok && v != "" {
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
func outside(keyPath string, loc Location) error {
	if loc.isBlob || loc.spec == "" {
		return nil
	}
	reportSpec := loc.spec
	rep, err := filepath.Abs(reportSpec)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(resolved(rep), resolved(keyPath))
	if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("the journal key file %s is inside the report location %s, whose writers must not hold it: "+
			"set %s, or %s to a path elsewhere", keyPath, reportSpec, KeyEnv, KeyFileEnv)
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
// random bytes (base64) and mode 0600 when there is none. Creation is
// atomic: a file written whole, then linked to path, so that two first
// runs at once end with one key.
func readOrCreateKeyFile(path string) ([]byte, bool, error) {
	secret, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return secret, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("creating the journal key file: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, false, err
	}
	text := base64.StdEncoding.EncodeToString(raw)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".journal.key.*.tmp")
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

// readKeyFile reads a key file that is a regular file only its owner can
// read and write.
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
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("journal key file %s can be read or written by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, fmt.Errorf("journal key file %s: %w", path, err)
	}
	return []byte(strings.TrimSpace(string(b))), nil
}

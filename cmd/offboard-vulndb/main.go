// Command offboard-vulndb builds the Go vulnerability database that `make
// vulncheck` hands to govulncheck (-db file://DIR), from the module zip of
// golang.org/x/vulndb as the Go module proxy serves it. The check then needs
// no access to vuln.go.dev, and reads a snapshot pinned by the Makefile's
// VULNDB_VERSION.
//
// The module's data/osv holds one OSV entry per vulnerability, <id>.json.
// What is written is the v1 layout (https://go.dev/security/vuln/database#api)
// that govulncheck reads from a directory, its index derived as x/vulndb's
// internal/database derives it:
//
//	index/db.json       {"modified"}: the latest modified time of any entry
//	index/modules.json  per module path, sorted: each entry's id, modified,
//	                    and fixed (the latest SEMVER fix, unless a later
//	                    introduced event re-opens the range)
//	index/vulns.json    per entry, sorted by id: id, modified, aliases
//	ID/<id>.json        the entry, byte for byte
//
// The entries in the module carry no dates (x/vulndb's gendb takes them from
// git history, which a module zip lacks), so an entry without a modified time
// gets the snapshot's commit time, read from the module's pseudo-version: an
// upper bound. govulncheck only shows index/db.json's time and filters
// entries by their withdrawn time, so nothing depends on more. Files are
// written uncompressed: a file:// database is read as .json only.
//
// The directory is built beside -out and renamed into place, so an
// interrupted build never looks finished. `make vulncheck` runs it as
//
//	offboard-vulndb -zip $GOMODCACHE/cache/download/golang.org/x/vulndb/@v/$VERSION.zip -out DIR
package main

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "offboard-vulndb: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fl := flag.NewFlagSet("offboard-vulndb", flag.ContinueOnError)
	fl.SetOutput(stderr)
	zipPath := fl.String("zip", "", "the golang.org/x/vulndb module zip (`go mod download -json` names it)")
	out := fl.String("out", "", "the database directory to create; must not exist")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *zipPath == "" || *out == "" || fl.NArg() > 0 {
		return errors.New("usage: offboard-vulndb -zip MODULE.zip -out DIR")
	}
	if _, err := os.Stat(*out); err == nil {
		return fmt.Errorf("%s already exists", *out)
	}

	zr, err := zip.OpenReader(*zipPath)
	if err != nil {
		return err
	}
	defer zr.Close()
	osv, snapshot, err := moduleOSV(&zr.Reader)
	if err != nil {
		return fmt.Errorf("%s: %w", *zipPath, err)
	}

	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(*out), ".vulndb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	n, err := build(osv, snapshot, tmp)
	if err != nil {
		return err
	}
	// MkdirTemp makes it 0700; the database is as readable as the rest of .tools.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "offboard-vulndb: %d entries as of %s in %s\n", n, snapshot.Format(time.RFC3339), *out)
	return nil
}

// moduleOSV returns the data/osv directory of a module zip, whose files all
// sit under "<module>@<version>/", and the commit time of that version.
func moduleOSV(zr *zip.Reader) (fs.FS, time.Time, error) {
	if len(zr.File) == 0 {
		return nil, time.Time{}, errors.New("empty zip")
	}
	name := zr.File[0].Name
	mod, rest, ok := strings.Cut(name, "@")
	version, _, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return nil, time.Time{}, fmt.Errorf("%q is not under <module>@<version>/", name)
	}
	root := mod + "@" + version
	snapshot, err := module.PseudoVersionTime(version)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", root, err)
	}
	osv, err := fs.Sub(zr, root+"/data/osv")
	return osv, snapshot, err
}

// entry is what the index needs of an OSV entry.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []osvRange `json:"ranges"`
	} `json:"affected"`
}

type osvRange struct {
	Type   string     `json:"type"`
	Events []osvEvent `json:"events"`
}

// osvEvent is one of a range's events: one of the two is set.
type osvEvent struct {
	Introduced string `json:"introduced"`
	Fixed      string `json:"fixed"`
}

// The index files' shapes, field for field those of x/vulndb's
// internal/database (and of x/vuln's internal/client, which reads them).
type (
	dbMeta struct {
		Modified stamp `json:"modified"`
	}
	moduleMeta struct {
		Path  string       `json:"path"`
		Vulns []moduleVuln `json:"vulns"`
	}
	moduleVuln struct {
		ID       string `json:"id"`
		Modified stamp  `json:"modified"`
		Fixed    string `json:"fixed,omitempty"`
	}
	vulnMeta struct {
		ID       string   `json:"id"`
		Modified stamp    `json:"modified"`
		Aliases  []string `json:"aliases,omitempty"`
	}
)

// stamp is a time written as RFC 3339 in UTC to the second, as the
// database at vuln.go.dev writes it.
type stamp time.Time

func (s stamp) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Time(s).UTC().Format(time.RFC3339))
}

// build writes the database for the OSV entries in osv (files <id>.json)
// into dir, which exists, and returns how many entries it holds. An entry
// without a modified time is given snapshot.
func build(osv fs.FS, snapshot time.Time, dir string) (int, error) {
	names, err := fs.Glob(osv, "*.json")
	if err != nil {
		return 0, err
	}
	if len(names) == 0 {
		return 0, errors.New("no OSV entries (*.json) found")
	}
	slices.Sort(names)
	for _, d := range []string{"index", "ID"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return 0, err
		}
	}

	var (
		db      dbMeta
		modules = map[string]*moduleMeta{}
		vulns   []vulnMeta
	)
	for _, name := range names {
		raw, err := fs.ReadFile(osv, name)
		if err != nil {
			return 0, err
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		// govulncheck asks for ID/<id>.json, so the name is the id.
		if e.ID == "" || name != e.ID+".json" {
			return 0, fmt.Errorf("%s: id %q does not match the file name", name, e.ID)
		}
		modified := e.Modified
		if modified.IsZero() {
			modified = snapshot
		}
		if modified.After(time.Time(db.Modified)) {
			db.Modified = stamp(modified)
		}
		vulns = append(vulns, vulnMeta{ID: e.ID, Modified: stamp(modified), Aliases: e.Aliases})
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &moduleMeta{Path: a.Package.Name}
				modules[a.Package.Name] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: stamp(modified), Fixed: latestFixed(a.Ranges)})
		}
		if err := os.WriteFile(filepath.Join(dir, "ID", name), raw, 0o644); err != nil {
			return 0, err
		}
	}

	// names are sorted, so vulns and each module's vulns are in id order.
	paths := make([]string, 0, len(modules))
	for p := range modules {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	mods := make([]*moduleMeta, len(paths))
	for i, p := range paths {
		mods[i] = modules[p]
	}
	for file, v := range map[string]any{"db.json": db, "modules.json": mods, "vulns.json": vulns} {
		b, err := json.Marshal(v)
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(dir, "index", file), b, 0o644); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}

// latestFixed is the version from which no version is affected, "" if
// there is none: the latest fixed event of the SEMVER ranges, unless an
// introduced event after it re-opens its range. It is x/vulndb's
// osvutils.LatestFixed (and x/vuln's semver.NonSupersededFix), which decide
// what govulncheck skips without reading the entry.
func latestFixed(ranges []osvRange) string {
	var latest string
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, e := range r.Events {
			if e.Fixed != "" && before(latest, e.Fixed) {
				latest = e.Fixed
			}
		}
		for _, e := range r.Events {
			if e.Introduced != "" && e.Introduced != "0" && before(latest, e.Introduced) {
				latest = ""
				break
			}
		}
	}
	return latest
}

// before reports whether OSV version v (semver without the "v") precedes
// w; "" precedes every version.
func before(v, w string) bool {
	return semver.Compare("v"+v, "v"+w) < 0
}

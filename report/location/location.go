// Package location is where offboard's files live: --input and --report
// parsed once, at the edge, into a Location (a local file or directory,
// standard input, a blob or a blob folder), and everything done with one:
// reading an input, opening a report location (a local directory, or a
// Blob Storage folder staged in one), mirroring the journal and publishing
// the report, listing a drop folder, and telling whether a report location
// holds a run that finished cleanly. Nothing outside this package reads a
// location string.
package location

import (
	"path/filepath"
	"strings"

	"github.com/offboard/offboard/report/location/blob"
)

// Location is a parsed --input or --report (or a file of a drop folder,
// or a report location under a report root). The zero value is no
// location (a flag not given). Its fields are unexported: the only way to
// one is Parse or a method of another, so a location string is parsed
// once.
type Location struct {
	spec   string
	isBlob bool
	blob   blob.Location
	// dropped: a file of a local drop folder, read only when it is a
	// regular file (not a link, a FIFO, a device).
	dropped bool
	// err is why a location made from a listing (a drop folder's blob,
	// its report location) cannot be used; every use of it fails so.
	err error
	// base is, for a local location made by Join, the location it was
	// joined to (the operator's): a report directory below it is reached
	// without following a link in any element (report.OpenIn).
	base string
}

// Parse tells a blob URL from a local path. A blob URL with a query (a
// SAS signature), user info, a fragment or a dot segment is refused, and
// the query is never repeated in the error.
func Parse(spec string) (Location, error) {
	l := parse(spec)
	if l.err != nil {
		return Location{}, l.err
	}
	return l, nil
}

// parse parses a location string: a flag's (Parse), or one made from a
// listing (a drop folder's blob, its report location), each once. The
// latter keeps its error: a blob name can make a URL that is refused.
func parse(spec string) Location {
	loc, isBlob, err := blob.Parse(spec)
	if err != nil {
		return Location{spec: spec, isBlob: isBlob, err: err}
	}
	return Location{spec: spec, isBlob: isBlob, blob: loc}
}

// String is the location as given: a path, "-", or a blob URL.
func (l Location) String() string { return l.spec }

// Empty reports whether no location was given.
func (l Location) Empty() bool { return l.spec == "" }

// IsBlob reports whether the location is in Blob Storage.
func (l Location) IsBlob() bool { return l.isBlob }

// Stdin reports whether the location is standard input ("-").
func (l Location) Stdin() bool { return !l.isBlob && l.spec == "-" }

// Join is the report location of one drop-folder file, name, under a
// report root (or a watch's, {root}/watch/{date}).
func (l Location) Join(name string) Location {
	if l.isBlob {
		return parse(strings.TrimSuffix(l.spec, "/") + "/" + name + "/")
	}
	base := l.base
	if base == "" {
		base = l.spec
	}
	return Location{spec: filepath.Join(l.spec, name), base: base}
}

// dirParts splits a local report location into the directory the operator
// named and the part below it that the job opens without following a
// link: every name Join added, or else the last element.
func (l Location) dirParts() (base, rel string) {
	spec := filepath.Clean(l.spec)
	if l.base != "" {
		if r, err := filepath.Rel(filepath.Clean(l.base), spec); err == nil && r != "." && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return filepath.Clean(l.base), r
		}
	}
	return filepath.Dir(spec), filepath.Base(spec)
}

// At names a file in a report location, for a person to read.
func (l Location) At(name string) string {
	if l.isBlob {
		return strings.TrimSuffix(l.spec, "/") + "/" + name
	}
	return filepath.Join(l.spec, name)
}

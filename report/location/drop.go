package location

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
)

// DropFile is one CSV of a drop folder.
type DropFile struct {
	Input    Location
	Name     string // file name without .csv
	Modified time.Time
	Refused  string // why the file is not read, if it is not
}

// dropNameProblem says why a drop-folder file's name (without .csv) cannot
// name a report location under the report root: a name of dots would be
// the root or its parent, a separator another place.
func dropNameProblem(name string) string {
	switch {
	case strings.Trim(name, ".") == "":
		return "its name without .csv is empty or only dots"
	case strings.ContainsAny(name, `/\`):
		return "its name holds a path separator"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "its name holds a control character"
	case strings.EqualFold(name, "watch"):
		// {root}/watch holds the watch's reports, which a watch never
		// reads as offboardings.
		return "its name is the watch's folder"
	}
	return ""
}

// DropFolder lists the CSVs of a drop folder, oldest first; ok is false
// when the input is a single file.
func (s *Storage) DropFolder(ctx context.Context, l Location) (files []DropFile, ok bool, err error) {
	if l.isBlob {
		return s.blobFolder(ctx, l)
	}
	if l.spec == "-" {
		return nil, false, nil
	}
	fi, err := os.Stat(l.spec)
	if err != nil || !fi.IsDir() {
		return nil, false, nil // ReadInput says what is wrong with it
	}
	entries, err := os.ReadDir(l.spec)
	if err != nil {
		return nil, true, err
	}
	for _, e := range entries {
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".csv") {
			continue
		}
		info, err := e.Info() // of the entry itself: a link is not followed
		if err != nil {
			return nil, true, err
		}
		name := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		f := DropFile{Input: Location{spec: filepath.Join(l.spec, e.Name()), dropped: true}, Name: name,
			Modified: info.ModTime(), Refused: dropNameProblem(name)}
		if f.Refused == "" && !info.Mode().IsRegular() {
			f.Refused = fmt.Sprintf("it is not a regular file (%s): a link, a FIFO or a device is not read", info.Mode().Type())
		}
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b DropFile) int {
		if c := a.Modified.Compare(b.Modified); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return files, true, nil
}

// blobFolder lists the CSVs of a blob folder, oldest first.
func (s *Storage) blobFolder(ctx context.Context, l Location) ([]DropFile, bool, error) {
	if !l.blob.Folder() {
		return nil, false, nil
	}
	store, err := s.store(l)
	if err != nil {
		return nil, true, err
	}
	objs, err := store.List(ctx, l.blob.Prefix(), ".csv")
	if err != nil {
		return nil, true, err
	}
	var files []DropFile
	for _, o := range objs {
		base := o.Name[strings.LastIndex(o.Name, "/")+1:]
		u := l.blob
		u.Path = o.Name
		name := strings.TrimSuffix(base, filepath.Ext(base))
		files = append(files, DropFile{Input: parse(u.String()), Name: name,
			Modified: o.Modified, Refused: dropNameProblem(name)})
	}
	return files, true, nil
}

// DirProblem says why the local report location of a drop-folder file
// cannot be used: something other than a directory is there (a planted
// link would send the report into another file's directory).
func (l Location) DirProblem() string {
	if l.isBlob {
		return ""
	}
	fi, err := os.Lstat(l.spec)
	switch {
	case err != nil:
		return "" // none yet: the run makes it
	case fi.Mode()&os.ModeSymlink != 0:
		return "it is a symbolic link"
	case !fi.IsDir():
		return "it is not a directory"
	}
	return ""
}

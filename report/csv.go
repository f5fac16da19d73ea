package report

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/offboard/offboard/job"
)

// header is report.csv's first line, as CONTRACT.md fixes it.
var header = []string{
	"principal_id", "user_principal_name", "reference", "source", "kind", "assignment_id",
	"role_definition_id", "role_name", "scope", "status", "detail", "attempts", "updated_at",
}

// WriteReport writes report.csv (a restore's: restore.csv) atomically: one
// row per item, sorted with job.Less, so that the same items in any order
// give the same bytes.
func (d *Dir) WriteReport(items []job.Item) error {
	if err := d.usable(); err != nil {
		return err
	}
	type row struct {
		it    *job.Item
		cells []string
	}
	rows := make([]row, len(items))
	for i := range items {
		rows[i] = row{&items[i], reportRow(&items[i])}
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := job.Compare(*a.it, *b.it); c != 0 {
			return c
		}
		// Rows job.Less cannot tell apart are ordered by their text, so
		// that the input order never shows.
		return slices.Compare(a.cells, b.cells)
	})
	return writeAtomic(d.root, d.files.report, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		for _, r := range rows {
			if err := cw.Write(r.cells); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// reportRow renders one item's cells.
func reportRow(it *job.Item) []string {
	id := it.PrincipalID
	if it.PrincipalIDAsGiven() {
		// An invalid row's id is what the input said, not a service's id.
		id = neutralize(id)
	}
	assignment := it.AssignmentID
	if it.AssignmentIDRefused() {
		// The service's id was refused: it is not an id, and may be
		// anything.
		assignment = neutralize(assignment)
	}
	updated := ""
	if !it.UpdatedAt.IsZero() {
		updated = it.UpdatedAt.UTC().Format(time.RFC3339)
	}
	cells := []string{
		id,
		neutralize(it.UPN),
		neutralize(it.Reference),
		it.Source,
		it.Kind,
		assignment,
		// A role definition id and a scope the service handed out are
		// checked before a row is planned, but a refused row keeps them
		// for the reader, and a valid one (a GUID, a path from "/") never
		// begins with what neutralize changes.
		neutralize(it.RoleDefinitionID),
		neutralize(it.RoleName),
		neutralize(it.Scope),
		string(it.State),
		neutralize(it.Detail),
		strconv.Itoa(it.Attempts),
		updated,
	}
	for i, c := range cells {
		cells[i] = validUTF8(c)
	}
	return cells
}

// neutralize prefixes a cell that a spreadsheet would run as a formula with
// a single quote.
func neutralize(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// validUTF8 replaces each byte that is not UTF-8 with U+FFFD, as
// encoding/json does, so that a row rebuilt from the journal is written with
// the same bytes as the row the journal was written from.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Temporary files are named like .report.csv.123456.tmp.
func tempPattern(name string) string { return "." + name + ".*.tmp" }

func isTemp(file, name string) bool {
	return strings.HasPrefix(file, "."+name+".") && strings.HasSuffix(file, ".tmp")
}

// writeAtomic replaces name in the open directory dir with what write
// produces: a temporary file in the same directory is written, synced and
// renamed over the old one, and the directory synced, so that a reader sees
// the old file or the new one. Every step is relative to dir, not a path.
func writeAtomic(dir *os.File, name string, write func(w io.Writer) error) (err error) {
	f, tmp, err := createTempAt(dir, tempPattern(name))
	if err != nil {
		return fmt.Errorf("report: write %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = removeAt(dir, tmp)
			err = fmt.Errorf("report: write %s: %w", name, err)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(filePerm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := renameAt(dir, tmp, name); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes the entries (a created or renamed file) of the open
// directory dir durable.
func syncDir(dir *os.File) error {
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("report: sync directory: %w", err)
	}
	return nil
}

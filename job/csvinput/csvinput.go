// Package csvinput reads HR's CSV of departing principals into job entries,
// checking every field before the job trusts it.
//
// Two kinds of failure are kept apart. A file that cannot be used as a whole
// (unreadable, too large, empty, no header, no key column, not CSV, not UTF-8)
// makes Read return an error wrapping ErrFile and no entries: the caller
// stops before any request. A record that cannot be used becomes an entry
// whose Problem names its line and what is wrong with it; the job reports it
// invalid and never sends a request for it.
package csvinput

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gocarina/gocsv"

	"github.com/offboard/offboard/job"
)

// ErrFile is wrapped by every error of Read: the file cannot be used as a
// whole.
var ErrFile = errors.New("unusable input file")

// MaxSize is the largest input Read accepts, in bytes. A nightly list of
// departures is kilobytes; the bound only stops a hostile or runaway stream
// from being read into memory without end.
const MaxSize = 64 << 20

// MaxRecords is the most records Read accepts. Without it a file of tiny
// rows within MaxSize would become tens of millions of entries and exhaust
// memory instead of failing cleanly.
const MaxRecords = 1_000_000

// The known columns, in the order the decoder hands them to gocsv.
const (
	colPrincipalID = iota
	colUPN
	colMail
	colEmployeeID
	colType
	colReference
	colEffectiveDate
	numColumns
)

// columnNames are the header names of the known columns, after normalising
// (lower case, spaces trimmed). They are also the tags of record.
var columnNames = [numColumns]string{
	colPrincipalID:   "principal_id",
	colUPN:           "user_principal_name",
	colMail:          "mail",
	colEmployeeID:    "employee_id",
	colType:          "principal_type",
	colReference:     "reference",
	colEffectiveDate: "effective_date",
}

// exportNames are the header names of an Entra ID users export (the
// portal's "Download users", Get-MgUser's properties), normalised, and the
// column each stands for (issue 27).
var exportNames = map[string]int{
	"id":                colPrincipalID,
	"userprincipalname": colUPN,
	"employeeid":        colEmployeeID,
}

// column is the known column a normalised header name stands for.
func column(name string) (int, bool) {
	for c, known := range columnNames {
		if name == known {
			return c, true
		}
	}
	c, ok := exportNames[name]
	return c, ok
}

// lineColumn is the extra column the decoder adds to carry each record's
// line to gocsv. The input's own header never reaches gocsv, so an input
// column of the same name cannot collide with it.
const lineColumn = "line"

// record is one row as gocsv decodes it: the known cells, untrimmed, and the
// line where the record starts.
type record struct {
	PrincipalID   string `csv:"principal_id"`
	UPN           string `csv:"user_principal_name"`
	Mail          string `csv:"mail"`
	EmployeeID    string `csv:"employee_id"`
	Type          string `csv:"principal_type"`
	Reference     string `csv:"reference"`
	EffectiveDate string `csv:"effective_date"`
	Line          int    `csv:"line"`
}

// Read reads the CSV in r, at most MaxSize bytes, and returns one entry per
// record that has at least one non-blank cell, in input order. Entries whose
// Problem is non-empty must not be acted on. The error, when not nil, wraps
// ErrFile and says what is wrong, on which line where it can.
func Read(r io.Reader) ([]job.Entry, error) {
	return read(r, MaxSize, MaxRecords)
}

// read is Read with its bounds as parameters, so that tests can reach them.
func read(r io.Reader, maxSize int64, maxRecords int) ([]job.Entry, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading: %w", ErrFile, err)
	}
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("%w: input larger than %s", ErrFile, byteSize(maxSize))
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: input is empty", ErrFile)
	}
	if line, ok := invalidUTF8Line(data); !ok {
		return nil, fmt.Errorf("%w: line %d: not valid UTF-8", ErrFile, line)
	}

	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1 // HR exports drop or add trailing cells
	// A space before an opening quote (`a, "b,c"`) is common in hand-edited
	// files; every cell is trimmed anyway, so accepting it changes nothing
	// else. Quotes inside unquoted cells are still an error.
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	dec, err := newDecoder(cr, maxRecords)
	if err != nil {
		return nil, err
	}
	var entries []job.Entry
	err = gocsv.UnmarshalDecoderToCallback(dec, func(rec record) {
		entries = append(entries, check(rec))
	})
	if err != nil {
		if errors.Is(err, ErrFile) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrFile, err)
	}
	return entries, nil
}

// decoder is the gocsv.SimpleDecoder between encoding/csv and gocsv. It reads
// and checks the input's header itself, then hands gocsv a fixed header (the
// known columns and the line) and every record projected onto it: known
// cells in that order, missing cells (short rows) as "", extra cells (long
// rows) and unknown columns dropped, blank records skipped. gocsv therefore
// never sees a short row, a duplicated or unknown header name, or the input's
// spelling of a name, so neither its package-level settings
// (SetHeaderNormalizer, FailIfUnmatchedStructTags, FailIfDoubleHeaderNames)
// nor its lenient header matching can change what is read.
type decoder struct {
	r          *csv.Reader
	index      [numColumns]int // the known column's position in the input, -1 when absent
	sentHeader bool
	records    int
	maxRecords int
	row        []string // reused: gocsv copies the cells out before asking for the next row
}

var _ gocsv.SimpleDecoder = (*decoder)(nil)

// newDecoder reads and checks the header row.
func newDecoder(r *csv.Reader, maxRecords int) (*decoder, error) {
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: no header row", ErrFile)
	}
	if err != nil {
		return nil, csvError(err)
	}
	line, _ := r.FieldPos(0)
	d := &decoder{r: r, maxRecords: maxRecords, row: make([]string, numColumns+1)}
	for i := range d.index {
		d.index[i] = -1
	}
	for pos, name := range header {
		c, ok := column(strings.ToLower(strings.TrimSpace(name)))
		if !ok {
			continue
		}
		if d.index[c] >= 0 {
			return nil, fmt.Errorf("%w: line %d: column %q appears twice in the header", ErrFile, line, columnNames[c])
		}
		d.index[c] = pos
	}
	if d.index[colPrincipalID] < 0 && d.index[colUPN] < 0 && d.index[colMail] < 0 && d.index[colEmployeeID] < 0 {
		return nil, fmt.Errorf("%w: line %d: the header has none of the key columns principal_id, user_principal_name, mail, employee_id "+
			"(nor Entra's export names Id, UserPrincipalName, Mail, EmployeeId); it reads %s%s", ErrFile, line, quoteHeader(header), semicolonHint(header))
	}
	return d, nil
}

// maxHeaderShown bounds how much of a header an error quotes.
const maxHeaderShown = 200

// quoteHeader is the header as read, quoted (a control character shows
// as an escape), cut at maxHeaderShown characters.
func quoteHeader(header []string) string {
	s := strings.Join(header, ",")
	if r := []rune(s); len(r) > maxHeaderShown {
		s = string(r[:maxHeaderShown]) + "…"
	}
	return fmt.Sprintf("%q", s)
}

// semicolonHint says so when the header looks ';'-separated (a
// spreadsheet saved as CSV in a locale whose list separator is ';').
func semicolonHint(header []string) string {
	if len(header) == 1 && strings.Contains(header[0], ";") {
		return ": it looks ';'-separated; save the file comma-separated"
	}
	return ""
}

// GetCSVRow returns the fixed header first, then one projected record per
// call, and io.EOF at the end.
func (d *decoder) GetCSVRow() ([]string, error) {
	if !d.sentHeader {
		d.sentHeader = true
		header := make([]string, 0, numColumns+1)
		header = append(header, columnNames[:]...)
		return append(header, lineColumn), nil
	}
	for {
		rec, err := d.r.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, csvError(err)
		}
		if blank(rec) {
			continue
		}
		d.records++
		if d.records > d.maxRecords {
			return nil, fmt.Errorf("%w: more than %d records", ErrFile, d.maxRecords)
		}
		line, _ := d.r.FieldPos(0)
		for c, pos := range d.index {
			d.row[c] = ""
			if pos >= 0 && pos < len(rec) {
				d.row[c] = rec[pos]
			}
		}
		d.row[numColumns] = strconv.Itoa(line)
		return d.row, nil
	}
}

// GetCSVRows returns every remaining row, as GetCSVRow would one by one.
func (d *decoder) GetCSVRows() ([][]string, error) {
	var rows [][]string
	for {
		row, err := d.GetCSVRow()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, append([]string(nil), row...))
	}
}

// blank reports whether every cell of rec is empty or white space.
func blank(rec []string) bool {
	for _, cell := range rec {
		if strings.TrimSpace(cell) != "" {
			return false
		}
	}
	return true
}

// csvError turns an encoding/csv error into a file error. A ParseError's
// text already names the line and column.
func csvError(err error) error {
	return fmt.Errorf("%w: not CSV: %w", ErrFile, err)
}

// invalidUTF8Line returns the 1-based line of the first byte that is not
// UTF-8, and false; or 0 and true when data is valid.
func invalidUTF8Line(data []byte) (int, bool) {
	if utf8.Valid(data) {
		return 0, true
	}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return 1 + bytes.Count(data[:i], []byte("\n")), false
		}
		i += size
	}
	return 0, true // not reached: utf8.Valid said there is an invalid byte
}

// byteSize writes n in the largest binary unit that divides it.
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

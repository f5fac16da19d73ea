package csvinput

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gocarina/gocsv"

	"github.com/offboard/offboard/job"
)

const (
	id1 = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	id2 = "11111111-2222-3333-4444-555555555555"
	// fullHeader has every known column and an unknown one.
	fullHeader = "principal_id,user_principal_name,principal_type,reference,effective_date,notes\n"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func readString(t *testing.T, s string) []job.Entry {
	t.Helper()
	entries, err := Read(strings.NewReader(s))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return entries
}

func sameEntries(t *testing.T, got, want []job.Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d:\n got  %+v\n want %+v", len(got), len(want), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d:\n got  %+v\n want %+v", i, got[i], want[i])
		}
	}
}

func TestReadEntries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []job.Entry
	}{
		{
			name: "header only",
			in:   fullHeader,
			want: nil,
		},
		{
			name: "header only without newline",
			in:   "principal_id",
			want: nil,
		},
		{
			name: "all columns",
			in: fullHeader +
				strings.ToUpper(id1) + ",alice@contoso.com,user,HR-1,2026-02-03,x\n",
			want: []job.Entry{{Line: 2, PrincipalID: id1, UPN: "alice@contoso.com", Type: "User", Reference: "HR-1", EffectiveDate: date(2026, 2, 3)}},
		},
		{
			name: "BOM and CRLF",
			in:   "\xef\xbb\xbfprincipal_id,reference\r\n" + id1 + ",HR-1\r\n" + id2 + ",HR-2\r\n",
			want: []job.Entry{
				{Line: 2, PrincipalID: id1, Reference: "HR-1"},
				{Line: 3, PrincipalID: id2, Reference: "HR-2"},
			},
		},
		{
			name: "header case, spaces and unknown columns",
			in:   "Employee Name, User_Principal_Name ,Cost Center,  PRINCIPAL_TYPE\n" + "Alice,alice@contoso.com,42,servicePRINCIPAL\n",
			want: []job.Entry{{Line: 2, UPN: "alice@contoso.com", Type: "ServicePrincipal"}},
		},
		{
			name: "columns in any order",
			in:   "reference,effective_date,principal_id\nHR-1,2026-12-31," + id1 + "\n",
			want: []job.Entry{{Line: 2, PrincipalID: id1, Reference: "HR-1", EffectiveDate: date(2026, 12, 31)}},
		},
		{
			name: "fields trimmed",
			in:   fullHeader + "  " + id1 + " ,\talice@contoso.com\t, Group ,  HR 1  , 2026-01-01 ,\n",
			want: []job.Entry{{Line: 2, PrincipalID: id1, UPN: "alice@contoso.com", Type: "Group", Reference: "HR 1", EffectiveDate: date(2026, 1, 1)}},
		},
		{
			name: "space before a quoted cell",
			in:   "principal_id, reference\n" + id1 + `, "HR-1, urgent"` + "\n",
			want: []job.Entry{{Line: 2, PrincipalID: id1, Reference: "HR-1, urgent"}},
		},
		{
			name: "reference may hold a tab and quotes",
			in:   "principal_id,reference\n" + id1 + ",\"a\tb \"\"c\"\"\"\n",
			want: []job.Entry{{Line: 2, PrincipalID: id1, Reference: "a\tb \"c\""}},
		},
		{
			name: "multi-line quoted cell in an unknown column keeps line numbers",
			in: fullHeader +
				id1 + ",,,HR-1,,\"first\nsecond\r\nthird\"\n" +
				id2 + ",,,HR-2,,\n",
			want: []job.Entry{
				{Line: 2, PrincipalID: id1, Reference: "HR-1"},
				{Line: 5, PrincipalID: id2, Reference: "HR-2"},
			},
		},
		{
			name: "blank lines and all-blank records ignored",
			in:   "\n\nprincipal_id,reference,notes\n\n" + id1 + ",HR-1\n,,\n \t , ,\n\r\n" + id2 + "\n",
			want: []job.Entry{
				{Line: 5, PrincipalID: id1, Reference: "HR-1"},
				{Line: 9, PrincipalID: id2},
			},
		},
		{
			name: "short rows",
			in: fullHeader +
				id1 + "\n" +
				id2 + ",bob@contoso.com\n" +
				",carol@contoso.com,User\n",
			want: []job.Entry{
				{Line: 2, PrincipalID: id1},
				{Line: 3, PrincipalID: id2, UPN: "bob@contoso.com"},
				{Line: 4, UPN: "carol@contoso.com", Type: "User"},
			},
		},
		{
			name: "short row misses a column the header places first",
			in:   "reference,user_principal_name\nHR-1\nHR-2,bob@contoso.com\n",
			want: []job.Entry{
				{Line: 2, Reference: "HR-1", Problem: "line 2: none of principal_id, user_principal_name, mail, employee_id is given"},
				{Line: 3, UPN: "bob@contoso.com", Reference: "HR-2"},
			},
		},
		{
			name: "long rows",
			in:   "principal_id,reference\n" + id1 + ",HR-1,extra," + id2 + ",more\n",
			want: []job.Entry{{Line: 2, PrincipalID: id1, Reference: "HR-1"}},
		},
		{
			name: "an input column named line is only an unknown column",
			in:   "line,principal_id\n999," + id1 + "\n",
			want: []job.Entry{{Line: 2, PrincipalID: id1}},
		},
		{
			name: "guest UPN",
			in:   "user_principal_name\nalice_contoso.com#EXT#@fabrikam.onmicrosoft.com\n",
			want: []job.Entry{{Line: 2, UPN: "alice_contoso.com#EXT#@fabrikam.onmicrosoft.com"}},
		},
		{
			name: "apostrophe and plus in a UPN",
			in:   "user_principal_name\no'brien+hr@contoso.com\n",
			want: []job.Entry{{Line: 2, UPN: "o'brien+hr@contoso.com"}},
		},
		{
			name: "both id and UPN kept",
			in:   "principal_id,user_principal_name\n" + id1 + ",alice@contoso.com\n",
			want: []job.Entry{{Line: 2, PrincipalID: id1, UPN: "alice@contoso.com"}},
		},
		{
			name: "duplicate lines are both returned",
			in:   "principal_id\n" + id1 + "\n" + id1 + "\n",
			want: []job.Entry{{Line: 2, PrincipalID: id1}, {Line: 3, PrincipalID: id1}},
		},
		{
			name: "valid rows go on after an invalid one",
			in:   "principal_id\nabc\n" + id1 + "\n",
			want: []job.Entry{
				{Line: 2, PrincipalID: "abc", Problem: `line 2: principal_id "abc" is not a GUID`},
				{Line: 3, PrincipalID: id1},
			},
		},
		{
			name: "duplicated unknown columns are fine",
			in:   "notes,principal_id,notes\nx," + id1 + ",y\n",
			want: []job.Entry{{Line: 2, PrincipalID: id1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sameEntries(t, readString(t, tt.in), tt.want)
		})
	}
}

// TestProblems puts each bad row after a record spanning three lines and a
// blank line, so that it sits on line 6 and a miscount shows.
func TestProblems(t *testing.T) {
	t.Parallel()
	const before = fullHeader + id2 + ",,,HR-0,,\"a\nb\nc\"\n\n"
	long := strings.Repeat("x", 100)
	tests := []struct {
		name string
		row  string // principal_id,user_principal_name,principal_type,reference,effective_date
		want string
	}{
		{"neither id nor UPN", ",,User,HR-1,2026-01-01", "line 6: none of principal_id, user_principal_name, mail, employee_id is given"},
		{"neither, spaces only", "  ,\t,User", "line 6: none of principal_id, user_principal_name, mail, employee_id is given"},
		{"not a GUID", "abc", `line 6: principal_id "abc" is not a GUID`},
		{"GUID too short", id1[:35], `line 6: principal_id "` + id1[:35] + `" is not a GUID`},
		{"braced GUID", "{" + id1 + "}", `line 6: principal_id "{` + id1 + `}" is not a GUID: braces are not accepted, write 8-4-4-4-12 hex digits`},
		{"GUID without dashes", strings.ReplaceAll(id1, "-", ""), `line 6: principal_id "` + strings.ReplaceAll(id1, "-", "") + `" is not a GUID: the dashes are missing, write 8-4-4-4-12 hex digits`},
		{"OData injection", "x' or 1 eq 1", `line 6: principal_id "x' or 1 eq 1" is not a GUID`},
		{"OData injection after a GUID", "00000000-0000-0000-0000-000000000000' or principalId ne '", `line 6: principal_id "00000000-0000-0000-0000-000000000000' or principalId ne '" is not a GUID`},
		{"GUID then newline", "\"" + id1 + "\nx\"", `line 6: principal_id "` + id1 + `\nx" is not a GUID`},
		{"control character quoted safely", "\"a\x1b[31mb\"", `line 6: principal_id "a\x1b[31mb" is not a GUID`},
		{"long value cut", long, `line 6: principal_id "` + long[:64] + `"… is not a GUID`},
		{"bad id before bad UPN", "abc,nope", `line 6: principal_id "abc" is not a GUID`},
		{"UPN without @", ",alice", `line 6: user_principal_name "alice" is not a valid UPN: no '@'`},
		{"UPN with two @", ",a@b@contoso.com", `line 6: user_principal_name "a@b@contoso.com" is not a valid UPN: more than one '@'`},
		{"UPN with space", ",al ice@contoso.com", `line 6: user_principal_name "al ice@contoso.com" is not a valid UPN: contains ' '`},
		{"UPN with slash", ",../../users@contoso.com", `line 6: user_principal_name "../../users@contoso.com" is not a valid UPN: contains '/'`},
		{"UPN with query", ",a?$select=id@contoso.com", `line 6: user_principal_name "a?$select=id@contoso.com" is not a valid UPN: contains '?'`},
		{"UPN with percent", ",a%2f@contoso.com", `line 6: user_principal_name "a%2f@contoso.com" is not a valid UPN: contains '%'`},
		{"UPN with hash", ",a#b@contoso.com", `line 6: user_principal_name "a#b@contoso.com" is not a valid UPN: '#' outside a guest's #EXT# suffix`},
		{"UPN with non-ASCII", ",josé@contoso.com", `line 6: user_principal_name "josé@contoso.com" is not a valid UPN: contains 'é'`},
		{"UPN with dot before @", ",alice.@contoso.com", `line 6: user_principal_name "alice.@contoso.com" is not a valid UPN: the part before the '@' ends with '.'`},
		{"UPN domain without dot", ",alice@contoso", `line 6: user_principal_name "alice@contoso" is not a valid UPN: the domain has no '.'`},
		{"UPN domain with underscore", ",alice@con_toso.com", `line 6: user_principal_name "alice@con_toso.com" is not a valid UPN: the domain contains '_'`},
		{"UPN local too long", "," + strings.Repeat("a", 65) + "@contoso.com", `line 6: user_principal_name "` + strings.Repeat("a", 64) + `"… is not a valid UPN: more than 64 characters before the '@'`},
		{"UPN guest without name", ",#EXT#@fabrikam.onmicrosoft.com", `line 6: user_principal_name "#EXT#@fabrikam.onmicrosoft.com" is not a valid UPN: nothing before #EXT#`},
		{"bad UPN with good id", id1 + ",x@y", `line 6: user_principal_name "x@y" is not a valid UPN: the domain has no '.'`},
		{"bad type", id1 + ",,Computer", `line 6: principal_type "Computer" is not User, ServicePrincipal or Group`},
		{"type with a non-ASCII fold", id1 + ",,Uſer", `line 6: principal_type "Uſer" is not User, ServicePrincipal or Group`},
		{"bad date, no padding", id1 + ",,,,2026-2-3", `line 6: effective_date "2026-2-3" is not a date written YYYY-MM-DD`},
		{"bad date, day out of range", id1 + ",,,,2026-02-30", `line 6: effective_date "2026-02-30" is not a date written YYYY-MM-DD`},
		{"bad date, with time", id1 + ",,,,2026-02-03T00:00:00Z", `line 6: effective_date "2026-02-03T00:00:00Z" is not a date written YYYY-MM-DD`},
		{"bad date, other order", id1 + ",,,,03/02/2026", `line 6: effective_date "03/02/2026" is not a date written YYYY-MM-DD`},
		{"reference too long", id1 + ",,," + strings.Repeat("é", 1025), `line 6: reference is 1025 characters long, more than 1024`},
		{"reference with NUL", id1 + ",,,a\x00b", `line 6: reference contains the control character U+0000`},
		{"reference with escape", id1 + ",,,a\x1bb", `line 6: reference contains the control character U+001B`},
		{"first problem reported", id1 + ",,Computer,,2026-2-3", `line 6: principal_type "Computer" is not User, ServicePrincipal or Group`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			entries := readString(t, before+tt.row+"\n")
			if len(entries) != 2 {
				t.Fatalf("got %d entries, want 2: %+v", len(entries), entries)
			}
			if p := entries[0].Problem; p != "" {
				t.Fatalf("first entry has problem %q", p)
			}
			e := entries[1]
			if e.Line != 6 {
				t.Errorf("Line = %d, want 6", e.Line)
			}
			if e.Problem != tt.want {
				t.Errorf("Problem =\n %s\nwant\n %s", e.Problem, tt.want)
			}
		})
	}
}

func TestMultiLineReferenceIsText(t *testing.T) {
	t.Parallel()
	entries := readString(t, fullHeader+id1+",,,\"HR-1\r\nsee HR-2\"\n")
	sameEntries(t, entries, []job.Entry{{Line: 2, PrincipalID: id1, Reference: "HR-1\nsee HR-2"}})
}

func TestProblemKeepsFieldsAsGiven(t *testing.T) {
	t.Parallel()
	entries := readString(t, fullHeader+" ABC ,Alice@Contoso.com ,user, HR-1 ,2026-2-3\n")
	want := job.Entry{Line: 2, PrincipalID: "ABC", UPN: "Alice@Contoso.com", Type: "user", Reference: "HR-1",
		Problem: `line 2: principal_id "ABC" is not a GUID`}
	sameEntries(t, entries, []job.Entry{want})
}

func TestReadFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // in the message
	}{
		{"empty", "", "input is empty"},
		{"BOM only", "\xef\xbb\xbf", "input is empty"},
		{"blank lines only", "\n\r\n\n", "no header row"},
		{"no id column", "name,reference\nalice,HR-1\n", "line 1: the header has none of the key columns principal_id, user_principal_name, mail, employee_id"},
		{"id column misspelt", "principal id,upn\n" + id1 + ",a@b.c\n", "none of the key columns principal_id, user_principal_name, mail, employee_id"},
		{"header after blank lines", "\n\nname\nx\n", "line 3: the header has none of the key columns"},
		{"duplicated known column", "principal_id,reference, Principal_ID\n", `line 1: column "principal_id" appears twice in the header`},
		{"duplicated optional column", "principal_id,reference,REFERENCE\n", `line 1: column "reference" appears twice in the header`},
		{"bare quote in header", "principal_id,ref\"erence\n", `not CSV: parse error on line 1, column 17: bare " in non-quoted-field`},
		{"bare quote", "principal_id,reference\n" + id1 + ",HR-1\n" + id2 + ",HR \"2\"\n", "line 3"},
		{"unterminated quote", "principal_id,reference\n" + id1 + ",\"HR-1\n" + id2 + ",HR-2\n", "extraneous or missing \" in quoted-field"},
		{"text after closing quote", "principal_id,reference\n" + id1 + ",\"HR\"-1\n", "line 2"},
		{"invalid UTF-8", "principal_id,reference\n" + id1 + ",HR-1\n" + id2 + ",\xff\xfe\n", "line 3: not valid UTF-8"},
		{"invalid UTF-8 inside a quoted cell", "principal_id,reference\n" + id1 + ",\"a\nb\xc3\"\n", "line 3: not valid UTF-8"},
		{"UTF-16", "\xff\xfep\x00r\x00", "line 1: not valid UTF-8"},
		{"binary", "\x00\x01\x02\x80", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			entries, err := Read(strings.NewReader(tt.in))
			if !errors.Is(err, ErrFile) {
				t.Fatalf("err = %v, want ErrFile", err)
			}
			if entries != nil {
				t.Errorf("entries = %+v, want none", entries)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestReadUnreadable(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	_, err := Read(iotest.ErrReader(boom))
	if !errors.Is(err, ErrFile) || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want ErrFile wrapping boom", err)
	}
	// The error arrives after some data.
	_, err = Read(iotest.TimeoutReader(strings.NewReader("principal_id\n" + id1 + "\n")))
	if !errors.Is(err, ErrFile) || !errors.Is(err, iotest.ErrTimeout) {
		t.Fatalf("err = %v, want ErrFile wrapping ErrTimeout", err)
	}
}

// endless is a stream that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func TestReadBounds(t *testing.T) {
	t.Parallel()
	t.Run("size", func(t *testing.T) {
		t.Parallel()
		_, err := read(endless{}, 1<<20, MaxRecords)
		if !errors.Is(err, ErrFile) || !strings.Contains(err.Error(), "input larger than 1 MiB") {
			t.Fatalf("err = %v, want ErrFile input larger than 1 MiB", err)
		}
		in := "principal_id\n" + id1 + "\n"
		if _, err := read(strings.NewReader(in), int64(len(in)), MaxRecords); err != nil {
			t.Fatalf("input of exactly the limit: %v", err)
		}
		if _, err := read(strings.NewReader(in), int64(len(in)-1), MaxRecords); !errors.Is(err, ErrFile) {
			t.Fatalf("input one byte over the limit: err = %v", err)
		}
	})
	t.Run("records", func(t *testing.T) {
		t.Parallel()
		in := "principal_id\n" + id1 + "\n\n,\n" + id2 + "\n" // blank records do not count
		entries, err := read(strings.NewReader(in), MaxSize, 2)
		if err != nil || len(entries) != 2 {
			t.Fatalf("at the limit: %d entries, err %v", len(entries), err)
		}
		_, err = read(strings.NewReader(in+"x\n"), MaxSize, 2)
		if !errors.Is(err, ErrFile) || !strings.Contains(err.Error(), "more than 2 records") {
			t.Fatalf("err = %v, want ErrFile more than 2 records", err)
		}
	})
}

// TestGocsvSettingsIgnored shows that gocsv's package-level settings, which
// another package of the binary might change, do not change what Read
// returns. It changes them, so it must not run in parallel with the others;
// Go runs parallel tests only after the sequential ones have finished.
func TestGocsvSettingsIgnored(t *testing.T) {
	t.Cleanup(func() {
		gocsv.SetHeaderNormalizer(gocsv.DefaultNameNormalizer())
		gocsv.FailIfUnmatchedStructTags = false
		gocsv.FailIfDoubleHeaderNames = false
	})
	gocsv.SetHeaderNormalizer(func(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "_", "")) })
	gocsv.FailIfUnmatchedStructTags = true
	gocsv.FailIfDoubleHeaderNames = true
	// Only one known column; an unknown duplicated one; a column the
	// normaliser would have matched to principal_id.
	in := "notes,notes,principalid,principal_id\nx,y," + id2 + "," + id1 + "\n"
	sameEntries(t, readString(t, in), []job.Entry{{Line: 2, PrincipalID: id1}})
}

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", `""`},
		{"abc", `"abc"`},
		{strings.Repeat("é", 64), `"` + strings.Repeat("é", 64) + `"`},
		{strings.Repeat("é", 65), `"` + strings.Repeat("é", 64) + `"…`},
		{"a\u202eb", `"a\u202eb"`},
		{"a\"b\\", `"a\"b\\"`},
	}
	for _, tt := range tests {
		if got := quote(tt.in); got != tt.want {
			t.Errorf("quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestCheckUPN(t *testing.T) {
	t.Parallel()
	valid := []string{
		"alice@contoso.com",
		"Alice.Smith@Contoso.COM",
		"o'brien@contoso.com",
		"a_b+c-d.e!f$g&h*i=j^k`l{m|n}o~p@sub.contoso.co.uk",
		"alice_contoso.com#EXT#@fabrikam.onmicrosoft.com",
		"alice_contoso.com#ext#@fabrikam.onmicrosoft.com",
		strings.Repeat("a", 64) + "@contoso.com",
		strings.Repeat("a", 200) + "_contoso.com#EXT#@fabrikam.onmicrosoft.com",
		"a@xn--bcher-kva.example",
		"a@1.2.3.4",
		"a@" + strings.Repeat("b", 63) + ".com",
	}
	for _, s := range valid {
		if why := checkUPN(s); why != "" {
			t.Errorf("checkUPN(%q) = %q, want valid", s, why)
		}
	}
	invalid := map[string]string{
		"":                                       "no '@'",
		"@":                                      "nothing before the '@'",
		"alice@":                                 "no domain after the '@'",
		"@contoso.com":                           "nothing before the '@'",
		".alice@contoso.com":                     "the part before the '@' starts with '.'",
		"al..ice@contoso.com":                    "the part before the '@' contains '..'",
		"alice@.contoso.com":                     "the domain starts with '.'",
		"alice@contoso.com.":                     "the domain ends with '.'",
		"alice@contoso..com":                     "the domain contains '..'",
		"alice@-contoso.com":                     "a label of the domain starts or ends with '-'",
		"alice@contoso-.com":                     "a label of the domain starts or ends with '-'",
		"alice@contoso.com/x":                    "the domain contains '/'",
		"a\\b@contoso.com":                       `contains '\\'`,
		"a\"b@contoso.com":                       `contains '"'`,
		"a<b@contoso.com":                        "contains '<'",
		"a>b@contoso.com":                        "contains '>'",
		"a\tb@contoso.com":                       `contains '\t'`,
		"a\u00a0b@contoso.com":                   `contains '\u00a0'`,
		"a@contoso.com\n":                        `the domain contains '\n'`,
		"a@bücher.example":                       "the domain contains 'ü'",
		"a#EXT#b@contoso.com":                    "'#' outside a guest's #EXT# suffix",
		"a#EXT##EXT#@contoso.com":                "'#' outside a guest's #EXT# suffix",
		"alice.#EXT#@contoso.com":                "the part before the '@' ends with '.'",
		"a@" + strings.Repeat("b", 64) + ".com":  "a label of the domain is longer than 63 characters",
		"a@" + strings.Repeat("b.", 127) + "com": "the domain is longer than 253 characters",
		strings.Repeat("a", 1020) + "#EXT#@c.com": "longer than 1024 bytes",
	}
	for s, want := range invalid {
		if got := checkUPN(s); got != want {
			t.Errorf("checkUPN(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestDecoderRowWidth checks the decoder's projection of short and long rows
// onto the fixed header, with the known columns out of order.
func TestDecoderRowWidth(t *testing.T) {
	t.Parallel()
	in := "reference,x,principal_id\n" + "a\n" + "a,b\n" + "a,b," + id1 + ",c,d,e\n"
	entries := readString(t, in)
	want := []job.Entry{
		{Line: 2, Reference: "a", Problem: "line 2: none of principal_id, user_principal_name, mail, employee_id is given"},
		{Line: 3, Reference: "a", Problem: "line 3: none of principal_id, user_principal_name, mail, employee_id is given"},
		{Line: 4, PrincipalID: id1, Reference: "a"},
	}
	sameEntries(t, entries, want)
}

func BenchmarkRead100k(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("\xef\xbb\xbfEmployee,Principal_ID,User_Principal_Name,Principal_Type,Reference,Effective_Date,Department\r\n")
	for i := range 100_000 {
		fmt.Fprintf(&buf, "Employee %d,%08x-0000-4000-8000-%012x,user%d@contoso.com,User,\"HR-%d, leaver\",2026-%02d-%02d,Sales\r\n",
			i, i, i, i, i, 1+i%12, 1+i%28)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		entries, err := Read(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if len(entries) != 100_000 || entries[99_999].Problem != "" {
			b.Fatalf("got %d entries, last %+v", len(entries), entries[len(entries)-1])
		}
	}
}

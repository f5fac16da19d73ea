package location

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/offboard/offboard/report"
)

// Join makes a drop-folder file's report location without parsing a
// string again: the value is the one Parse would make of its string.
func TestJoinIsWhatParseWouldMake(t *testing.T) {
	for _, root := range []string{
		"https://acct.blob.core.windows.net/reports/",
		"https://acct.blob.core.windows.net/reports/nightly",
		"https://acct.blob.core.windows.net/reports/nightly/",
		"http://127.0.0.1:10000/devstoreaccount1/reports/nightly/",
		"/var/reports",
		"reports/",
	} {
		joined := mustParse(t, root).Join("hr-2026-11-29")
		again := mustParse(t, joined.String())
		// Less base: what Join knows beyond the string, the part the
		// operator named (links below it are not followed).
		joined.base = ""
		if !reflect.DeepEqual(joined, again) {
			t.Errorf("%s: Join made %#v, Parse of its string %#v", root, joined, again)
		}
	}
}

// A query (a SAS signature) or a dot segment is refused, and the query is
// not in the error.
func TestParseRefusesQueryAndDotSegments(t *testing.T) {
	for _, spec := range []string{
		"https://acct.blob.core.windows.net/c/in.csv?sig=SECRET",
		"https://acct.blob.core.windows.net/c/a/../b/",
		"https://acct.blob.core.windows.net/c/./in.csv",
	} {
		_, err := Parse(spec)
		if err == nil {
			t.Errorf("%s accepted", spec)
		} else if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: the error repeats the query: %v", spec, err)
		}
	}
}

// A drop folder's blob whose name makes a URL that is refused (a query, a
// dot segment) gives a location every use of which fails, as its string
// would have: it is never read, nor written to.
func TestJoinedNameMakingARefusedURLFails(t *testing.T) {
	root := mustParse(t, "https://acct.blob.core.windows.net/reports/nightly/")
	s := &Storage{}
	for _, name := range []string{"hr?sig=SECRET", "hr#frag", "a/../b"} {
		l := root.Join(name)
		_, want := Parse(l.String())
		if want == nil {
			t.Fatalf("%s: %s parses", name, l)
		}
		if _, err := s.ReadInput(t.Context(), l); err == nil || err.Error() != want.Error() {
			t.Errorf("%s: read: %v, want %v", name, err, want)
		}
		if _, err := s.OpenReport(t.Context(), l, "", report.RunInfo{}); err == nil || err.Error() != want.Error() {
			t.Errorf("%s: opened: %v, want %v", name, err, want)
		}
	}
}

func TestUnderAndTheWatchDefault(t *testing.T) {
	for _, tc := range [][3]string{{"/r", "/r/w", "w"}, {"/r/", "/r/a/b", "a/b"}, {"/r", "/rx", ""}, {"/r", "/r", ""}, {"/r", "/", ""},
		{"https://a.blob.core.windows.net/reports/", "https://a.blob.core.windows.net/reports/w/", "w"},
		{"https://a.blob.core.windows.net/reports/", "https://a.blob.core.windows.net/other/w/", ""}, {"/r", "https://a.blob.core.windows.net/r/", ""}} {
		root, err1 := Parse(tc[0])
		l, err2 := Parse(tc[1])
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if got := l.Under(root); got != tc[2] {
			t.Errorf("Parse(%q).Under(%q) = %q, want %q", tc[1], tc[0], got, tc[2])
		}
	}
	// One place spelled relative and absolute.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := Parse("reports")
	abs, _ := Parse(filepath.Join(wd, "reports", "w"))
	if got := abs.Under(rel); got != "w" {
		t.Errorf("%q under %q = %q, want w", abs, rel, got)
	}
	root, _ := Parse("/r")
	if got := root.Join("watch").Join("2026-03-04"); got.String() != filepath.Join("/r", "watch", "2026-03-04") || got.Under(root) != "watch/2026-03-04" {
		t.Errorf("the watch's default report location: %q", got)
	}
	broot, _ := Parse("https://a.blob.core.windows.net/reports/")
	if got := broot.Join("watch").Join("2026-03-04"); got.String() != "https://a.blob.core.windows.net/reports/watch/2026-03-04/" || got.Under(broot) != "watch/2026-03-04" {
		t.Errorf("the watch's default blob report location: %q", got)
	}
}

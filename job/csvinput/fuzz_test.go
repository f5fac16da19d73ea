package csvinput

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/offboard/offboard/job"
)

// FuzzRead checks what the job relies on, whatever the input: Read does not
// panic; it returns either an ErrFile error and no entries, or entries each of
// which is either marked with a problem or safe to act on.
func FuzzRead(f *testing.F) {
	// More seeds are in testdata/fuzz/FuzzRead.
	f.Add([]byte(fullHeader + id1 + ",alice@contoso.com,User,HR-1,2026-02-03,x\n"))
	f.Add([]byte("user_principal_name\nalice_contoso.com#EXT#@fabrikam.onmicrosoft.com\n"))
	f.Add([]byte("principal_id\nx' or 1 eq 1\n"))
	f.Add([]byte("mail,employee_id\no'brien@contoso.com,E1'\n,1234567890123456789\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Read(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrFile) {
				t.Fatalf("error does not wrap ErrFile: %v", err)
			}
			if entries != nil {
				t.Fatalf("error %v with %d entries", err, len(entries))
			}
			return
		}
		last := 0
		for _, e := range entries {
			if e.Line < 1 || e.Line <= last {
				t.Fatalf("line %d after line %d", e.Line, last)
			}
			last = e.Line
			if e.Problem != "" {
				checkProblem(t, e)
				continue
			}
			if e.PrincipalID == "" && e.UPN == "" && e.Mail == "" && e.EmployeeID == "" {
				t.Fatalf("line %d: valid entry without a key", e.Line)
			}
			for _, k := range []job.UserKey{{Kind: job.KeyMail, Value: e.Mail}, {Kind: job.KeyEmployeeID, Value: e.EmployeeID}} {
				if k.Value != "" && job.CheckKey(k) != "" {
					t.Fatalf("line %d: valid entry with %s %q", e.Line, k.Kind, k.Value)
				}
			}
			if e.PrincipalID != "" && (!job.IsGUID(e.PrincipalID) || e.PrincipalID != strings.ToLower(e.PrincipalID)) {
				t.Fatalf("line %d: valid entry with principal_id %q", e.Line, e.PrincipalID)
			}
			if e.UPN != "" && checkUPN(e.UPN) != "" {
				t.Fatalf("line %d: valid entry with UPN %q", e.Line, e.UPN)
			}
			switch e.Type {
			case "", "User", "ServicePrincipal", "Group":
			default:
				t.Fatalf("line %d: valid entry with type %q", e.Line, e.Type)
			}
			if d := e.EffectiveDate; !d.IsZero() && d != time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC) {
				t.Fatalf("line %d: effective date %v is not UTC midnight", e.Line, d)
			}
			if utf8.RuneCountInString(e.Reference) > maxReference || strings.ContainsFunc(e.Reference, func(r rune) bool {
				return r != '\t' && r != '\n' && r != '\r' && unicode.IsControl(r)
			}) {
				t.Fatalf("line %d: valid entry with reference %q", e.Line, e.Reference)
			}
			for _, s := range []string{e.PrincipalID, e.UPN, e.Mail, e.EmployeeID, e.Type, e.Reference} {
				if s != strings.TrimSpace(s) {
					t.Fatalf("line %d: field %q not trimmed", e.Line, s)
				}
			}
		}
	})
}

// checkProblem checks that a problem names its line and is safe to print.
func checkProblem(t *testing.T, e job.Entry) {
	t.Helper()
	if !strings.HasPrefix(e.Problem, "line "+strconv.Itoa(e.Line)+": ") {
		t.Fatalf("problem %q does not start with its line %d", e.Problem, e.Line)
	}
	if !utf8.ValidString(e.Problem) || strings.ContainsFunc(e.Problem, func(r rune) bool {
		return unicode.IsControl(r) || !strconv.IsPrint(r)
	}) {
		t.Fatalf("problem %q is not safe to print", e.Problem)
	}
}

// FuzzUPN checks that checkUPN never accepts what must not reach a URL path
// or a $filter, and that its reasons are safe to print.
func FuzzUPN(f *testing.F) {
	for _, s := range []string{
		"alice@contoso.com",
		"o'brien@contoso.com",
		"alice_contoso.com#EXT#@fabrikam.onmicrosoft.com",
		"a#EXT#@b.c",
		"../x@contoso.com",
		"a@b@c.d",
		"a%2F@contoso.com",
		"josé@contoso.com",
		"a@contoso.com\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		why := checkUPN(s)
		if why != "" {
			if strings.ContainsFunc(why, func(r rune) bool { return !strconv.IsPrint(r) }) {
				t.Fatalf("checkUPN(%q) = %q: not safe to print", s, why)
			}
			return
		}
		if len(s) > maxUPN || strings.Count(s, "@") != 1 {
			t.Fatalf("accepted %q: length or '@'", s)
		}
		local, domain, _ := strings.Cut(s, "@")
		if local == "" || domain == "" || !strings.Contains(domain, ".") {
			t.Fatalf("accepted %q: empty part or domain without '.'", s)
		}
		if strings.ContainsAny(s, "/\\?%\"<>,;:()[] \t\r\n") {
			t.Fatalf("accepted %q: forbidden character", s)
		}
		for _, r := range s {
			if r >= utf8.RuneSelf || unicode.IsControl(r) {
				t.Fatalf("accepted %q: rune %U", s, r)
			}
		}
		if i := strings.IndexByte(s, '#'); i >= 0 && !(i == len(local)-len(guestSuffix) && strings.EqualFold(local[i:], guestSuffix)) {
			t.Fatalf("accepted %q: '#' outside the guest suffix", s)
		}
		for _, part := range []string{local, domain} {
			if part[0] == '.' || part[len(part)-1] == '.' {
				t.Fatalf("accepted %q: leading or trailing '.'", s)
			}
		}
		if strings.ContainsFunc(domain, func(r rune) bool { return !isAlnum(r) && r != '-' && r != '.' }) {
			t.Fatalf("accepted %q: domain character", s)
		}
	})
}

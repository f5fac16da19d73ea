package csvinput

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/offboard/offboard/job"
)

// Limits of the checks. The UPN limits are looser than Entra ID's own (64
// characters before the @, 48 after, 113 in all) so that no real UPN, a
// guest's included, is refused, yet tight enough that nothing absurd goes
// into a request.
const (
	// maxUPN is the whole UPN, in bytes: Active Directory's rangeUpper for
	// userPrincipalName.
	maxUPN = 1024
	// maxLocal is the part before the @ of a member UPN (RFC 5321's limit
	// and Entra's). A guest's local part (mail with "@" written "_", then
	// "#EXT#") holds a whole address, so only maxUPN bounds it.
	maxLocal = 64
	// maxDomain and maxLabel are DNS's limits (RFC 1035).
	maxDomain = 253
	maxLabel  = 63
	// maxReference is the reference's length, in characters.
	maxReference = 1024
	// maxQuoted is how much of a value a problem quotes, in characters.
	maxQuoted = 64
)

// guestSuffix ends the local part of a B2B guest's UPN:
// alice_contoso.com#EXT#@fabrikam.onmicrosoft.com.
const guestSuffix = "#EXT#"

// principalTypes are the canonical principal_type values; the input may
// write them in any case.
var principalTypes = [...]string{"User", "ServicePrincipal", "Group"}

// canonicalType returns the canonical spelling of a principal type, or
// false.
func canonicalType(s string) (string, bool) {
	for _, t := range principalTypes {
		// Equal lengths keep the match to ASCII: EqualFold alone would take
		// "Uſer" (long s) for "User".
		if len(s) == len(t) && strings.EqualFold(s, t) {
			return t, true
		}
	}
	return "", false
}

// check turns a decoded record into an entry. Every field is trimmed and
// checked; the first problem found, in the order no-key, principal_id,
// user_principal_name, mail, employee_id, principal_type, effective_date, reference, is the
// entry's Problem. Fields are kept as given (trimmed) even when there is a
// problem, so that the report can show the invalid row; only valid values
// are normalised.
func check(rec record) job.Entry {
	e := job.Entry{
		Line:        rec.Line,
		PrincipalID: strings.TrimSpace(rec.PrincipalID),
		UPN:         strings.TrimSpace(rec.UPN),
		Mail:        strings.TrimSpace(rec.Mail),
		EmployeeID:  strings.TrimSpace(rec.EmployeeID),
		Type:        strings.TrimSpace(rec.Type),
		Reference:   strings.TrimSpace(rec.Reference),
	}
	date := strings.TrimSpace(rec.EffectiveDate)
	problem := func(format string, args ...any) job.Entry {
		e.Problem = fmt.Sprintf("line %d: ", e.Line) + fmt.Sprintf(format, args...)
		return e
	}

	if e.PrincipalID == "" && e.UPN == "" && e.Mail == "" && e.EmployeeID == "" {
		return problem("none of principal_id, user_principal_name, mail, employee_id is given")
	}
	if e.PrincipalID != "" {
		if !job.IsGUID(e.PrincipalID) {
			return problem("principal_id %s is not a GUID%s", quote(e.PrincipalID), guidHint(e.PrincipalID))
		}
		e.PrincipalID = job.NormalizeGUID(e.PrincipalID)
	}
	if e.UPN != "" {
		if why := checkUPN(e.UPN); why != "" {
			return problem("user_principal_name %s is not a valid UPN: %s", quote(e.UPN), why)
		}
	}
	// A mail or employee id goes into a $filter as a string literal: the
	// directory escapes its quotes, and CheckKey keeps out what no literal
	// may carry.
	for _, k := range []job.UserKey{{Kind: job.KeyMail, Value: e.Mail}, {Kind: job.KeyEmployeeID, Value: e.EmployeeID}} {
		if k.Value == "" {
			continue
		}
		if why := job.CheckKey(k); why != "" {
			return problem("%s %s cannot be looked up: %s", k.Kind, quote(k.Value), why)
		}
	}
	if e.Type != "" {
		canonical, ok := canonicalType(e.Type)
		if !ok {
			return problem("principal_type %s is not User, ServicePrincipal or Group", quote(e.Type))
		}
		e.Type = canonical
	}
	if date != "" {
		// Parse alone accepts nothing looser than the layout for these
		// fields, but the round trip makes "exactly YYYY-MM-DD" explicit.
		t, err := time.Parse(time.DateOnly, date)
		var buf [len(time.DateOnly)]byte
		if err != nil || string(t.AppendFormat(buf[:0], time.DateOnly)) != date {
			return problem("effective_date %s is not a date written YYYY-MM-DD", quote(date))
		}
		e.EffectiveDate = t.UTC()
	}
	if n := utf8.RuneCountInString(e.Reference); n > maxReference {
		return problem("reference is %d characters long, more than %d", n, maxReference)
	}
	for _, r := range e.Reference {
		// Tabs and line breaks are text in a quoted cell (an HR note over
		// several lines); any other control character is not.
		if r != '\t' && r != '\n' && r != '\r' && unicode.IsControl(r) {
			return problem("reference contains the control character %U", r)
		}
	}
	return e
}

// guidHint says why a near-GUID is refused, for the two forms HR tools are
// known to write.
func guidHint(s string) string {
	if len(s) >= 2 && s[0] == '{' && s[len(s)-1] == '}' && job.IsGUID(s[1:len(s)-1]) {
		return ": braces are not accepted, write 8-4-4-4-12 hex digits"
	}
	if len(s) == 32 && strings.Trim(s, "0123456789abcdefABCDEF") == "" {
		return ": the dashes are missing, write 8-4-4-4-12 hex digits"
	}
	return ""
}

// checkUPN returns why s is not a plausible user principal name, or "" when
// it is. s is local@domain with exactly one @. The local part is ASCII
// letters, digits and localChars; '#' only in a guest's "#EXT#" suffix;
// no leading, trailing or doubled '.'. The domain is ASCII letters, digits,
// '-' and '.', at least two labels, no label empty, longer than maxLabel, or
// starting or ending with '-'. White space, control characters, non-ASCII
// letters and / \ ? % " < > , ; : ( ) [ ] @ are therefore all refused.
func checkUPN(s string) string {
	if len(s) > maxUPN {
		return fmt.Sprintf("longer than %d bytes", maxUPN)
	}
	switch strings.Count(s, "@") {
	case 0:
		return "no '@'"
	case 1:
	default:
		return "more than one '@'"
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]

	if local == "" {
		return "nothing before the '@'"
	}
	base, guest := local, false
	if n := len(local) - len(guestSuffix); n >= 0 && strings.EqualFold(local[n:], guestSuffix) {
		base, guest = local[:n], true
		if base == "" {
			return "nothing before " + guestSuffix
		}
	}
	for _, r := range base {
		if !isLocalRune(r) {
			if r == '#' {
				return "'#' outside a guest's " + guestSuffix + " suffix"
			}
			return "contains " + strconv.QuoteRune(r)
		}
	}
	if why := dots(base, "the part before the '@'"); why != "" {
		return why
	}
	if !guest && len(local) > maxLocal {
		return fmt.Sprintf("more than %d characters before the '@'", maxLocal)
	}

	if domain == "" {
		return "no domain after the '@'"
	}
	for _, r := range domain {
		if !isDomainRune(r) {
			return "the domain contains " + strconv.QuoteRune(r)
		}
	}
	if why := dots(domain, "the domain"); why != "" {
		return why
	}
	if len(domain) > maxDomain {
		return fmt.Sprintf("the domain is longer than %d characters", maxDomain)
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "the domain has no '.'"
	}
	for _, l := range labels {
		if len(l) > maxLabel {
			return fmt.Sprintf("a label of the domain is longer than %d characters", maxLabel)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "a label of the domain starts or ends with '-'"
		}
	}
	return ""
}

// dots checks the '.' placement of a UPN's part (non-empty).
func dots(s, what string) string {
	switch {
	case s[0] == '.':
		return what + " starts with '.'"
	case s[len(s)-1] == '.':
		return what + " ends with '.'"
	case strings.Contains(s, ".."):
		return what + " contains '..'"
	}
	return ""
}

// localChars are the punctuation allowed before the @: RFC 5322's atext
// less '#' (kept for the guest suffix), '/' and '?' (they would change a
// URL path), and '%' (it would be unescaped a second time).
const localChars = "'_+-.!$&*=^`{|}~"

func isLocalRune(r rune) bool {
	return isAlnum(r) || (r < utf8.RuneSelf && strings.IndexByte(localChars, byte(r)) >= 0)
}

func isDomainRune(r rune) bool {
	return isAlnum(r) || r == '-' || r == '.'
}

func isAlnum(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
}

// quote returns s for a message: at most maxQuoted characters, then "…"
// outside the quotes when cut, with every control or non-printable
// character escaped as strconv.Quote does.
func quote(s string) string {
	n := 0
	for i := range s {
		if n == maxQuoted {
			return strconv.Quote(s[:i]) + "…"
		}
		n++
	}
	return strconv.Quote(s)
}

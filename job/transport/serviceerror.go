package transport

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/offboard/offboard/job"
)

// ServiceError is a service's final answer to a request, Graph's or
// ARM's: the status, and the service's own code and message. Each
// adapter turns its SDK's error into one at its edge; everything after
// that (outcomes, the licence test, a row's detail) reads this type.
type ServiceError struct {
	Status  int
	Code    string
	Message string
}

func (e *ServiceError) Error() string {
	var b strings.Builder
	if e.Status != 0 {
		b.WriteString("HTTP " + strconv.Itoa(e.Status))
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return strings.TrimSpace(b.String())
}

// Is makes a 404 match job.ErrNotFound and a 401 job.ErrUnauthorized.
func (e *ServiceError) Is(target error) bool {
	return target == job.ErrNotFound && e.Status == http.StatusNotFound ||
		target == job.ErrUnauthorized && e.Status == http.StatusUnauthorized
}

// HasStatus reports whether err is the service answering status.
func HasStatus(err error, status int) bool {
	var se *ServiceError
	return errors.As(err, &se) && se.Status == status
}

// ErrorFromBody is the service's error answer with status and body: the
// code and message of either error shape, {"error": {...}} or Graph's
// older {"odata.error": {...}}; a body in neither becomes a short,
// printable message, and an empty one the status's text.
func ErrorFromBody(status int, body []byte) *ServiceError {
	code, msg := ErrorText(body)
	if code == "" && msg == "" {
		msg = http.StatusText(status)
	}
	return &ServiceError{Status: status, Code: code, Message: msg}
}

// ErrorText reads an error body in either shape; anything else becomes a
// short, printable message.
func ErrorText(body []byte) (code, message string) {
	var shapes struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Legacy *struct {
			Code    string          `json:"code"`
			Message json.RawMessage `json:"message"`
		} `json:"odata.error"`
	}
	if json.Unmarshal(body, &shapes) == nil {
		switch {
		case shapes.Error != nil:
			return shapes.Error.Code, shapes.Error.Message
		case shapes.Legacy != nil:
			var m struct {
				Value string `json:"value"`
			}
			var s string
			switch {
			case json.Unmarshal(shapes.Legacy.Message, &m) == nil:
				s = m.Value
			case json.Unmarshal(shapes.Legacy.Message, &s) == nil:
			}
			return shapes.Legacy.Code, s
		}
	}
	return "", Printable(string(body), 200)
}

// Printable keeps a message from a service safe for a log or a report:
// no control characters, at most n runes.
func Printable(s string, n int) string {
	var b strings.Builder
	for i, r := range []rune(strings.TrimSpace(s)) {
		if i == n {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) {
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String()
}

// LicenceCode is what Graph's PIM endpoints (roleEligibilitySchedules,
// the schedule requests, PIM for Groups) and ARM's
// (Microsoft.Authorization/roleEligibilitySchedules and its requests)
// answer, with 400, in a tenant without Microsoft Entra ID P2 or
// Governance.
const LicenceCode = "AadPremiumLicenseRequired"

// LicenceMissing reports whether err (one request's error, or a
// job.ListingErrors holding some) is a service saying the tenant lacks
// the licence PIM needs, and if so the unavailability of part it means.
// The code decides, with the status both services send it with (400),
// never the message's wording.
func LicenceMissing(err error, part string) (*job.UnavailableError, bool) {
	var le job.ListingErrors
	if errors.As(err, &le) {
		for _, e := range le {
			if ue, ok := LicenceMissing(e, part); ok {
				return ue, true
			}
		}
		return nil, false
	}
	var se *ServiceError
	if !errors.As(err, &se) || se.Status != http.StatusBadRequest || !strings.EqualFold(se.Code, LicenceCode) {
		return nil, false
	}
	return &job.UnavailableError{Part: part, Reason: strings.TrimPrefix(se.Code+": "+se.Message, ": ")}, true
}

// Deref is what p points at, or T's zero value for nil: the SDKs' models
// hold every field as a pointer.
func Deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

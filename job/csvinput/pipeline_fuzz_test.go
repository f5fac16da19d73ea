package csvinput

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"iter"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/offboard/offboard/job"
)

// FuzzInputToReport runs the job's whole input path on arbitrary bytes:
// the CSV reader, then the runner (admission, UPN resolution, listing,
// planning and removal) over fakes of the services. Whatever the file,
// nothing that is not a GUID reaches a listing or a removal, no UPN that
// could change a request's path reaches the directory, every line is
// accounted for by a row, no row appears twice, and the exit code is 0 or 1.
func FuzzInputToReport(f *testing.F) {
	f.Add([]byte(fullHeader + id1 + ",alice@contoso.com,User,HR-1,2026-02-03,x\n"))
	f.Add([]byte("principal_id,user_principal_name,effective_date\n" + id1 + ",,2099-01-01\n,bob@contoso.com,\n,ghost@contoso.com,\n"))
	f.Add([]byte("user_principal_name\nalice_contoso.com#EXT#@fabrikam.onmicrosoft.com\n"))
	f.Add([]byte("principal_id,reference\nx' or 1 eq 1,=cmd\n" + strings.ToUpper(id1) + ",dup\n" + id1 + ",dup\n"))
	f.Add([]byte("\ufeffPrincipal_ID ,USER_PRINCIPAL_NAME\r\n,\"a/../b@c.d\"\r\n,\"a%2F@c.d\"\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Read(bytes.NewReader(data))
		if err != nil {
			return // FuzzRead checks the errors
		}
		src := &fuzzSource{t: t}
		r := &job.Runner{
			Sources:     []job.Source{src},
			Directory:   fuzzDirectory{t: t},
			Recorder:    fuzzRecorder{},
			Now:         func() time.Time { return time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC) },
			Concurrency: 3,
			MaxRemovals: 1 << 30,
			Protect:     map[string]bool{},
		}
		res, err := r.Run(context.Background(), entries)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		if c := res.ExitCode(); c != 0 && c != 1 {
			t.Fatalf("exit code %d", c)
		}
		keys := map[job.Key]bool{}
		principals := map[string]bool{}
		lines := map[int]bool{}
		for _, it := range res.Items {
			if keys[it.Key()] {
				t.Fatalf("two rows with key %+v", it.Key())
			}
			keys[it.Key()] = true
			principals[it.PrincipalID] = true
			lines[it.Line] = true
		}
		for _, e := range entries {
			switch {
			case e.Problem != "" || e.PrincipalID == "":
				// Invalid, deferred or resolved by UPN: a row names the
				// line, or the principal it resolved to.
				if !lines[e.Line] && !resolvedTo(e, principals) {
					t.Fatalf("line %d (%+v) has no row", e.Line, e)
				}
			case !principals[e.PrincipalID]:
				t.Fatalf("line %d: principal %s has no row", e.Line, e.PrincipalID)
			}
		}
	})
}

// resolve is the fake directory's answer: a GUID made from the key, or ""
// (not a user of the tenant) for about one key in four.
func resolve(key string) string {
	h := sha256.Sum256([]byte(strings.ToLower(key)))
	if h[0]%4 == 0 {
		return ""
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// resolvedTo reports whether a key of the line resolves to a principal
// that has a row.
func resolvedTo(e job.Entry, principals map[string]bool) bool {
	for _, k := range []job.UserKey{{Kind: job.KeyUPN, Value: e.UPN}, {Kind: job.KeyMail, Value: e.Mail}, {Kind: job.KeyEmployeeID, Value: e.EmployeeID}} {
		if k.Value != "" && principals[resolve(k.String())] {
			return true
		}
	}
	return false
}

type fuzzDirectory struct{ t *testing.T }

func (d fuzzDirectory) Resolve(_ context.Context, keys []job.UserKey) map[job.UserKey]job.Resolution {
	out := map[job.UserKey]job.Resolution{}
	for _, k := range keys {
		if k.Value == "" || strings.ContainsFunc(k.Value, unicode.IsControl) || job.CheckKey(k) != "" {
			d.t.Errorf("%s %q reached the directory", k.Kind, k.Value)
		}
		if k.Kind == job.KeyUPN && (strings.ContainsAny(k.Value, "/\\?%\"<>,;:()[] ") ||
			strings.Contains(strings.Replace(strings.ToUpper(k.Value), "#EXT#@", "@", 1), "#")) {
			d.t.Errorf("UPN %q reached the directory", k.Value)
		}
		var res job.Resolution
		if id := resolve(k.String()); id != "" {
			res.Users = []job.DirectoryUser{{ID: id, UPN: k.Value}}
		}
		out[k] = res
	}
	return out
}

// fuzzSource holds one assignment per principal.
type fuzzSource struct {
	t *testing.T
}

func (*fuzzSource) Name() string   { return job.SourceDirectory }
func (*fuzzSource) GroupSize() int { return 4 }

func (s *fuzzSource) Find(_ context.Context, ps []job.Principal) ([]job.Assignment, error) {
	var out []job.Assignment
	for _, p := range ps {
		if !job.IsGUID(p.ID) || p.ID != strings.ToLower(p.ID) {
			s.t.Errorf("principal id %q reached a listing", p.ID)
		}
		out = append(out, job.Assignment{Source: job.SourceDirectory, ID: "a-" + p.ID, PrincipalID: p.ID, Scope: "/"})
	}
	return out, nil
}

func (s *fuzzSource) Remove(_ context.Context, a job.Assignment) (job.Outcome, error) {
	if !job.IsGUID(a.PrincipalID) {
		s.t.Errorf("principal id %q reached a removal", a.PrincipalID)
	}
	return job.Outcome{State: job.Removed}, nil
}

type fuzzRecorder struct{}

func (fuzzRecorder) Plan(iter.Seq[job.Item]) error { return nil }
func (fuzzRecorder) Applying() error               { return nil }
func (fuzzRecorder) Outcome(job.Item) error        { return nil }

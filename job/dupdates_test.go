package job

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The same principal on two lines with two effective dates: a warning
// names both lines and dates, the earlier date applies (today: acted on
// now; both later: deferred to the earlier), and the row keeps both
// references.
func TestDuplicateLinesWithDifferentDates(t *testing.T) {
	today := day1.Truncate(24 * time.Hour)
	later, latest := today.AddDate(0, 0, 7), today.AddDate(0, 0, 14)
	for _, tc := range []struct {
		name    string
		entries []Entry
		want    string // alice's row: "state detail"
		key     string
	}{
		{"today and later", []Entry{
			{Line: 2, PrincipalID: alice, Reference: "HR-1", EffectiveDate: today},
			{Line: 3, PrincipalID: alice, Reference: "HR-2", EffectiveDate: later}}, "removed ", alice + "/directory/a1"},
		{"later and today", []Entry{
			{Line: 2, PrincipalID: alice, Reference: "HR-1", EffectiveDate: later},
			{Line: 3, PrincipalID: alice, Reference: "HR-2"}}, "removed ", alice + "/directory/a1"},
		{"both later", []Entry{
			{Line: 2, PrincipalID: alice, Reference: "HR-1", EffectiveDate: latest},
			{Line: 3, PrincipalID: alice, Reference: "HR-2", EffectiveDate: later}}, "deferred effective " + later.Format(time.DateOnly), alice + "//"},
		{"by UPN", []Entry{
			{Line: 2, UPN: "alice@contoso.com", Reference: "HR-1", EffectiveDate: later},
			{Line: 3, UPN: "alice@contoso.com", Reference: "HR-2", EffectiveDate: today}}, "removed ", alice + "/directory/a1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.WarnLevel)
			src := &fakeSource{held: map[string][]string{alice: {"a1"}}}
			r := newRunner(src, &fakeRecorder{}, day1)
			r.Log = zap.New(core)
			res, err := r.Run(context.Background(), tc.entries)
			if err != nil {
				t.Fatal(err)
			}
			got := states(res.Items)
			if got[tc.key] != tc.want || len(got) != 1 {
				t.Errorf("rows %v, want %s: %q", got, tc.key, tc.want)
			}
			for _, it := range res.Items {
				if it.Reference != "HR-1; HR-2" {
					t.Errorf("row %s/%s reference %q, want both", it.Source, it.AssignmentID, it.Reference)
				}
			}
			warned := logs.FilterMessageSnippet("different effective dates").All()
			if len(warned) != 1 {
				t.Fatalf("%d warnings, want 1: %v", len(warned), logs.All())
			}
			said := fmt.Sprint(warned[0].ContextMap()["effective_dates"])
			for _, want := range []string{"line 2: ", "line 3: "} {
				if !strings.Contains(said, want) {
					t.Errorf("the warning's dates %q lack %q", said, want)
				}
			}
		})
	}
}

// The same date twice (or one line) warns of nothing.
func TestDuplicateLinesWithOneDateDoNotWarn(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	src := &fakeSource{held: map[string][]string{alice: {"a1"}}}
	r := newRunner(src, &fakeRecorder{}, day1)
	r.Log = zap.New(core)
	if _, err := r.Run(context.Background(), []Entry{{Line: 2, PrincipalID: alice, Reference: "HR-1"}, {Line: 3, PrincipalID: alice, Reference: "HR-2"}}); err != nil {
		t.Fatal(err)
	}
	if n := logs.FilterMessageSnippet("different effective dates").Len(); n != 0 {
		t.Errorf("%d warnings for one date", n)
	}
}

package main

import (
	"testing"

	"github.com/offboard/offboard/report"
)

// testJournalKey authenticates the records of every end-to-end test's
// report locations (OFFBOARD_JOURNAL_KEY, set by tenant.command).
const testJournalKey = "offboard-end-to-end-tests-journal-key-0123456789"

// e2eKey is testJournalKey, for a test that opens a report directory
// itself.
func e2eKey(t testing.TB) *report.Key {
	t.Helper()
	k, err := report.NewKey([]byte(testJournalKey))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

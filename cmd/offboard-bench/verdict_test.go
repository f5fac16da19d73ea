package main

import (
	"io"
	"slices"
	"testing"
)

// A row that misses its target, by its ratio or by a target of its own,
// fails the run; -explore keeps the exit 0 of exploratory runs.
func TestAMissedTargetFailsTheRun(t *testing.T) {
	rows := []row{
		{scenario: "budget-bound", ratio: 1.005, target: 1.05},
		{scenario: "latency-bound", ratio: 0.13, target: 0.10},
		{scenario: "resolution directory", ratio: 1.2, note: "target ≤ 100 round trips: MISSED", missed: true},
		{scenario: "resolution pim", ratio: 1},
	}
	missed := printTable(io.Discard, rows)
	if want := []string{"latency-bound", "resolution directory"}; !slices.Equal(missed, want) {
		t.Errorf("missed %q, want %q", missed, want)
	}
	if err := verdict(missed, false); err == nil {
		t.Error("a run that missed two targets succeeds")
	}
	if err := verdict(missed, true); err != nil {
		t.Errorf("-explore: %v", err)
	}
	if err := verdict(printTable(io.Discard, rows[:1]), false); err != nil {
		t.Errorf("every target met: %v", err)
	}
}

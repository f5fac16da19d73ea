package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseSimulateLine(t *testing.T) {
	url, tok, ok := parseSimulateLine("Simulated tenant serving Graph (/v1.0) and ARM at http://127.0.0.1:40123", "")
	if !ok || url != "http://127.0.0.1:40123" || tok != "" {
		t.Fatalf("serving line: %q %q %v", url, tok, ok)
	}
	if _, _, ok := parseSimulateLine("Token:      abc.def.ghi", ""); ok {
		t.Fatal("a token before the URL was taken")
	}
	url, tok, ok = parseSimulateLine("Token:      abc.def.ghi", url)
	if !ok || url != "http://127.0.0.1:40123" || tok != "abc.def.ghi" {
		t.Fatalf("token line: %q %q %v", url, tok, ok)
	}
	if _, _, ok := parseSimulateLine("Sample CSV: /tmp/x.csv (3 departing principals; protect )", url); ok {
		t.Fatal("another line was taken")
	}
}

func TestWritePhase(t *testing.T) {
	log := strings.Join([]string{
		`{"level":"info","ts":"2026-11-23T18:55:38.100000000Z","msg":"run starting"}`,
		`{"level":"info","ts":"2026-11-23T18:55:39.250000000Z","msg":"outcome","status":"removed"}`,
		`{"level":"info","ts":"2026-11-23T18:55:39.000000000Z","msg":"outcome","status":"removed"}`,
		`{"level":"info","ts":"2026-11-23T18:55:41.500000000Z","msg":"outcome","status":"removed"}`,
		`{"level":"info","ts":"2026-11-23T18:55:41.600000000Z","msg":"run finished"}`,
	}, "\n")
	d, n, err := writePhase(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || d != 2500*time.Millisecond {
		t.Fatalf("%d outcomes over %s, want 3 over 2.5s", n, d)
	}
}

func TestPrintTable(t *testing.T) {
	var b bytes.Buffer
	printTable(&b, []row{
		{scenario: "budget-bound", figure: "write phase 11.05s", bound: "11.00s", ratio: 1.005, target: 1.05},
		{scenario: "latency-bound", figure: "job 2.70s", bound: "20.70s", ratio: 0.13, target: 0.10},
		{scenario: "resolution", figure: "67 round trips", bound: "67", ratio: 1},
	})
	out := b.String()
	for _, want := range []string{"scenario", "budget-bound", "met", "MISSED", "≤ 1.05", "1.005"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// The summary puts the service models side by side, each ratio and 429
// count beside its goal; a model that misses either is MISSED.
func TestPrintGoals(t *testing.T) {
	var b bytes.Buffer
	printGoals(&b, []goal{
		{told: "Graph writes 4×", model: "strict", ratio: 1.02, maxRatio: 1.15, throttled: 7, sent: 1207, most: 12.07},
		{told: "Graph writes 4×", model: "independent", ratio: 1.02, maxRatio: 1.15, throttled: 13, sent: 1213, most: 12.13},
		{told: "Graph writes 4×", model: "slow", ratio: 1.2, maxRatio: 1.15, throttled: 0, sent: 1200, most: 12},
		{told: "ARM deletes 10×", model: "arm", ratio: 1.4, throttled: 3, sent: 153, most: 3},
	})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("%d lines, want a title, a header and 4 goals:\n%s", len(lines), b.String())
	}
	for i, want := range []string{"met", "MISSED", "MISSED", "met"} {
		line := lines[i+2]
		if got := strings.Fields(line)[len(strings.Fields(line))-1]; got != want {
			t.Errorf("line %q ends %q, want %q", line, got, want)
		}
	}
	for _, want := range []string{"≤ 1.15", "7 of 1207 (0.58%)", "≤ 12.1", "3 of 153", "≤ 3.0"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	var none bytes.Buffer
	if printGoals(&none, nil); none.Len() != 0 {
		t.Errorf("no goals measured, yet a summary: %q", none.String())
	}
}

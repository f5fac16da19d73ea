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

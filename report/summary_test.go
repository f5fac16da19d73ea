package report

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestSummaryRoundTrip(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		name   string
		in     Summary
		golden string
	}{
		{
			name: "finished",
			in: Summary{
				RunID: "run-1", InputSHA256: inputA,
				StartedAt:  time.Date(2025, 3, 14, 10, 0, 0, 5, cet),
				FinishedAt: time.Date(2025, 3, 14, 10, 5, 0, 0, cet),
				Counts:     map[string]int{"removed": 3, "failed": 1},
				ExitCode:   1,
			},
			golden: "summary.json",
		},
		{
			name: "guard",
			in: Summary{
				RunID: "run-2", InputSHA256: inputA,
				StartedAt:  time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC),
				FinishedAt: time.Date(2025, 3, 14, 10, 0, 1, 0, time.UTC),
				Counts:     map[string]int{"planned": 1200},
				ExitCode:   3,
				Guard:      "max-removals: 1200 planned write actions, more than 1000",
			},
			golden: "summary-guard.json",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			d := mustOpen(t, dir, inputA, runInfo("r", false))
			input := tc.in
			input.Counts = map[string]int{}
			for k, v := range tc.in.Counts {
				input.Counts[k] = v
			}
			if err := d.WriteSummary(input); err != nil {
				t.Fatal(err)
			}
			mustClose(t, d)
			if !reflect.DeepEqual(input.Counts, tc.in.Counts) {
				t.Error("WriteSummary changed its argument's counts")
			}

			b, err := os.ReadFile(filepath.Join(dir, summaryName))
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(golden, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, want) {
				t.Errorf("summary.json:\n%s\nwant (%s):\n%s", b, golden, want)
			}

			got, err := ReadSummary(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !got.StartedAt.Equal(tc.in.StartedAt) || !got.FinishedAt.Equal(tc.in.FinishedAt) {
				t.Errorf("times %v, %v; want %v, %v", got.StartedAt, got.FinishedAt, tc.in.StartedAt, tc.in.FinishedAt)
			}
			if len(got.Counts) != 9 {
				t.Errorf("counts %v, want a key for each of the 9 statuses", got.Counts)
			}
			for k, v := range tc.in.Counts {
				if got.Counts[k] != v {
					t.Errorf("counts[%s] = %d, want %d", k, got.Counts[k], v)
				}
			}
			got.StartedAt, got.FinishedAt, got.Counts = time.Time{}, time.Time{}, nil
			want2 := tc.in
			want2.StartedAt, want2.FinishedAt, want2.Counts = time.Time{}, time.Time{}, nil
			if !reflect.DeepEqual(got, want2) {
				t.Errorf("ReadSummary = %+v, want %+v", got, want2)
			}
		})
	}
}

func TestReadSummaryErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadSummary(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no summary: %v, want fs.ErrNotExist", err)
	}
	if err := os.WriteFile(filepath.Join(dir, summaryName), []byte(`{"run_id": 3}`), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSummary(dir); !errors.Is(err, ErrCorrupt) {
		t.Errorf("bad summary: %v, want ErrCorrupt", err)
	}
}

package report

import (
	"fmt"
	"testing"

	"github.com/offboard/offboard/job"
)

func BenchmarkWriteReport(b *testing.B) {
	items := make([]job.Item, 100_000)
	for i := range items {
		it := item(fmt.Sprintf("%08x-0000-0000-0000-000000000000", i*7919%100_000), "directory", fmt.Sprintf("assignment-%d", i), job.Removed)
		it.Detail = "removed, with a comma"
		it.Attempts = 1
		items[i] = it
	}
	d := mustOpen(b, b.TempDir(), inputA, runInfo("bench", false))
	defer mustClose(b, d)
	b.ReportAllocs()
	for b.Loop() {
		if err := d.WriteReport(items); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOutcome(b *testing.B) {
	d := mustOpen(b, b.TempDir(), inputA, runInfo("bench", false))
	defer mustClose(b, d)
	it := item("b0000000-0000-0000-0000-000000000002", "directory", "assignment", job.Removed)
	it.Attempts = 1
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Outcome(it); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOutcomeConcurrent is BenchmarkOutcome from 16 goroutines, as
// the runner's workers call it: outcomes recorded at the same time share
// an fsync, so ns/op falls well below BenchmarkOutcome's.
func BenchmarkOutcomeConcurrent(b *testing.B) {
	d := mustOpen(b, b.TempDir(), inputA, runInfo("bench", false))
	defer mustClose(b, d)
	it := item("b0000000-0000-0000-0000-000000000002", "directory", "assignment", job.Removed)
	it.Attempts = 1
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := d.Outcome(it); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

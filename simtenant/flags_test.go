package simtenant

import (
	"flag"
	"io"
	"testing"
	"time"
)

// simulate --profile strict serves issue 14's second model whatever the
// write flags say; an unknown profile is a usage error.
func TestSimulateProfileFlag(t *testing.T) {
	parse := func(args ...string) (Config, error) {
		fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var tf Flags
		tf.Register(fs, 10)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return tf.Config()
	}
	cfg, err := parse("--profile", "strict", "--write-rate", "5", "--latency", "1s")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WriteRate != 100 || cfg.WriteBurst != 100 || cfg.Latency != 20*time.Millisecond || cfg.LimitSignal != 0.5 {
		t.Fatalf("--profile strict: write %v/%d, latency %v, limit signal %v; want 100/100, 20ms, 0.5",
			cfg.WriteRate, cfg.WriteBurst, cfg.Latency, cfg.LimitSignal)
	}
	cfg, err = parse("--write-rate", "5")
	if err != nil || cfg.WriteRate != 5 || cfg.LimitSignal != 0 {
		t.Fatalf("default profile: %+v, %v", cfg, err)
	}
	// The early signal can be turned off on any profile, and the
	// independent profile (issue 29) never sends it.
	if cfg, err = parse("--profile", "strict", "--limit-signal", "0"); err != nil || cfg.WriteRate != 100 || cfg.LimitSignal != 0 {
		t.Fatalf("--profile strict --limit-signal 0: %+v, %v", cfg, err)
	}
	if cfg, err = parse("--profile", "independent"); err != nil || cfg.WriteRate != 100 || cfg.WriteBurst != 100 ||
		cfg.Latency != 20*time.Millisecond || cfg.LimitSignal != 0 {
		t.Fatalf("--profile independent: %+v, %v", cfg, err)
	}
	if _, err := parse("--limit-signal", "2"); err == nil {
		t.Fatal("--limit-signal 2 accepted")
	}
	if _, err := parse("--profile", "lenient"); err == nil {
		t.Fatal("--profile lenient accepted")
	}
}

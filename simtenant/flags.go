package simtenant

import (
	"flag"
	"fmt"
	"time"
)

// Flags are a simulated tenant's knobs as command-line flags, shared by
// `offboard demo` and `offboard simulate`.
type Flags struct {
	Seed        uint64
	Principals  int // departing principals in the sample CSV
	latency     time.Duration
	jitter      time.Duration
	faultRate   float64
	writeRate   float64
	writeBurst  int
	readRU      int
	pageSize    int
	armPageSize int
	armDelete   float64
	armBurst    int
	legacyError bool
	profile     string
	limitSignal float64
	tenantID    string
}

// Register defines the flags on fs; principals is --principals' default.
func (tf *Flags) Register(fs *flag.FlagSet, principals int) {
	fs.Uint64Var(&tf.Seed, "seed", 1, "seed of the generated tenant, its faults and its ids")
	fs.StringVar(&tf.tenantID, "tenant-id", "", "the tenant id (the tid of its token; default: derived from --seed): "+
		"two tenants are two simulators, each on its own --listen address with its own --tenant-id")
	fs.IntVar(&tf.Principals, "principals", principals, "departing principals in the sample CSV")
	fs.DurationVar(&tf.latency, "latency", 0, "added to every answer")
	fs.DurationVar(&tf.jitter, "jitter", 0, "random extra latency, up to this")
	fs.Float64Var(&tf.faultRate, "fault-rate", 0, "share of requests answered 500/502/503/504 (0 to 1)")
	fs.Float64Var(&tf.writeRate, "write-rate", 20, "Graph write bucket refill per second (negative: no limit)")
	fs.IntVar(&tf.writeBurst, "write-burst", 3000, "Graph write bucket size")
	fs.IntVar(&tf.readRU, "read-ru", 8000, "Graph read resource units per 10 s (negative: no limit)")
	fs.IntVar(&tf.pageSize, "page-size", 100, "page size of lists")
	fs.IntVar(&tf.armPageSize, "arm-page-size", 100, "page size of ARM lists (nextLink)")
	fs.Float64Var(&tf.armDelete, "arm-delete-rate", 10, "ARM delete bucket refill per second, per subscription (negative: no limit)")
	fs.IntVar(&tf.armBurst, "arm-delete-burst", 200, "ARM delete bucket size, per subscription")
	fs.BoolVar(&tf.legacyError, "legacy-errors", false, `answer errors in the older {"odata.error":...} shape`)
	fs.StringVar(&tf.profile, "profile", "default", "service model: default (the flags above), or strict (a Graph write "+
		"bucket of 100/s holding 100, 20ms a round trip, x-ms-throttle-limit-percentage now and then above 0.8 of the "+
		"budget; replaces --write-rate, --write-burst, --latency and --jitter), or independent (strict's figures without "+
		"x-ms-throttle-limit-percentage)")
	fs.Float64Var(&tf.limitSignal, "limit-signal", -1, "share (0 to 1) of the Graph writes answered above 0.8 of the "+
		"budget that carry x-ms-throttle-limit-percentage; 0 turns the header off (default: the profile's)")
}

// Config is the tenant the flags describe, or why they describe none.
func (tf *Flags) Config() (Config, error) {
	if tf.faultRate < 0 || tf.faultRate > 1 {
		return Config{}, fmt.Errorf("--fault-rate %v: between 0 and 1", tf.faultRate)
	}
	if tf.limitSignal > 1 {
		return Config{}, fmt.Errorf("--limit-signal %v: between 0 and 1", tf.limitSignal)
	}
	if tf.Principals < 1 || tf.Principals > 1_000_000 {
		return Config{}, fmt.Errorf("--principals %d: between 1 and 1000000", tf.Principals)
	}
	if tf.tenantID != "" && !isGUID(tf.tenantID) {
		return Config{}, fmt.Errorf("--tenant-id %q: a GUID", tf.tenantID)
	}
	cfg := Config{
		TenantID: tf.tenantID,
		Seed:     tf.Seed, Latency: tf.latency, Jitter: tf.jitter, FaultRate: tf.faultRate,
		WriteRate: tf.writeRate, WriteBurst: tf.writeBurst, ReadRU: tf.readRU,
		PageSize: tf.pageSize, LegacyErrors: tf.legacyError, ARM: ARMConfig{PageSize: tf.armPageSize,
			DeleteRate: tf.armDelete, DeleteBurst: tf.armBurst},
	}
	cfg, err := WithProfile(cfg, tf.profile)
	if err != nil {
		return Config{}, fmt.Errorf("--profile: %w", err)
	}
	if tf.limitSignal >= 0 {
		cfg.LimitSignal = tf.limitSignal
	}
	return cfg, nil
}

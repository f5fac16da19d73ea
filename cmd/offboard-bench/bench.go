package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/offboard/offboard/simtenant"
)

// bench is one run of the scenarios: its options, work directory and
// sizes, and the goals its scenarios measured (printGoals).
type bench struct {
	opts  options
	work  string
	log   io.Writer
	sz    sizes
	seq   int
	goals []goal
}

func (b *bench) say(format string, args ...any) {
	if b.opts.verbose {
		fmt.Fprintf(b.log, "offboard-bench: "+format+"\n", args...)
	}
}

// dir makes a fresh directory for one run.
func (b *bench) dir(name string) (string, error) {
	b.seq++
	d := filepath.Join(b.work, fmt.Sprintf("%02d-%s", b.seq, name))
	return d, os.MkdirAll(d, 0o750)
}

// once serves a fresh tenant of n principals holding per assignments each
// (simulate's flags in sim), runs the job against it (extra flags in job),
// and returns what the job did and what the tenant saw.
func (b *bench) once(name string, n, per int, sim, job []string) (jobResult, simtenant.StatsReport, error) {
	dir, err := b.dir(name)
	if err != nil {
		return jobResult{}, simtenant.StatsReport{}, err
	}
	b.say("%s: %d principals × %d assignments; simulate %s; run %s", name, n, per, strings.Join(sim, " "), strings.Join(job, " "))
	t, err := startTenant(b.opts.bin, dir, n, per, sim)
	if err != nil {
		return jobResult{}, simtenant.StatsReport{}, err
	}
	defer t.stop()
	args := []string{"run", "--input", t.csv, "--report", filepath.Join(dir, "report"),
		"--graph-endpoint", t.url, "--sources", "directory", "--max-removals", fmt.Sprint(n*per + 1)}
	res, err := runJob(b.opts.job, append([]string{"OFFBOARD_STATIC_TOKEN=" + t.token}, b.opts.jobEnv...),
		filepath.Join(dir, "job.log"), append(args, job...))
	if err != nil {
		return res, simtenant.StatsReport{}, err
	}
	st, err := t.stats()
	if err != nil {
		return res, st, err
	}
	if len(st.Violations) > 0 {
		return res, st, fmt.Errorf("the tenant saw requests a real one would punish: %s", strings.Join(st.Violations, "; "))
	}
	b.say("%s: exit %d, wall %s, write phase %s, %d requests", name, res.exit, res.wall.Round(time.Millisecond),
		res.writePhase.Round(time.Millisecond), st.Requests)
	return res, st, nil
}

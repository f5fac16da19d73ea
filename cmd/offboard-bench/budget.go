package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"
)

// budget is the budget-bound row: the job's pace set to the tenant's
// write budget exactly.
func (b *bench) budget() ([]row, error) {
	return b.budgetRun("budget-bound", modelDefault, budgetRate, 1.05)
}

// overcommitted is the same tenant with the job's pace at 4× its budget.
func (b *bench) overcommitted() ([]row, error) {
	return b.budgetRun("overcommitted", modelDefault, overcommitRate, overcommitGoal)
}

// budgetStrict and overcommittedStrict are the same two on the second
// service model (simulate --profile strict), with the job at
// --concurrency 16 as issue 14 measured it.
func (b *bench) budgetStrict() ([]row, error) {
	return b.budgetRun("budget-bound strict", modelStrict, budgetRate, 1.05)
}

func (b *bench) overcommittedStrict() ([]row, error) {
	return b.budgetRun("overcommitted strict", modelStrict, overcommitRate, overcommitGoal)
}

// budgetIndependent and overcommittedIndependent are the two on issue
// 29's model (simulate --profile independent): the strict profile's
// budget, latency and whole-second Retry-After, and no
// x-ms-throttle-limit-percentage, so the pace finds the budget from its
// 429s alone; --concurrency 16 as on the strict model.
func (b *bench) budgetIndependent() ([]row, error) {
	return b.budgetRun("budget-bound independent", modelIndependent, budgetRate, 1.05)
}

func (b *bench) overcommittedIndependent() ([]row, error) {
	return b.budgetRun("overcommitted independent", modelIndependent, overcommitRate, overcommitGoal)
}

// model is a service model the budget scenarios run on: what it is
// called in the summary (printGoals), the tenant's flags and the job's
// concurrency.
type model struct {
	name        string
	sim         []string
	concurrency int
}

var (
	modelDefault = model{name: "default: no early signal, --concurrency 8",
		sim: []string{"--write-rate", fmt.Sprint(budgetRate), "--write-burst", fmt.Sprint(budgetBurst),
			"--latency", budgetLatency.String()}, concurrency: 8}
	// The strict profile's bucket and latency are the same figures
	// (simtenant.StrictWriteRate, StrictWriteBurst, StrictLatency).
	modelStrict = model{name: "strict: early signal on half the writes, --concurrency 16",
		sim: []string{"--profile", "strict"}, concurrency: 16}
	modelIndependent = model{name: "independent: no early signal, --concurrency 16",
		sim: []string{"--profile", "independent"}, concurrency: 16}
)

func (b *bench) budgetRun(name string, m model, jobRate float64, target float64) ([]row, error) {
	n := b.sz.budgetWrites
	res, st, err := b.once(name, n, 1, m.sim,
		[]string{"--graph-write-rate", fmt.Sprint(jobRate), "--graph-write-burst", fmt.Sprint(budgetBurst),
			"--concurrency", fmt.Sprint(m.concurrency)})
	if err != nil {
		return nil, err
	}
	if res.outcomes != n {
		return nil, fmt.Errorf("%d outcomes, want %d", res.outcomes, n)
	}
	bound := time.Duration(float64(n-budgetBurst) / budgetRate * float64(time.Second))
	deletes := st.ByMethod[http.MethodDelete]
	throttled := st.ByMethodStatus[http.MethodDelete][http.StatusTooManyRequests]
	share := float64(throttled) / float64(max(deletes, 1))
	rows := []row{{
		scenario: name,
		figure:   fmt.Sprintf("write phase %.2fs", res.writePhase.Seconds()),
		bound:    fmt.Sprintf("(%d−%d)/%d/s = %.2fs", n, budgetBurst, budgetRate, bound.Seconds()),
		ratio:    res.writePhase.Seconds() / bound.Seconds(),
		target:   target,
		note: fmt.Sprintf("job paced at %g/s, --concurrency %d; %d of %d writes answered 429 (%.2f%%)",
			jobRate, m.concurrency, throttled, deletes, 100*share),
	}}
	if jobRate > budgetRate {
		rows = append(rows, shareRow(name, throttled, deletes))
		b.goals = append(b.goals, goal{told: fmt.Sprintf("Graph writes %g×", jobRate/budgetRate), model: m.name,
			ratio: rows[0].ratio, maxRatio: target, throttled: throttled, sent: deletes, most: max429Share * float64(deletes)})
	}
	return rows, nil
}

// shareRow is the row of a scenario's 429s against max429Share.
func shareRow(name string, throttled, deletes int) row {
	share := float64(throttled) / float64(max(deletes, 1))
	return row{
		scenario: name + " 429s",
		figure:   fmt.Sprintf("%d of %d writes", throttled, deletes),
		bound:    fmt.Sprintf("%g%% of writes", 100*max429Share),
		ratio:    share / max429Share,
		target:   1,
		note:     fmt.Sprintf("%.2f%% answered 429", 100*share),
	}
}

// shared is the job in its default configuration (not told any rate:
// 20 writes a second, a bucket of 3,000) on a tenant that grants less:
// sharedRate a second holding sharedBurst, 20 ms a round trip, no early
// signal.
func (b *bench) shared() ([]row, error) {
	n := b.sz.sharedWrites
	sim := []string{"--write-rate", fmt.Sprint(sharedRate), "--write-burst", fmt.Sprint(sharedBurst),
		"--latency", budgetLatency.String()}
	res, st, err := b.once("shared", n, 1, sim, nil)
	if err != nil {
		return nil, err
	}
	if res.outcomes != n {
		return nil, fmt.Errorf("%d outcomes, want %d", res.outcomes, n)
	}
	bound := time.Duration(float64(n-sharedBurst) / sharedRate * float64(time.Second))
	deletes := st.ByMethod[http.MethodDelete]
	throttled := st.ByMethodStatus[http.MethodDelete][http.StatusTooManyRequests]
	ratio := res.writePhase.Seconds() / bound.Seconds()
	b.goals = append(b.goals, goal{told: "Graph writes, default configuration",
		model: fmt.Sprintf("shared: %d/s holding %d, no early signal, --concurrency 8", sharedRate, sharedBurst),
		ratio: ratio, maxRatio: overcommitGoal, throttled: throttled, sent: deletes, most: max429Share * float64(deletes)})
	return []row{{
		scenario: "default config, shared",
		figure:   fmt.Sprintf("write phase %.2fs", res.writePhase.Seconds()),
		bound:    fmt.Sprintf("(%d−%d)/%d/s = %.2fs", n, sharedBurst, sharedRate, bound.Seconds()),
		ratio:    ratio,
		target:   overcommitGoal,
		note: fmt.Sprintf("job not told any rate (20/s, burst 3000), --concurrency 8; tenant %d/s holding %d; %d of %d writes answered 429",
			sharedRate, sharedBurst, throttled, deletes),
	}, shareRow("default config, shared", throttled, deletes)}, nil
}

// armDeletes removes one Azure role assignment of each of armDeletes
// principals in one subscription whose delete bucket refills armRate a
// second and holds armBurst, every answer saying what is left
// (x-ms-ratelimit-remaining-subscription-deletes); the job is told armTold
// times that budget.
func (b *bench) armDeletes() ([]row, error) {
	n := b.sz.armDeletes
	dir, err := b.dir("arm-deletes")
	if err != nil {
		return nil, err
	}
	t, err := startTenant(b.opts.bin, dir, n, 1, []string{"--shape", "azure", "--subscriptions", "1",
		"--arm-delete-rate", fmt.Sprint(armRate), "--arm-delete-burst", fmt.Sprint(armBurst), "--latency", budgetLatency.String()})
	if err != nil {
		return nil, err
	}
	defer t.stop()
	args := []string{"run", "--input", t.csv, "--report", filepath.Join(dir, "report"), "--sources", "azure",
		"--azure-scopes", "all", "--graph-endpoint", t.url, "--arm-endpoint", t.url, "--max-removals", fmt.Sprint(4 * n),
		"--arm-delete-rate", fmt.Sprint(armTold * armRate), "--arm-delete-burst", fmt.Sprint(armTold * armBurst)}
	res, err := runJob(b.opts.job, append([]string{"OFFBOARD_STATIC_TOKEN=" + t.token}, b.opts.jobEnv...),
		filepath.Join(dir, "job.log"), args)
	if err != nil {
		return nil, err
	}
	st, err := t.stats()
	if err != nil {
		return nil, err
	}
	if len(st.Violations) > 0 {
		return nil, fmt.Errorf("the tenant saw requests a real one would punish: %s", strings.Join(st.Violations, "; "))
	}
	deletes := st.ByMethod[http.MethodDelete]
	throttled := st.ByMethodStatus[http.MethodDelete][http.StatusTooManyRequests]
	bound := time.Duration(float64(n-armBurst) / armRate * float64(time.Second))
	most := armMax429Per * float64(n)
	b.goals = append(b.goals, goal{told: fmt.Sprintf("ARM deletes %d×", armTold),
		model: fmt.Sprintf("%d/s holding %d, remaining-deletes on every answer", armRate, armBurst),
		ratio: res.writePhase.Seconds() / bound.Seconds(), throttled: throttled, sent: deletes, most: most})
	return []row{
		{
			scenario: "arm deletes",
			figure:   fmt.Sprintf("write phase %.2fs", res.writePhase.Seconds()),
			bound:    fmt.Sprintf("(%d−%d)/%d/s = %.2fs", n, armBurst, armRate, bound.Seconds()),
			ratio:    res.writePhase.Seconds() / bound.Seconds(),
			note: fmt.Sprintf("job told %d/s holding %d, --concurrency 8; tenant %d/s holding %d, remaining-deletes on every answer",
				armTold*armRate, armTold*armBurst, armRate, armBurst),
		},
		{
			scenario: "arm deletes 429s",
			figure:   fmt.Sprintf("%d of %d deletes", throttled, deletes),
			bound:    fmt.Sprintf("%.0f of %d", most, n),
			ratio:    float64(throttled) / most,
			target:   1,
			note:     fmt.Sprintf("%.2f%% answered 429", 100*float64(throttled)/float64(max(deletes, 1))),
		},
	}, nil
}

// latency is the latency-bound row: no budget pressure, 100 ms a request;
// the job against a one-request-at-a-time run, computed (requests ×
// latency) and measured (--concurrency 1).

package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// row is one line of the table.
type row struct {
	scenario string
	figure   string
	bound    string
	ratio    float64
	target   float64 // the ratio must be at most this; 0: no target
	note     string
	// missed: a target of the row's own, not a ratio (said in note),
	// was missed.
	missed bool
}

// printTable prints the rows and returns the scenarios of those that
// missed their target.
func printTable(w io.Writer, rows []row) (missed []string) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfigure\tbound\tratio\ttarget\t\tnotes")
	for _, r := range rows {
		target, verdict := "-", ""
		if r.target > 0 {
			target = fmt.Sprintf("≤ %.2f", r.target)
			verdict = "met"
			if r.ratio > r.target {
				verdict = "MISSED"
			}
		}
		if verdict == "MISSED" || r.missed {
			missed = append(missed, r.scenario)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%s\t%s\t%s\n", r.scenario, r.figure, r.bound, r.ratio, target, verdict, r.note)
	}
	_ = tw.Flush()
	return missed
}

// goal is one line of the summary of issue 29's goals (printGoals): a
// scenario in which the job is told more than the service grants, on one
// service model.
type goal struct {
	told, model string
	// ratio is the write phase over the bound; maxRatio its goal (0:
	// none).
	ratio, maxRatio float64
	// throttled of sent requests were answered 429; most is the goal.
	throttled, sent int
	most            float64
}

func (g goal) met() bool {
	return (g.maxRatio == 0 || g.ratio <= g.maxRatio) && float64(g.throttled) <= g.most
}

// printGoals prints the goals side by side, one line a service model: the
// write phase's ratio to the bound and the share answered 429, each beside
// its goal. The rows of the main table carry the same targets, so a goal
// missed here fails the run there.
func printGoals(w io.Writer, goals []goal) {
	if len(goals) == 0 {
		return
	}
	fmt.Fprintln(w, "\nIssue 29: told more than the service grants, by service model")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "told\tservice model\tratio\tgoal\t429s\tgoal\t")
	for _, g := range goals {
		ratioGoal := "-"
		if g.maxRatio > 0 {
			ratioGoal = fmt.Sprintf("≤ %.2f", g.maxRatio)
		}
		verdict := "met"
		if !g.met() {
			verdict = "MISSED"
		}
		share := 100 * float64(g.throttled) / float64(max(g.sent, 1))
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%s\t%d of %d (%.2f%%)\t≤ %.1f\t%s\n", g.told, g.model, g.ratio, ratioGoal,
			g.throttled, g.sent, share, g.most, verdict)
	}
	_ = tw.Flush()
}

package report

import (
	"cmp"
	"html/template"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/offboard/offboard/job"
)

// Page is what summary.html shows beyond summary.json: the rows behind
// the counts, and how to run again.
type Page struct {
	Summary Summary
	// Command is what ran: run, plan or restore.
	Command string
	// Location is where the report is, as the command line named it.
	Location string
	// Rerun is the command that runs the same job again.
	Rerun string
	Items []job.Item
}

// maxPageRows bounds the failed and invalid rows the page lists; the
// rest are in the report's CSV.
const maxPageRows = 1000

// WriteSummaryHTML writes summary.html (a restore's:
// restore-summary.html; a dry run's: plan-summary.html,
// restore-plan-summary.html, which list every planned change) atomically: one self-contained page, for a
// person, of the run's metadata, its counts by source and status, the
// guard, the unavailable sources, the failed and invalid rows and the
// command to run it again. It has no script and loads nothing; every
// value is escaped by html/template, so that a hostile reference or
// detail is shown as the text it is.
func (d *Dir) WriteSummaryHTML(p Page) error {
	if err := d.usable(); err != nil {
		return err
	}
	v := pageView(p, d.files.states, d.files.report)
	return writeAtomic(d.root, d.htmlFile(), func(w io.Writer) error {
		return pageTemplate.Execute(w, v)
	})
}

// view is the page's data, everything computed.
type view struct {
	Page
	Started, Finished, Elapsed string
	ExitMeaning                string
	States                     []string
	Sources                    []sourceRow
	Totals                     []int
	Total                      int
	Bar                        []segment
	Unavailable                [][2]string
	Rows                       []job.Item
	More                       int
	ReportFile                 string

	// Planned are a dry run's planned changes, every one of them.
	Planned []job.Item
}

type sourceRow struct {
	Name   string
	Counts []int
	Total  int
}

type segment struct {
	State   string
	Class   int
	Count   int
	Percent float64
}

func pageView(p Page, states []job.State, reportFile string) view {
	s := p.Summary
	v := view{Page: p, ReportFile: reportFile,
		Started: s.StartedAt.UTC().Format(time.RFC3339), Finished: s.FinishedAt.UTC().Format(time.RFC3339),
		Elapsed: s.FinishedAt.Sub(s.StartedAt).Round(time.Millisecond).String(), ExitMeaning: ExitMeaning(s.ExitCode)}
	index := map[job.State]int{}
	for i, st := range states {
		index[st] = i
		v.States = append(v.States, string(st))
		v.Totals = append(v.Totals, s.Counts[string(st)])
		v.Total += s.Counts[string(st)]
	}
	bySource := map[string][]int{}
	for _, it := range p.Items {
		c := bySource[it.Source]
		if c == nil {
			c = make([]int, len(states))
			bySource[it.Source] = c
		}
		if i, ok := index[it.State]; ok {
			c[i]++
		}
		if s.DryRun && it.State == job.Planned && it.AssignmentID != "" {
			v.Planned = append(v.Planned, it)
		}
		problem := it.State == job.Failed || it.State == job.Invalid || it.State == job.NotFound
		if problem && len(v.Rows) < maxPageRows {
			v.Rows = append(v.Rows, it)
		} else if problem {
			v.More++
		}
	}
	for _, name := range slices.Sorted(maps.Keys(bySource)) {
		row := sourceRow{Name: cmp.Or(name, "(none)"), Counts: bySource[name]}
		for _, n := range row.Counts {
			row.Total += n
		}
		v.Sources = append(v.Sources, row)
	}
	for i, n := range v.Totals {
		if n > 0 && v.Total > 0 {
			v.Bar = append(v.Bar, segment{State: v.States[i], Class: i, Count: n,
				Percent: float64(int(float64(n)*10000/float64(v.Total))) / 100})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Unavailable)) {
		v.Unavailable = append(v.Unavailable, [2]string{k, s.Unavailable[k]})
	}
	return v
}

// ExitMeaning is CONTRACT.md's meaning of an exit code.
func ExitMeaning(code int) string {
	switch code {
	case 0:
		return "every row ended well"
	case 1:
		return "at least one row failed or is invalid, a line names no one (not-found, reported once), or a principal was held back"
	case 2:
		return "usage, configuration or input error; nothing changed"
	case 3:
		return "a guard stopped the run; nothing changed"
	case 4:
		return "interrupted; rerun to finish"
	}
	return ""
}

var pageTemplate = template.Must(template.New("summary").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>offboard {{.Command}} {{.Summary.RunID}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
td.n{text-align:right}
.bar{display:flex;width:100%;max-width:60em;height:1.4em;border:1px solid #888}
.bar span{display:block;height:100%;overflow:hidden;white-space:nowrap;font-size:11px;color:#fff;padding-left:2px}
.c0{background:#888}.c1{background:#2a7d2a}.c2{background:#5a9}.c3{background:#b80}.c4{background:#c22}.c5{background:#833}.c6{background:#a5c}.c7{background:#58c}.c8{background:#999}
.warn{background:#fee;border:1px solid #c22;padding:.5em 1em}
td.detail{white-space:pre-wrap;word-break:break-word;max-width:50em}
pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap;word-break:break-all}
</style>
</head>
<body>
<h1>offboard {{.Command}}</h1>
<table id="metadata">
<tr><th>run id</th><td>{{.Summary.RunID}}</td></tr>
{{if .Summary.TenantID}}<tr><th>tenant</th><td id="tenant">{{.Summary.TenantID}}</td></tr>{{end}}
<tr><th>input sha256</th><td>{{.Summary.InputSHA256}}</td></tr>
<tr><th>dry run</th><td>{{.Summary.DryRun}}</td></tr>
<tr><th>started</th><td>{{.Started}}</td></tr>
<tr><th>finished</th><td>{{.Finished}} ({{.Elapsed}})</td></tr>
<tr><th>exit code</th><td id="exit-code">{{.Summary.ExitCode}}</td></tr>
<tr><th></th><td>{{.ExitMeaning}}</td></tr>
<tr><th>report</th><td>{{.Location}}</td></tr>
{{if .Summary.Supersedes}}<tr><th>supersedes</th><td id="supersedes">{{.Summary.Supersedes}} (the report of the file this one corrected, kept as it was)</td></tr>{{end}}
</table>
{{if .Summary.TrustUnsigned}}<p class="warn" id="trust-unsigned"><strong>Read with --trust-unsigned:</strong> {{.Summary.UnsignedLines}} journal lines without a MAC were trusted (written before records were authenticated: nobody vouches for them).</p>{{end}}
{{if .Summary.Guard}}<p class="warn" id="guard"><strong>A guard stopped the run before any change:</strong> {{.Summary.Guard}}</p>{{end}}
{{if .Unavailable}}<div class="warn" id="unavailable"><strong>Unavailable in this tenant</strong> (no rows for these; the exit code is not changed):
<ul>{{range .Unavailable}}<li>{{index . 0}}: {{index . 1}}</li>{{end}}</ul></div>{{end}}
{{if .Summary.HeldBack}}<div class="warn" id="held-back"><strong>Held back by --max-removals-per-principal</strong> (their rows are deferred and nothing was sent for them; once their plan is checked, rerun with a higher cap):
<ul>{{range .Summary.HeldBack}}<li>{{.PrincipalID}}{{if .UPN}} ({{.UPN}}){{end}}: {{.Planned}} planned removals, more than {{.MaxPerPrincipal}}</li>{{end}}</ul></div>{{end}}
<h2>Counts</h2>
<div class="bar" id="bar">{{range .Bar}}<span class="c{{.Class}}" style="width: {{.Percent}}%" title="{{.State}}: {{.Count}}">{{.State}} {{.Count}}</span>{{end}}</div>
<table id="counts">
<tr><th>source</th>{{range .States}}<th>{{.}}</th>{{end}}<th>total</th></tr>
{{range .Sources}}<tr><td>{{.Name}}</td>{{range .Counts}}<td class="n">{{.}}</td>{{end}}<td class="n">{{.Total}}</td></tr>
{{end}}<tr id="totals"><th>total</th>{{range $i, $n := .Totals}}<td class="n" id="total-{{index $.States $i}}">{{$n}}</td>{{end}}<td class="n">{{.Total}}</td></tr>
</table>
{{if .Summary.DryRun}}<h2>Planned {{if eq .Command "restore"}}restorations{{else}}removals{{end}}</h2>
<p>A dry run: nothing was changed. {{len .Planned}} planned.</p>
{{if .Planned}}<table id="planned">
<tr><th>principal_id</th><th>user_principal_name</th><th>source</th><th>kind</th><th>role_name</th><th>scope</th><th>assignment_id</th></tr>
{{range .Planned}}<tr><td>{{.PrincipalID}}</td><td>{{.UPN}}</td><td>{{.Source}}</td><td>{{.Kind}}</td><td>{{.RoleName}}</td><td>{{.Scope}}</td><td>{{.AssignmentID}}</td></tr>
{{end}}</table>{{end}}{{end}}
<h2>Failed, invalid and not-found rows</h2>
{{if .Rows}}<table id="failures">
<tr><th>status</th><th>principal_id</th><th>user_principal_name</th><th>reference</th><th>source</th><th>assignment_id</th><th>detail</th></tr>
{{range .Rows}}<tr><td>{{.State}}</td><td>{{.PrincipalID}}</td><td>{{.UPN}}</td><td>{{.Reference}}</td><td>{{.Source}}</td><td>{{.AssignmentID}}</td><td class="detail">{{.Detail}}</td></tr>
{{end}}</table>
{{if .More}}<p>And {{.More}} more: every row is in {{.ReportFile}}.</p>{{end}}
{{else}}<p>None.</p>{{end}}
<h2>Run it again</h2>
<p>A rerun with the same input and report keeps what is done, retries what failed and finishes what was cut short:</p>
<pre id="rerun">{{.Rerun}}</pre>
</body>
</html>
`))

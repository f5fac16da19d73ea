package report

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/job"
)

// Page is what summary.html shows beyond summary.json: the rows behind
// the counts, how the command ran, and how to run it again.
type Page struct {
	Summary Summary
	// Command is what ran: run, plan or restore.
	Command string
	// Location is where the report is, as the command line named it.
	Location string
	// Rerun is the command that runs the same job again; the page shows
	// it only when a rerun can help (RerunHelps).
	Rerun string
	Items []job.Item
	// Run is how the command ran: who, on what, where.
	Run RunContext
}

// RunContext is what a page says of how a command ran, beyond its
// summary.
type RunContext struct {
	// SelfID is the object id of the identity the job ran as (--self-id,
	// or the token's oid); empty when unknown.
	SelfID string
	// Input is the input file as the command line named it.
	Input string
	// Sources and AzureScopes are what was selected.
	Sources     []string
	AzureScopes []string
}

// maxPageRows bounds the rows each of the page's lists shows; the rest
// are in the report's CSV.
const maxPageRows = 1000

// RerunHelps says whether running the same command again can change how
// it ended: a row failed, the run was interrupted or stopped by a guard,
// or principals were held back; or it was a dry run. Invalid input lines alone are not such a
// case: the input has to be fixed first.
func RerunHelps(s Summary) bool {
	// A dry run's command is what is run again, for real, once the plan
	// was read (after the input is fixed, when it has invalid lines).
	return s.DryRun && s.Counts[string(job.Invalid)] == 0 || s.Counts[string(job.Failed)] > 0 || s.ExitCode == 3 || s.ExitCode == 4 || len(s.HeldBack) > 0
}

// statusColors is the one palette of every page (summary.html,
// restore-summary.html, attestation.html): one colour per status or
// verdict, the same wherever it appears; failed is red everywhere. Each
// is dark enough to carry white text.
var statusColors = map[string]string{
	// Done: greens.
	"removed": "#2e7d32", "restored": "#2e7d32", "clean": "#2e7d32",
	"already-absent": "#558b2f", "already-present": "#558b2f",
	// Waiting for the removal.
	"planned": "#1f6fb2",
	// Access left in place, on purpose or until later.
	"skipped": "#a05f00", "held": "#a05f00", "removed-again": "#c05600",
	"deferred": "#6a4c9c",
	// Failed.
	"failed": "#c62828", "invalid": "#8e2440",
	// Nothing there.
	"not-found": "#546e7a", "no-assignments": "#757575",
}

// pageCSS is the style every page shares: tables whose id and detail
// columns wrap rather than push one another off the page, the palette,
// the boxes, and print rules (no fixed widths, rows kept whole, colours
// printed).
var pageCSS = func() template.CSS {
	var b strings.Builder
	b.WriteString(`
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:100em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em}
table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top;overflow-wrap:anywhere;word-break:break-word}
th{background:#f4f4f4}
td.n{text-align:right;white-space:nowrap}
table.rows{table-layout:fixed;width:100%;min-width:56em}
table.rows td.detail{white-space:pre-wrap}
.wide{overflow-x:auto}
.id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
.sub{color:#555;font-size:12px}
#metadata th{width:12em}
.bar{display:flex;width:100%;max-width:60em;height:1.2em;border:1px solid #888;margin-top:.5em}
.bar span{display:block;height:100%;min-width:2px}
.bar span,.sw,.badge{background:var(--c,#888)}
.legend{list-style:none;padding:0;margin:.5em 0;display:flex;flex-wrap:wrap;gap:.3em 1.4em}
.legend li{white-space:nowrap}
.sw{display:inline-block;width:.9em;height:.9em;margin-right:.35em;vertical-align:-.1em;border:1px solid #555}
.badge{color:#fff;border-radius:3px;padding:0 .35em;white-space:nowrap;font-size:12px}
.warn{background:#fdecea;border:1px solid #c62828;padding:.5em 1em;margin:1em 0}
.caution{background:#fff4e0;border:1px solid #a05f00;padding:.5em 1em;margin:1em 0}
.info{background:#eaf2fb;border:1px solid #1f6fb2;padding:.5em 1em;margin:1em 0}
pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap;word-break:break-all}
@media print{
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;max-width:none;font-size:11px}
table,table.rows,.bar{width:100%;min-width:0;max-width:none}
.wide{overflow:visible}
thead{display:table-header-group}
tr,.warn,.caution,.info,pre{break-inside:avoid}
h2{break-after:avoid}
}
`)
	for _, k := range slices.Sorted(maps.Keys(statusColors)) {
		fmt.Fprintf(&b, ".s-%s{--c:%s}\n", k, statusColors[k])
	}
	return template.CSS(b.String())
}()

// WriteSummaryHTML writes summary.html (a restore's:
// restore-summary.html; a dry run's: plan-summary.html,
// restore-plan-summary.html, which list every planned change) atomically: one self-contained page, for a
// person, of the run's metadata, its counts by source and status, the
// guard, the unavailable sources, the failed and invalid rows, the access
// left in place and why, and the command to run it again when that can
// help. It has no script and loads nothing; every value is escaped by
// html/template, so that a hostile reference or detail is shown as the
// text it is.
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
	CSS                        template.CSS
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
	Left                       []leftRow
	MoreLeft                   int
	ShowRerun                  bool
	// InvalidOnly: the run did not end well only because of invalid
	// input lines, which a rerun does not change.
	InvalidOnly bool
	ReportFile  string

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
	Count   int
	Percent float64
}

// leftRow is a skipped row and why its access was left in place: its
// detail's code (a badge; "last-owner") apart from the rest of it (text
// that wraps: "application Sandbox (id) keeps its last owner").
type leftRow struct {
	job.Item
	Code, Rest, Why string
}

func pageView(p Page, states []job.State, reportFile string) view {
	s := p.Summary
	v := view{Page: p, ReportFile: reportFile, CSS: pageCSS,
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
		switch it.State {
		case job.Failed, job.Invalid, job.NotFound:
			if len(v.Rows) < maxPageRows {
				v.Rows = append(v.Rows, it)
			} else {
				v.More++
			}
		case job.Skipped:
			if len(v.Left) < maxPageRows {
				code, rest, _ := strings.Cut(it.Detail, ": ")
				v.Left = append(v.Left, leftRow{Item: it, Code: code, Rest: rest, Why: leftInPlace(it.Detail)})
			} else {
				v.MoreLeft++
			}
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
			v.Bar = append(v.Bar, segment{State: v.States[i], Count: n,
				Percent: float64(int(float64(n)*10000/float64(v.Total))) / 100})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Unavailable)) {
		v.Unavailable = append(v.Unavailable, [2]string{k, s.Unavailable[k]})
	}
	v.ShowRerun = p.Rerun != "" && RerunHelps(s)
	v.InvalidOnly = !v.ShowRerun && s.Counts[string(job.Invalid)] > 0
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

// pageFuncs are the helpers of every page's template.
var pageFuncs = template.FuncMap{
	"join": func(s []string) string { return strings.Join(s, ", ") },
	"date": func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	"when": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}

var pageTemplate = template.Must(template.New("summary").Funcs(pageFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>offboard {{.Command}} {{.Summary.RunID}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<h1>offboard {{.Command}}</h1>
<table id="metadata">
{{if .Summary.TenantID}}<tr><th>tenant</th><td class="id" id="tenant">{{.Summary.TenantID}}</td></tr>
{{end}}<tr><th>ran as</th><td id="self">{{if .Run.SelfID}}<span class="id">{{.Run.SelfID}}</span>{{else}}not known{{end}}</td></tr>
{{if .Run.Input}}<tr><th>input</th><td id="input">{{.Run.Input}}</td></tr>
{{end}}<tr><th>input sha256</th><td class="id">{{.Summary.InputSHA256}}</td></tr>
{{if .Run.Sources}}<tr><th>sources</th><td id="sources">{{join .Run.Sources}}</td></tr>
{{end}}{{if .Run.AzureScopes}}<tr><th>Azure scopes</th><td id="scopes" class="id">{{join .Run.AzureScopes}}</td></tr>
{{end}}<tr><th>run id</th><td class="id">{{.Summary.RunID}}</td></tr>
<tr><th>dry run</th><td>{{if .Summary.DryRun}}yes: nothing was changed{{else}}no{{end}}</td></tr>
<tr><th>started</th><td>{{.Started}}</td></tr>
<tr><th>finished</th><td>{{.Finished}} ({{.Elapsed}})</td></tr>
<tr><th>exit code</th><td><strong id="exit-code">{{.Summary.ExitCode}}</strong>{{if .ExitMeaning}}: {{.ExitMeaning}}{{end}}</td></tr>
<tr><th>report</th><td>{{.Location}}</td></tr>
{{if .Summary.Supersedes}}<tr><th>supersedes</th><td id="supersedes">{{.Summary.Supersedes}} (the report of the file this one corrected, kept as it was)</td></tr>{{end}}
</table>
{{if .Summary.TrustUnsigned}}<p class="warn" id="trust-unsigned"><strong>Read with --trust-unsigned:</strong> {{.Summary.UnsignedLines}} journal lines without a MAC were trusted (written before records were authenticated: nobody vouches for them).</p>{{end}}
{{if .Summary.Guard}}<p class="warn" id="guard"><strong>A guard stopped the run before any change:</strong> {{.Summary.Guard}}</p>{{end}}
{{if .Unavailable}}<div class="info" id="unavailable"><strong>Not in this tenant</strong> (a licence it lacks: no rows for these, and the exit code is not changed):
<ul>{{range .Unavailable}}<li>{{index . 0}}: {{index . 1}}</li>{{end}}</ul></div>{{end}}
{{if .Summary.HeldBack}}<div class="caution" id="held-back"><strong>Held back by --max-removals-per-principal</strong> (their rows are deferred and nothing was sent for them; once their plan is checked, rerun with a higher cap):
<ul>{{range .Summary.HeldBack}}<li><span class="id">{{.PrincipalID}}</span>{{if .UPN}} ({{.UPN}}){{end}}: {{.Planned}} planned removals, more than {{.MaxPerPrincipal}}</li>{{end}}</ul></div>{{end}}
<h2>Counts</h2>
{{if .Bar}}<div class="bar" id="bar">{{range .Bar}}<span class="s-{{.State}}" style="width: {{.Percent}}%" title="{{.State}}: {{.Count}}"></span>{{end}}</div>
<ul class="legend" id="legend">{{range .Bar}}<li><span class="sw s-{{.State}}"></span>{{.State}} {{.Count}} ({{.Percent}}%)</li>{{end}}</ul>{{end}}
<div class="wide"><table id="counts">
<thead><tr><th>source</th>{{range .States}}<th><span class="badge s-{{.}}">{{.}}</span></th>{{end}}<th>total</th></tr></thead>
<tbody>{{range .Sources}}<tr><td>{{.Name}}</td>{{range .Counts}}<td class="n">{{.}}</td>{{end}}<td class="n">{{.Total}}</td></tr>
{{end}}<tr id="totals"><th>total</th>{{range $i, $n := .Totals}}<td class="n" id="total-{{index $.States $i}}">{{$n}}</td>{{end}}<td class="n">{{.Total}}</td></tr></tbody>
</table></div>
{{if .Summary.DryRun}}<h2>Planned {{if eq .Command "restore"}}restorations{{else}}removals{{end}}</h2>
<p>A dry run: nothing was changed. {{len .Planned}} planned.</p>
{{if .Planned}}<div class="wide"><table id="planned" class="rows">
<thead><tr><th>principal_id, user_principal_name</th><th>source, kind</th><th>role_name</th><th>scope</th><th>assignment_id</th></tr></thead>
<tbody>{{range .Planned}}<tr><td><span class="id">{{.PrincipalID}}</span>{{if .UPN}}<br>{{.UPN}}{{end}}</td><td>{{.Source}}{{if .Kind}}<br><span class="sub">{{.Kind}}</span>{{end}}</td><td>{{.RoleName}}</td><td class="id">{{.Scope}}</td><td class="id">{{.AssignmentID}}</td></tr>
{{end}}</tbody></table></div>{{end}}{{end}}
<h2>Failed, invalid and not-found rows</h2>
{{if .Rows}}<div class="wide"><table id="failures" class="rows">
<colgroup><col style="width:7em"><col style="width:19%"><col style="width:10%"><col style="width:11%"><col style="width:12%"><col style="width:17%"><col></colgroup>
<thead><tr><th>status</th><th>principal_id, user_principal_name</th><th>reference</th><th>source, kind</th><th>role_name</th><th>assignment_id</th><th>detail</th></tr></thead>
<tbody>{{range .Rows}}<tr><td><span class="badge s-{{.State}}">{{.State}}</span></td><td>{{if .PrincipalID}}<span class="id">{{.PrincipalID}}</span>{{if .UPN}}<br>{{end}}{{end}}{{.UPN}}</td><td>{{.Reference}}</td><td>{{.Source}}{{if .Kind}}<br><span class="sub">{{.Kind}}</span>{{end}}</td><td>{{.RoleName}}</td><td class="id">{{.AssignmentID}}</td><td class="detail">{{.Detail}}</td></tr>
{{end}}</tbody></table></div>
{{if .More}}<p>And {{.More}} more: every row is in {{.ReportFile}}.</p>{{end}}
{{else}}<p>None.</p>{{end}}
<h2>Access left in place</h2>
{{if .Left}}<p>These rows were skipped on purpose: the access is still held, for the reason given.</p>
<div class="wide"><table id="left-in-place" class="rows">
<colgroup><col style="width:19%"><col style="width:12%"><col style="width:14%"><col style="width:19%"><col></colgroup>
<thead><tr><th>principal_id, user_principal_name</th><th>source, kind</th><th>role_name</th><th>assignment_id</th><th>why</th></tr></thead>
<tbody>{{range .Left}}<tr><td>{{if .PrincipalID}}<span class="id">{{.PrincipalID}}</span>{{if .UPN}}<br>{{end}}{{end}}{{.UPN}}</td><td>{{.Source}}{{if .Kind}}<br><span class="sub">{{.Kind}}</span>{{end}}</td><td>{{.RoleName}}</td><td class="id">{{.AssignmentID}}</td><td class="detail"><span class="badge s-skipped">{{.Code}}</span>{{if .Rest}}: {{.Rest}}{{end}}{{if .Why}} {{.Why}}{{end}}</td></tr>
{{end}}</tbody></table></div>
{{if .MoreLeft}}<p>And {{.MoreLeft}} more: every row is in {{.ReportFile}}.</p>{{end}}
{{else}}<p>None.</p>{{end}}
{{if .ShowRerun}}<h2>Run it again</h2>
<p>A rerun with the same input and report keeps what is done, retries what failed and finishes what was cut short:</p>
<pre id="rerun">{{.Rerun}}</pre>
{{else if .InvalidOnly}}<h2>Invalid input lines</h2>
<p id="fix-input">Running it again changes nothing for the invalid lines: correct them in the input (each row's detail names its line), then run the corrected file.</p>
{{end}}</body>
</html>
`))

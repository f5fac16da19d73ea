package report

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/offboard/offboard/job"
)

// The verdicts of a watched principal.
const (
	// VerdictClean: it holds nothing in any selected source.
	VerdictClean = "clean"
	// VerdictRemovedAgain: it held something again, removed now.
	VerdictRemovedAgain = "removed-again"
	// VerdictHeld: it still holds access the job deliberately leaves (a
	// last owner, the last global administrator, a protected principal or
	// the job itself, a group whose members Graph cannot change): Why says
	// why, WhatToDo what a person does about it. It alone does not fail
	// the watch.
	VerdictHeld = "held"
	// VerdictFailed: it could not be checked, or what it holds could not
	// be removed.
	VerdictFailed = "failed"
)

// verdictRank orders the verdicts: a principal's is the worst of its rows'.
var verdictRank = map[string]int{VerdictClean: 0, VerdictRemovedAgain: 1, VerdictHeld: 2, VerdictFailed: 3}

// worse is the worse of two verdicts.
func worse(a, b string) string {
	if verdictRank[b] > verdictRank[a] {
		return b
	}
	return a
}

// Attestation is attestation.json: what a watch checked, and what it
// found, for an auditor.
type Attestation struct {
	RunID string `json:"run_id"`
	// DirID is the id of the report directory the watch wrote it into
	// (WriteAttestation sets it), as its journal and summary name it.
	DirID string `json:"dir_id,omitempty"`
	// TenantID is the tenant the watch acted in (as summary.json's).
	TenantID    string    `json:"tenant_id,omitempty"`
	InputSHA256 string    `json:"input_sha256"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
	Reports     string    `json:"reports"`
	Window      Window    `json:"window"`
	Sources     []string  `json:"sources"`
	AzureScopes []string  `json:"azure_scopes,omitempty"`
	// Unavailable names the parts of sources that cannot exist in the
	// tenant (summary's "unavailable"): nothing there was checked.
	Unavailable map[string]string `json:"unavailable,omitempty"`
	Guard       string            `json:"guard,omitempty"`
	ExitCode    int               `json:"exit_code"`
	Principals  []Attested        `json:"principals"`
	Excluded    []Excluded        `json:"excluded"`
	// Evidence is every report directory read: the runs whose records
	// the watch list comes from, and those kept out, with why.
	Evidence []EvidenceRef `json:"evidence"`
	// Refused is every file of evidence under the root the watch refused
	// as altered or unauthenticated: what it could not see. Any makes the
	// exit code 1 at least.
	Refused []Refusal `json:"refused"`
}

// Refusal is one file of evidence a watch refused, and why.
type Refusal struct {
	// Report is the directory, relative to the root; File the file in
	// it (journal.jsonl or restore.jsonl).
	Report  string `json:"report"`
	File    string `json:"file"`
	Problem string `json:"problem"`
}

// Refusals is every file of the evidence refused, in the evidence's order:
// a journal that does not verify keeps its report out; a restore journal
// that does not verify keeps its restores from taking anyone off the list.
func Refusals(evidence []Evidence) []Refusal {
	out := []Refusal{}
	for _, ev := range evidence {
		if ev.Problem != "" {
			out = append(out, Refusal{Report: ev.Name, File: journalName, Problem: ev.Problem})
		}
		if ev.RestoreProblem != "" {
			out = append(out, Refusal{Report: ev.Name, File: restoreJournalName, Problem: ev.RestoreProblem})
		}
	}
	return out
}

// Window is the period whose offboardings are watched.
type Window struct {
	Within string    `json:"within"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
}

// Attested is one watched principal and its verdict.
type Attested struct {
	Watched
	Verdict string `json:"verdict"`
	// Why says why it failed, or why the access is held.
	Why string `json:"why,omitempty"`
	// WhatToDo says, for a held principal, what a person does about the
	// access the job deliberately left.
	WhatToDo string `json:"what_to_do,omitempty"`
	// Rows are its rows of this watch that are not clean: removed again,
	// or failed.
	Rows []AttestedRow `json:"rows,omitempty"`
}

// AttestedRow is one row of a watched principal's verdict.
type AttestedRow struct {
	Source           string `json:"source"`
	Kind             string `json:"kind,omitempty"`
	AssignmentID     string `json:"assignment_id"`
	RoleName         string `json:"role_name,omitempty"`
	RoleDefinitionID string `json:"role_definition_id,omitempty"`
	Scope            string `json:"scope,omitempty"`
	Status           string `json:"status"`
	Detail           string `json:"detail,omitempty"`
	// WhatToDo says, for a row skipped on purpose, what a person does.
	WhatToDo string `json:"what_to_do,omitempty"`
}

// EvidenceRef is one report directory read, and its runs.
type EvidenceRef struct {
	Report string      `json:"report"`
	Used   bool        `json:"used"`
	Runs   []RunRecord `json:"runs,omitempty"`
	// Problem says why its records were not trusted (skipped whole);
	// RestoreProblem why its restore.jsonl was not.
	Problem        string `json:"problem,omitempty"`
	RestoreProblem string `json:"restore_problem,omitempty"`
}

// EvidenceRefs is what an attestation names of the evidence.
func EvidenceRefs(evidence []Evidence) []EvidenceRef {
	out := []EvidenceRef{}
	for _, ev := range evidence {
		out = append(out, EvidenceRef{Report: ev.Name, Used: ev.Problem == "", Runs: ev.Runs,
			Problem: ev.Problem, RestoreProblem: ev.RestoreProblem})
	}
	return out
}

// Verdicts gives each watched principal its verdict from the watch's
// items: failed when a row failed, is invalid, or was left holding
// because the watch could not finish (planned when the run stopped: guard
// says why; held back by the per-principal cap); held when a row was
// skipped on purpose (a last owner, the last global administrator, a
// protected principal, a group Graph cannot change: why and what to do);
// removed-again when a row was removed, else clean.
func Verdicts(watched []Watched, items []job.Item, guard string) []Attested {
	byID := map[string][]job.Item{}
	for _, it := range items {
		byID[it.PrincipalID] = append(byID[it.PrincipalID], it)
	}
	out := []Attested{}
	for _, w := range watched {
		a := Attested{Watched: w, Verdict: VerdictClean}
		var why, todo []string
		its, ok := byID[w.PrincipalID]
		if !ok {
			a.Verdict, why = VerdictFailed, []string{"not checked: the watch ended before its listing"}
		}
		for _, it := range its {
			row := AttestedRow{Source: it.Source, Kind: it.Kind, AssignmentID: it.AssignmentID, RoleName: it.RoleName, RoleDefinitionID: it.RoleDefinitionID,
				Scope: it.Scope, Status: string(it.State), Detail: it.Detail}
			switch it.State {
			case job.Removed:
				a.Verdict = worse(a.Verdict, VerdictRemovedAgain)
			case job.Failed, job.Invalid:
				a.Verdict = VerdictFailed
				why = append(why, strings.TrimPrefix(cutSource(it)+": "+it.Detail, ": "))
			case job.Skipped:
				// Left on purpose: held, with why and what to do.
				a.Verdict = worse(a.Verdict, VerdictHeld)
				why = append(why, strings.TrimPrefix(cutSource(it)+": held on purpose: "+it.Detail, ": "))
				row.WhatToDo = HeldWhatToDo(it.Detail)
				todo = append(todo, row.WhatToDo)
			case job.Planned:
				a.Verdict = VerdictFailed
				reason := "the watch stopped before its removal"
				if guard != "" {
					reason = "a guard stopped the watch: " + guard
				}
				why = append(why, strings.TrimPrefix(cutSource(it)+": held, not removed: "+reason, ": "))
			case job.Deferred:
				if it.AssignmentID == "" {
					continue // an effective date to come: nothing listed
				}
				// Held back by --max-removals-per-principal: still held.
				a.Verdict = VerdictFailed
				why = append(why, "held, not removed: "+it.Detail)
			default:
				continue // already-absent, no-assignments: nothing held
			}
			a.Rows = append(a.Rows, row)
		}
		slices.Sort(todo)
		a.WhatToDo = strings.Join(slices.Compact(todo), "; ")
		a.Why = strings.Join(slices.Compact(why), "; ")
		out = append(out, a)
	}
	return out
}

func cutSource(it job.Item) string {
	if it.AssignmentID == "" {
		return it.Source
	}
	return it.Source + " " + it.AssignmentID
}

// Attestation file names.
const (
	attestationName     = "attestation.json"
	attestationHTMLName = "attestation.html"
)

// AttestationFiles are the files WriteAttestation writes.
var AttestationFiles = []string{attestationName, attestationHTMLName}

// WriteAttestation writes attestation.json (with a MAC as summaries carry
// one, when the directory has a key) and attestation.html, atomically.
func (d *Dir) WriteAttestation(a Attestation) error {
	if err := d.usable(); err != nil {
		return err
	}
	a.DirID = d.dirID
	a.StartedAt, a.FinishedAt = a.StartedAt.UTC(), a.FinishedAt.UTC()
	a.Window.From, a.Window.To = a.Window.From.UTC(), a.Window.To.UTC()
	if a.Principals == nil {
		a.Principals = []Attested{}
	}
	if a.Excluded == nil {
		a.Excluded = []Excluded{}
	}
	if a.Refused == nil {
		a.Refused = []Refusal{}
	}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode attestation: %w", err)
	}
	if d.key != nil {
		b = d.key.signSummary(attestationName, b)
	} else {
		b = append(b, '\n')
	}
	if err := writeAtomic(d.root, attestationName, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}); err != nil {
		return err
	}
	return writeAtomic(d.root, attestationHTMLName, func(w io.Writer) error {
		return attestationTemplate.Execute(w, attestationView(a))
	})
}

// ParseAttestation reads attestation.json's text and returns it only when
// it verifies under key.
func ParseAttestation(b []byte, key *Key) (Attestation, error) {
	if key == nil {
		return Attestation{}, fmt.Errorf("report: %s: no key to verify it with: %w", attestationName, ErrTampered)
	}
	body, err := key.verifySummary(attestationName, b)
	if err != nil {
		return Attestation{}, fmt.Errorf("report: %w", err)
	}
	var a Attestation
	if err := json.Unmarshal(body, &a); err != nil {
		return Attestation{}, fmt.Errorf("report: %s: %v: %w", attestationName, err, ErrCorrupt)
	}
	return a, nil
}

type attestationPage struct {
	Attestation
	CSS         template.CSS
	Counts      [][2]string
	Unavailable [][2]string
	ExitMeaning string
}

// countVerdict counts the principals with verdict v.
func countVerdict(ps []Attested, v string) int {
	n := 0
	for _, p := range ps {
		if p.Verdict == v {
			n++
		}
	}
	return n
}

func attestationView(a Attestation) attestationPage {
	p := attestationPage{Attestation: a, CSS: pageCSS, ExitMeaning: ExitMeaning(a.ExitCode)}
	switch a.ExitCode {
	case 0:
		p.ExitMeaning = "every watched principal is clean or was removed again"
		if n := countVerdict(a.Principals, VerdictHeld); n > 0 {
			p.ExitMeaning = fmt.Sprintf("no watched principal failed; %d still hold access the job leaves on purpose (held: see what to do below)", n)
		}
	case 1:
		p.ExitMeaning = "at least one watched principal failed: see why below"
		if len(a.Refused) > 0 {
			p.ExitMeaning = "evidence under the reports was refused, or a watched principal failed: see below"
		}
	}
	n := map[string]int{}
	for _, pr := range a.Principals {
		n[pr.Verdict]++
	}
	for _, v := range []string{VerdictClean, VerdictRemovedAgain, VerdictHeld, VerdictFailed} {
		p.Counts = append(p.Counts, [2]string{v, fmt.Sprint(n[v])})
	}
	for _, k := range slices.Sorted(maps.Keys(a.Unavailable)) {
		p.Unavailable = append(p.Unavailable, [2]string{k, a.Unavailable[k]})
	}
	return p
}

var attestationTemplate = template.Must(template.New("attestation").Funcs(pageFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>offboard watch attestation {{.RunID}}</title>
<style>{{.CSS}}</style>
</head>
<body>
<h1>Offboarded stays offboarded: attestation</h1>
<table id="metadata">
<tr><th>watch run id</th><td class="id">{{.RunID}}</td></tr>
{{if .TenantID}}<tr><th>tenant</th><td class="id" id="tenant">{{.TenantID}}</td></tr>{{end}}
<tr><th>watch list sha256</th><td class="id">{{.InputSHA256}}</td></tr>
<tr><th>reports read</th><td>{{.Reports}}</td></tr>
<tr><th>window</th><td id="window">runs started {{when .Window.From}} to {{when .Window.To}} (within {{.Window.Within}})</td></tr>
<tr><th>sources checked</th><td id="sources">{{join .Sources}}</td></tr>
{{if .AzureScopes}}<tr><th>Azure scopes</th><td class="id">{{join .AzureScopes}}</td></tr>{{end}}
<tr><th>started</th><td>{{when .StartedAt}}</td></tr>
<tr><th>finished</th><td>{{when .FinishedAt}}</td></tr>
<tr><th>exit code</th><td id="exit-code">{{.ExitCode}} ({{.ExitMeaning}})</td></tr>
</table>
{{if .Refused}}<div class="warn" id="refused"><strong>Evidence refused as altered or unauthenticated: the watch could not see what it records, and exits non-zero</strong>
<ul>{{range .Refused}}<li>{{.Report}}/{{.File}}: {{.Problem}}</li>{{end}}</ul></div>{{end}}
{{if .Guard}}<p class="warn" id="guard"><strong>A guard stopped the watch before any change:</strong> {{.Guard}}</p>{{end}}
{{if .Unavailable}}<div class="info" id="unavailable"><strong>Not checked: not in this tenant</strong> (a licence it lacks)
<ul>{{range .Unavailable}}<li>{{index . 0}}: {{index . 1}}</li>{{end}}</ul></div>{{end}}
<h2>Verdicts</h2>
<table id="counts">{{range .Counts}}<tr><th><span class="badge s-{{index . 0}}">{{index . 0}}</span></th><td class="n">{{index . 1}}</td></tr>{{end}}</table>
{{if .Principals}}<div class="wide"><table id="principals" class="rows">
<colgroup><col style="width:18%"><col style="width:8em"><col style="width:12%"><col style="width:10%"><col style="width:18%"><col></colgroup>
<thead><tr><th>principal_id, user_principal_name</th><th>offboarded</th><th>run</th><th>report</th><th>verdict</th><th>rows (status, source, kind, role_name, assignment_id, scope, detail)</th></tr></thead>
<tbody>{{range .Principals}}<tr><td><span class="id">{{.PrincipalID}}</span>{{if .UPN}}<br>{{.UPN}}{{end}}</td><td>{{date .Run.StartedAt}}</td><td class="id">{{.Run.ID}}</td><td>{{.Report}}</td><td><span class="badge s-{{.Verdict}}">{{.Verdict}}</span>{{if .Why}} {{.Why}}{{end}}{{if .WhatToDo}}<br><strong>what to do:</strong> <span class="todo">{{.WhatToDo}}</span>{{end}}</td>
<td class="detail">{{range .Rows}}<span class="badge s-{{.Status}}">{{.Status}}</span> {{.Source}}{{if .Kind}} <span class="sub">{{.Kind}}</span>{{end}}{{if .RoleName}} {{.RoleName}}{{end}} <span class="id">{{.AssignmentID}}</span> <span class="id">{{.RoleDefinitionID}}</span> <span class="id">{{.Scope}}</span>{{if .Detail}} ({{.Detail}}){{end}}
{{end}}</td></tr>
{{end}}</tbody></table></div>{{else}}<p>No principal was offboarded in the window.</p>{{end}}
<h2>Not watched</h2>
{{if .Excluded}}<div class="wide"><table id="excluded" class="rows"><colgroup><col style="width:30%"><col style="width:25%"><col></colgroup>
<thead><tr><th>principal_id</th><th>user_principal_name</th><th>why</th></tr></thead>
<tbody>{{range .Excluded}}<tr><td class="id">{{.PrincipalID}}</td><td>{{.UPN}}</td><td>{{.Reason}}</td></tr>
{{end}}</tbody></table></div>{{else}}<p>None.</p>{{end}}
<h2>Evidence</h2>
<p>Only records that verify under the journal key are read; a report that does not is named here and adds no one.</p>
<div class="wide"><table id="evidence" class="rows"><colgroup><col style="width:20%"><col style="width:5em"><col style="width:45%"><col></colgroup>
<thead><tr><th>report</th><th>used</th><th>runs (id, input sha256, started)</th><th>problem</th></tr></thead>
<tbody>{{range .Evidence}}<tr><td>{{.Report}}</td><td>{{if .Used}}yes{{else}}<strong>no</strong>{{end}}</td>
<td class="id">{{range .Runs}}{{.ID}} {{.InputSHA256}} {{when .StartedAt}}{{if .DryRun}} (dry run){{end}}<br>{{end}}</td>
<td class="detail">{{.Problem}}{{if .RestoreProblem}} restore.jsonl not trusted: {{.RestoreProblem}}{{end}}</td></tr>
{{end}}</tbody></table></div>
<p><code>held</code> means: the principal still holds access the job leaves on purpose (a last owner, the last Global Administrator, a protected principal or the job itself, a group whose members Graph cannot change); it does not alone make the watch exit non-zero, and its row says what to do.</p>
<p><code>clean</code> means: nothing held in the sources checked, for the object id offboarded. An account re-created under a new object id is a new principal, and is not checked here.</p>
</body>
</html>
`))

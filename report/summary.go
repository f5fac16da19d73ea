package report

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"time"
)

// Summary is summary.json: what a run was and how it ended.
type Summary struct {
	RunID       string    `json:"run_id"`
	InputSHA256 string    `json:"input_sha256"`
	DryRun      bool      `json:"dry_run"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
	// Counts has one key per status, every status present, 0 allowed.
	Counts   map[string]int `json:"counts"`
	ExitCode int            `json:"exit_code"`
	// Guard says which guard stopped the run, if one did.
	Guard string `json:"guard,omitempty"`
	// Stopped says why the run stopped before its end other than a
	// guard or an interruption: a service refused the token (401).
	Stopped string `json:"stopped,omitempty"`
	// Unavailable names the sources, or parts of one, that cannot exist in
	// this tenant (a licence it lacks), each with the service's reason.
	Unavailable map[string]string `json:"unavailable,omitempty"`
	// TrustUnsigned says a restore was told to read journal lines without
	// a MAC (--trust-unsigned); UnsignedLines counts those it read.
	TrustUnsigned bool `json:"trust_unsigned,omitempty"`
	UnsignedLines int  `json:"unsigned_lines,omitempty"`
	// DirID is the report directory's id, which its journal's run records
	// name; JournalLines and JournalMAC are how many lines the journal
	// (a restore's: restore.jsonl) held when the summary was written and
	// the MAC of the last. WriteSummary sets them when records are
	// authenticated: a summary then vouches for its journal up to that
	// line, so that a journal cut shorter or copied from another
	// directory does not match it.
	DirID        string `json:"dir_id,omitempty"`
	JournalLines int    `json:"journal_lines,omitempty"`
	JournalMAC   string `json:"journal_mac,omitempty"`
	// TenantID is the Entra tenant the run acted in (--tenant, or its
	// token's tid); empty when it was not known.
	TenantID string `json:"tenant_id,omitempty"`
	// HeldBack lists the principals --max-removals-per-principal held
	// back (their rows deferred, nothing sent for them; exit 1).
	HeldBack []HeldBack `json:"held_back,omitempty"`
	// Supersedes names the report location of the drop-folder file this
	// one replaced under the same name (corrected in place), which stays
	// as it was.
	Supersedes string `json:"supersedes,omitempty"`
}

// HeldBack is a principal held back by --max-removals-per-principal.
type HeldBack struct {
	PrincipalID string `json:"principal_id"`
	UPN         string `json:"user_principal_name,omitempty"`
	// Planned is how many removals its plan held, more than
	// MaxPerPrincipal.
	Planned         int `json:"planned_removals"`
	MaxPerPrincipal int `json:"max_removals_per_principal"`
}

// WriteSummary writes summary.json (a restore's: restore-summary.json;
// a dry run's: plan-summary.json, restore-plan-summary.json) atomically, as indented JSON with times in UTC and a count for every
// status.
func (d *Dir) WriteSummary(s Summary) error {
	if err := d.usable(); err != nil {
		return err
	}
	s.StartedAt = s.StartedAt.UTC()
	s.FinishedAt = s.FinishedAt.UTC()
	counts := make(map[string]int, len(d.files.states))
	for _, st := range d.files.states {
		counts[string(st)] = 0
	}
	maps.Copy(counts, s.Counts)
	s.Counts = counts
	if s.TenantID == "" {
		s.TenantID = d.tenantID
	}
	if d.key != nil {
		d.mu.Lock()
		s.DirID, s.JournalLines, s.JournalMAC = d.dirID, d.lines, hex.EncodeToString(d.mac)
		d.mu.Unlock()
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode summary: %w", err)
	}
	if d.key != nil {
		b = d.key.signSummary(d.summaryFile(), b)
	} else {
		b = append(b, '\n')
	}
	return writeAtomic(d.root, d.summaryFile(), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// maxSummary bounds what is read of a summary: the job's are a few hundred
// bytes.
const maxSummary = 1 << 20

// ReadAuthenticSummary reads dir's summary.json and returns it only when
// it verifies under key (see ParseSummary). The error wraps fs.ErrNotExist
// when there is none.
func ReadAuthenticSummary(dir string, key *Key) (Summary, error) {
	path := filepath.Join(dir, summaryName)
	f, err := openNoFollow(path, os.O_RDONLY, 0)
	if err != nil {
		return Summary{}, fmt.Errorf("report: read summary: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSummary+1))
	if err != nil {
		return Summary{}, fmt.Errorf("report: read summary: %w", err)
	}
	s, err := ParseSummary(summaryName, b, key)
	if err != nil {
		return Summary{}, fmt.Errorf("%w (in %s)", err, dir)
	}
	return s, nil
}

// ReadSummary reads dir's summary.json without verifying it (for tools,
// tests and ownership checks: a command that acts on a summary uses
// ReadAuthenticSummary). The error wraps fs.ErrNotExist when there is
// none, and ErrCorrupt when it is not a summary.
func ReadSummary(dir string) (Summary, error) {
	path := filepath.Join(dir, summaryName)
	b, err := os.ReadFile(path)
	if err != nil {
		return Summary{}, fmt.Errorf("report: read summary: %w", err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return Summary{}, fmt.Errorf("report: %s: %v: %w", path, err, ErrCorrupt)
	}
	return s, nil
}

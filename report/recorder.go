package report

import (
	"encoding/json"
	"fmt"
	"iter"

	"github.com/offboard/offboard/job"
)

// The Dir as the runner's job.Recorder: the plan, the applying record and
// each outcome appended to the journal and synced.

// Plan records the plan: one line per item, synced once at the end.
func (d *Dir) Plan(items iter.Seq[job.Item]) error {
	// Check raw payloads first so that a bad one writes nothing.
	for it := range items {
		if len(it.Raw) > 0 && !json.Valid(it.Raw) {
			return fmt.Errorf("report: plan: item %s/%s/%s: raw assignment is not valid JSON",
				it.PrincipalID, it.Source, it.AssignmentID)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	const batch = 1 << 20
	d.enc.reset()
	for it := range items {
		d.enc.encode(planRecordOf(it))
		if d.enc.len() >= batch {
			if err := d.write(); err != nil {
				return err
			}
			d.enc.reset()
		}
	}
	if d.enc.len() > 0 {
		if err := d.write(); err != nil {
			return err
		}
	}
	return d.sync()
}

// Applying records that writes are about to start.
func (d *Dir) Applying() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	d.enc.reset()
	d.enc.encode(applyingRecord{Type: "applying", RunID: d.run.ID})
	if err := d.write(); err != nil {
		return err
	}
	return d.sync()
}

// Outcome records one item's new state, durably: it returns once the line
// is on disk. It is safe for concurrent use; outcomes recorded at the same
// time share one fsync.
func (d *Dir) Outcome(it job.Item) error {
	n, err := d.writeOutcome(it)
	if err != nil {
		return err
	}
	return d.syncThrough(n)
}

// writeOutcome appends its line and returns its number.
func (d *Dir) writeOutcome(it job.Item) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return 0, d.err
	}
	d.enc.reset()
	d.enc.encode(outcomeRecord{
		Type:         "outcome",
		PrincipalID:  it.PrincipalID,
		Source:       it.Source,
		AssignmentID: it.AssignmentID,
		Line:         it.Line,
		State:        string(it.State),
		Detail:       it.Detail,
		Attempts:     it.Attempts,
		UpdatedAt:    formatTime(it.UpdatedAt),
	})
	if err := d.write(); err != nil {
		return 0, err
	}
	d.written++
	return d.written, nil
}

// syncThrough returns once outcome line n is durable: at once when an
// fsync that began after it was written has succeeded, else after one of
// its own, which covers every line written before it began.
func (d *Dir) syncThrough(n uint64) error {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	d.mu.Lock()
	if d.synced >= n {
		d.mu.Unlock()
		return nil
	}
	if d.err != nil {
		defer d.mu.Unlock()
		return d.err
	}
	upto, f := d.written, d.journal
	d.mu.Unlock()
	// Outside mu, so that other outcomes are written meanwhile; Close
	// waits for syncMu, so f stays open.
	err := f.Sync()
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		if d.err == nil {
			d.err = fmt.Errorf("report: sync journal: %w", err)
		}
		return d.err
	}
	d.synced = upto
	return nil
}

// write appends the encoder's bytes; d.mu is held.
func (d *Dir) write() error {
	if _, err := d.journal.Write(d.enc.bytes()); err != nil {
		d.err = fmt.Errorf("report: write journal: %w", err)
		return d.err
	}
	d.lines += d.enc.n
	d.mac = d.enc.chain
	d.enc.n = 0
	return nil
}

// sync makes the journal durable; d.mu is held.
func (d *Dir) sync() error {
	if err := d.journal.Sync(); err != nil {
		d.err = fmt.Errorf("report: sync journal: %w", err)
		return d.err
	}
	return nil
}

// usable reports whether the directory is still open for writing files.
func (d *Dir) usable() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.journal == nil {
		return errClosed
	}
	return nil
}

// Close closes the journal and releases the lock. The lock file stays:
// removing it would race with a run that has just opened it.
func (d *Dir) Close() error {
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.journal == nil {
		return nil
	}
	err := d.journal.Close()
	d.journal = nil
	if d.err == nil {
		d.err = errClosed
	}
	if uerr := unlockDir(d.lock); uerr != nil && err == nil {
		err = uerr
	}
	if rerr := d.root.Close(); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("report: close: %w", err)
	}
	return nil
}

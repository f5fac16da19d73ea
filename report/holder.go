package report

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// RunInfo identifies the run that opens the directory.
type RunInfo struct {
	ID        string
	StartedAt time.Time
	DryRun    bool
	// Key authenticates the records the run reads and writes (auth.go).
	// Without one, records are written and read unauthenticated, as
	// before issue 18: for tests of the format only; the command always
	// gives one.
	Key *Key
	// TrustUnsigned lets a restore read a run's records written before
	// records were authenticated (restore --trust-unsigned).
	TrustUnsigned bool
	// TenantID is the tenant the command acts in (--tenant, or its
	// token's tid); "" when unknown. It is recorded in the run record and
	// the summary, and a directory whose records name another tenant is
	// refused (ErrOtherTenant).
	TenantID string
	// Command names what opens the directory in its lock's holder record
	// (watch); "" is run, or plan for a dry run (a restore: restore).
	Command string
}

// Holder is who holds a report location's lock, as the holder recorded
// it when it took the lock (a local directory: the lock file's content,
// emptied when the lock is released; a blob location: the lock blob's
// metadata). A run refused because the location is busy names it.
type Holder struct {
	RunID string `json:"run_id"`
	// Command is run, plan, restore or watch.
	Command   string    `json:"command,omitempty"`
	StartedAt time.Time `json:"started_at"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
}

// HolderOf is the holder record of this process opening a location for
// the run info describes.
func HolderOf(info RunInfo, restore bool) Holder {
	host, _ := os.Hostname()
	cmd := info.Command
	switch {
	case restore:
		cmd = "restore"
	case cmd == "" && info.DryRun:
		cmd = "plan"
	case cmd == "":
		cmd = "run"
	}
	return Holder{RunID: info.ID, Command: cmd, StartedAt: info.StartedAt.UTC(), Host: host, PID: os.Getpid()}
}

// Blob metadata names of a holder record (C# identifiers, as Blob
// Storage requires).
const (
	metaRunID   = "offboardrunid"
	metaCommand = "offboardcommand"
	metaStarted = "offboardstartedat"
	metaHost    = "offboardhost"
	metaPID     = "offboardpid"
)

// Metadata is the holder as a lock blob's metadata.
func (h Holder) Metadata() map[string]*string {
	s := func(v string) *string { return &v }
	return map[string]*string{metaRunID: s(h.RunID), metaCommand: s(h.Command),
		metaStarted: s(h.StartedAt.Format(time.RFC3339)), metaHost: s(h.Host), metaPID: s(strconv.Itoa(h.PID))}
}

// HolderFromMetadata reads a lock blob's metadata (names compared without
// case, as Blob Storage keeps them); nil when it holds no record.
func HolderFromMetadata(md map[string]*string) *Holder {
	get := func(name string) string {
		for k, v := range md {
			if strings.EqualFold(k, name) && v != nil {
				return *v
			}
		}
		return ""
	}
	h := Holder{RunID: get(metaRunID), Command: get(metaCommand), Host: get(metaHost)}
	if h.RunID == "" {
		return nil
	}
	h.StartedAt, _ = time.Parse(time.RFC3339, get(metaStarted))
	h.PID, _ = strconv.Atoi(get(metaPID))
	return &h
}

// parseHolder reads a lock file's content; nil when it holds no record.
func parseHolder(b []byte) *Holder {
	var h Holder
	if len(b) == 0 || json.Unmarshal(b, &h) != nil || h.RunID == "" {
		return nil
	}
	return &h
}

// BusyError is ErrBusy with what is known of the run holding the lock.
type BusyError struct {
	// Lock is the lock's path, or its blob's name.
	Lock string
	// Holder is what the holder recorded; nil when nothing was.
	Holder *Holder
	// State says whether the holder still works and when the lock goes
	// away: the advice that ends the message.
	State string
}

func (e *BusyError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "report: %s: %s", e.Lock, ErrBusy)
	if h := e.Holder; h != nil {
		fmt.Fprintf(&b, ": held by %s %s", h.Command, h.RunID)
		if !h.StartedAt.IsZero() {
			fmt.Fprintf(&b, ", started %s", h.StartedAt.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(&b, ", on host %q, pid %d", h.Host, h.PID)
	}
	if e.State != "" {
		b.WriteString("; " + e.State)
	}
	return b.String()
}

func (e *BusyError) Unwrap() error { return ErrBusy }

// busyLocal is the error of a local lock another process holds: the
// record read from its file, and what can be told of its holder from
// here (alive reports whether a process of this host runs).
func busyLocal(path string, record []byte, alive func(pid int) bool) error {
	h := parseHolder(record)
	e := &BusyError{Lock: path, Holder: h}
	host, _ := os.Hostname()
	switch {
	case h == nil:
		e.State = "the holder recorded nothing (an offboard check probing the directory for a moment, a run just starting, " +
			"or an offboard older than this one): try again in a moment; fuser -v " + path + " names the process"
	case h.Host != host:
		e.State = "that is another host (the directory is on a shared file system): the lock goes when that process ends, " +
			"or, if the host is gone, when the file server drops its session"
	case alive(h.PID):
		e.State = fmt.Sprintf("that process is running: wait for it to finish (a rerun then picks up where it is), or stop it (kill %d); "+
			"a lock is never left behind by a process that died: the kernel releases it", h.PID)
	default:
		e.State = fmt.Sprintf("the record is stale: process %d no longer runs on this host, and the lock is held by another process "+
			"(an offboard check probing the directory for a moment, or one that inherited the lock file): try again in a moment; "+
			"fuser -v %s names it", h.PID, path)
	}
	return e
}

// BusyLease is the error of a blob location whose lock blob another
// holds a lease on: the holder its metadata records, the lease's
// duration as Blob Storage reports it ("fixed" or "infinite"), and how
// long the job's leases last and how often it renews them.
func BusyLease(name string, md map[string]*string, duration string, lease, renew time.Duration) error {
	e := &BusyError{Lock: name, Holder: HolderFromMetadata(md)}
	switch {
	case strings.EqualFold(duration, "infinite"):
		e.State = "the lease is infinite, which offboard never takes: someone took it by hand; " +
			"break it (az storage blob lease break) once nobody works in the location"
	case e.Holder == nil:
		e.State = fmt.Sprintf("the holder recorded nothing (an offboard older than this one): its lease lasts %v and is renewed every %v "+
			"while it works; if it was killed, the lease expires by itself within %v: rerun then", lease, renew, lease)
	default:
		e.State = fmt.Sprintf("its lease lasts %v and is renewed every %v while it works: if that run was killed, "+
			"the lease expires by itself within %v of its last renewal: rerun then", lease, renew, lease)
	}
	return e
}

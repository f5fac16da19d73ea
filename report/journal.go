package report

import (
	"encoding/json"
	"time"

	"github.com/offboard/offboard/job"
)

// The journal is JSON lines, one record per line, each record's "type" first:
//
//	{"type":"run","run_id":…,"dir_id":…,"tenant_id":…,"input_sha256":…,"started_at":…,"dry_run":…}
//	{"type":"plan","principal_id":…,"upn":…,…,"raw":{…}}
//	{"type":"applying","run_id":…}
//	{"type":"outcome","principal_id":…,"source":…,"assignment_id":…,"line":…,"state":…,"detail":…,"attempts":…,"updated_at":…}
//
// Times are RFC 3339 with nanoseconds in UTC, empty for the zero time, so
// that they read back equal.
//
// dir_id is the report directory's id: drawn at random when an
// authenticated journal is created, and repeated by every later run record
// (a rerun's, a restore's in restore.jsonl), so that the records of one
// directory name it and a journal copied into another does not match that
// directory's summary. A journal begun before issue 24 has none, and keeps
// none.
//
// tenant_id is the Entra tenant the run acted in (issue 31): --tenant, or
// the tid of its token; absent when neither was known (a static token that
// is not a JWT) and in journals written before. The first run record that
// names one gives the directory's tenant; a run record naming another is
// not the job's (it refuses to run into another tenant's directory).

type runRecord struct {
	Type        string `json:"type"`
	RunID       string `json:"run_id"`
	DirID       string `json:"dir_id,omitempty"`
	TenantID    string `json:"tenant_id,omitempty"`
	InputSHA256 string `json:"input_sha256"`
	StartedAt   string `json:"started_at"`
	DryRun      bool   `json:"dry_run"`
}

type planRecord struct {
	Type             string          `json:"type"`
	PrincipalID      string          `json:"principal_id"`
	UPN              string          `json:"upn"`
	Reference        string          `json:"reference"`
	Source           string          `json:"source"`
	Kind             string          `json:"kind"`
	AssignmentID     string          `json:"assignment_id"`
	RoleDefinitionID string          `json:"role_definition_id"`
	RoleName         string          `json:"role_name,omitempty"`
	Scope            string          `json:"scope"`
	State            string          `json:"state"`
	Detail           string          `json:"detail"`
	Attempts         int             `json:"attempts"`
	UpdatedAt        string          `json:"updated_at"`
	Line             int             `json:"line"`
	Raw              json.RawMessage `json:"raw,omitempty"`
	// Keys are the mails and employee ids the input named the principal
	// by, so that a rerun resolves them after the account is deleted.
	Keys []string `json:"keys,omitempty"`
}

type applyingRecord struct {
	Type  string `json:"type"`
	RunID string `json:"run_id"`
}

type outcomeRecord struct {
	Type         string `json:"type"`
	PrincipalID  string `json:"principal_id"`
	Source       string `json:"source"`
	AssignmentID string `json:"assignment_id"`
	Line         int    `json:"line"`
	State        string `json:"state"`
	Detail       string `json:"detail"`
	Attempts     int    `json:"attempts"`
	UpdatedAt    string `json:"updated_at"`
}

// anyRecord is every record type's fields, for reading.
type anyRecord struct {
	Type        string `json:"type"`
	RunID       string `json:"run_id"`
	DirID       string `json:"dir_id"`
	TenantID    string `json:"tenant_id"`
	InputSHA256 string `json:"input_sha256"`
	StartedAt   string `json:"started_at"`
	DryRun      bool   `json:"dry_run"`
	// KindSet is a plan record's kind, nil in a journal written before
	// kinds (planRecord's own Kind is shadowed by it).
	KindSet *string `json:"kind"`
	planRecord
}

func planRecordOf(it job.Item) planRecord {
	return planRecord{
		Type:             "plan",
		PrincipalID:      it.PrincipalID,
		UPN:              it.UPN,
		Reference:        it.Reference,
		Source:           it.Source,
		Kind:             it.Kind,
		AssignmentID:     it.AssignmentID,
		RoleDefinitionID: it.RoleDefinitionID,
		RoleName:         it.RoleName,
		Scope:            it.Scope,
		State:            string(it.State),
		Detail:           it.Detail,
		Attempts:         it.Attempts,
		UpdatedAt:        formatTime(it.UpdatedAt),
		Line:             it.Line,
		Raw:              it.Raw,
		Keys:             keysOf(it),
	}
}

func keysOf(it job.Item) []string {
	if it.Keys == nil {
		return nil
	}
	return *it.Keys
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

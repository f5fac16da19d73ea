package location

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"go.uber.org/zap"

	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/location/blob"
)

// Storage reaches the locations of one command: its standard input, and
// Blob Storage with the connection string, if
// AZURE_STORAGE_CONNECTION_STRING is set, else the job's credential.
type Storage struct {
	// ConnectionString is AZURE_STORAGE_CONNECTION_STRING.
	ConnectionString string
	// Token is the job's credential.
	Token azcore.TokenCredential
	// StaticToken: the credential is OFFBOARD_STATIC_TOKEN, accepted only
	// for a blob service on loopback.
	StaticToken bool
	Stdin       io.Reader
	Log         *zap.Logger
	// AfterCopy, when not nil, is called when a drop-folder file has
	// been copied to the processed location and before its source is
	// removed (a test kills the process there).
	AfterCopy func()
}

// store opens the container of a blob location.
func (s *Storage) store(l Location) (*blob.Store, error) {
	if l.err != nil {
		return nil, l.err
	}
	if s.ConnectionString != "" {
		return blob.Open(l.blob, blob.Credentials{ConnectionString: s.ConnectionString})
	}
	if s.StaticToken && !strings.HasPrefix(l.blob.Container, "http://") {
		return nil, fmt.Errorf("OFFBOARD_STATIC_TOKEN is accepted only on loopback; %s is not", l.blob.Container)
	}
	return blob.Open(l.blob, blob.Credentials{Token: s.Token})
}

// ReadSummary reads the summary of a report location, if it has one that
// verifies under the journal key: a summary anyone else wrote is no
// summary (the run that follows refuses a forged one).
func (s *Storage) ReadSummary(ctx context.Context, l Location, key *report.Key) (report.Summary, bool) {
	if !l.isBlob {
		sum, err := report.ReadAuthenticSummary(l.spec, key)
		return sum, err == nil
	}
	store, err := s.store(l)
	if err != nil {
		return report.Summary{}, false
	}
	data, err := store.Read(ctx, l.blob.Join(summaryName).Path, 1<<20)
	if err != nil {
		return report.Summary{}, false
	}
	sum, err := report.ParseSummary(summaryName, data, key)
	return sum, err == nil
}

// FinishedCleanly reports whether a report location holds a finished,
// clean (exit code 0), real run of exactly this input.
func (s *Storage) FinishedCleanly(ctx context.Context, input, rep Location, key *report.Key) bool {
	_, ok := s.CleanRun(ctx, input, rep, key)
	return ok
}

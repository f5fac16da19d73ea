package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/arm"
	"github.com/offboard/offboard/job/csvinput"
	"github.com/offboard/offboard/job/graph"
	"github.com/offboard/offboard/job/transport"
	"github.com/offboard/offboard/report"
	"github.com/offboard/offboard/report/location"
)

// runJob is `offboard run` (and `plan`, with dryRun).
func runJob(ctx context.Context, args []string, sio stdio, dryRun bool) int {
	c, err := parseRunFlags(args, sio.env, sio.err)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(sio.err, "offboard: %v\n", err)
		return exitUsage
	}
	c.DryRun = c.DryRun || dryRun
	log, disp := newOutput(&c, sio.err, false)
	defer func() { _ = log.Sync() }()
	defer disp.stop() // what was written last is shown
	// A location with a query (a SAS URL) is refused here, before any log
	// line could repeat it; each is parsed here only.
	input, err := location.Parse(c.Input)
	var rep location.Location
	if err == nil {
		rep, err = location.Parse(c.Report)
	}
	if err != nil {
		log.Error("the location cannot be used", zap.Error(err))
		return exitUsage
	}
	creds, err := newCredentials(c, sio.env)
	if err != nil {
		log.Error("authentication is not configured", zap.Error(err))
		return exitUsage
	}
	key, err := keyFor(log, sio.env, rep)
	if err != nil {
		return exitUsage
	}
	j := &jobRun{cfg: c, log: log, io: sio, creds: creds, display: disp, key: key, input: input, report: rep,
		storage: newStorage(sio, creds, log)}
	files, folder, err := j.storage.DropFolder(ctx, input)
	switch {
	case err != nil:
		log.Error("the drop folder cannot be listed", zap.Error(err))
		return exitUsage
	case folder:
		return j.runFolder(ctx, files)
	}
	return j.run(ctx)
}

// jobRun is one execution of the job, from input to exit code.
type jobRun struct {
	cfg   config
	log   *zap.Logger
	io    stdio
	creds credentials
	// display is the terminal's live view; nil when nobody watches.
	display *display
	// key authenticates the report location's records.
	key *report.Key
	// input and report are --input and --report, parsed.
	input, report location.Location
	// storage reads and writes them.
	storage *location.Storage
}

// newStorage reaches the locations of a command with its credentials.
func newStorage(sio stdio, creds credentials, log *zap.Logger) *location.Storage {
	cs, _ := sio.env("AZURE_STORAGE_CONNECTION_STRING")
	return &location.Storage{ConnectionString: cs, Token: creds.arm(), StaticToken: creds.static != "", Stdin: sio.in, Log: log}
}

// The variables that give the journal key (report/location).
const (
	journalKeyEnv     = location.KeyEnv
	journalKeyFileEnv = location.KeyFileEnv
)

// keyFor loads the journal key for a command working in reportSpec, and logs
// where it came from; the error is logged.
func keyFor(log *zap.Logger, env func(string) (string, bool), rep location.Location) (*report.Key, error) {
	jk, err := location.LoadKey(env, rep)
	if err != nil {
		log.Error("the journal key is not usable: records cannot be authenticated", zap.Error(err))
		return nil, err
	}
	if jk.Created {
		log.Warn("created the journal key file: keep it (or set OFFBOARD_JOURNAL_KEY); without it, restore refuses the records written now",
			zap.String("key_file", jk.Source))
	}
	return jk.Key, nil
}

func (j *jobRun) run(ctx context.Context) int {
	c := j.cfg
	started := time.Now().UTC()
	runID := newRunID()
	log := j.log.With(zap.String("run_id", runID))

	data, err := j.storage.ReadInput(ctx, j.input)
	if err != nil {
		if ctx.Err() != nil {
			log.Error("interrupted while reading the input: nothing was done", zap.Error(err))
			return exitInterrupted
		}
		log.Error("the input cannot be read", zap.Error(err))
		return exitUsage
	}
	entries, err := csvinput.Read(bytes.NewReader(data))
	if err != nil {
		log.Error("the input cannot be used", zap.String("input", c.Input), zap.Error(err))
		return exitUsage
	}
	sum := sha256.Sum256(data)
	inputSHA := hex.EncodeToString(sum[:])

	creds := j.creds
	graphToken := creds.forAudience(c.GraphEndpoint)
	if c.SelfID == "" {
		tok, err := graphToken(ctx)
		if err != nil {
			log.Error("cannot authenticate to Graph", zap.Error(err))
			return exitUsage
		}
		if c.SelfID, err = oidOf(tok); err != nil {
			log.Warn("the job's own object id is unknown: pass --self-id so that it is never touched", zap.Error(err))
		}
	}

	dir, err := j.storage.OpenReport(ctx, j.report, inputSHA, report.RunInfo{ID: runID, StartedAt: started, DryRun: c.DryRun, Key: j.key})
	if err != nil {
		log.Error("the report directory cannot be used", zap.String("report", c.Report), zap.Error(err))
		return exitUsage
	}
	defer func() {
		if err := dir.Close(); err != nil {
			log.Error("closing the report directory", zap.Error(err))
		}
	}()
	for _, w := range dir.Warnings() {
		log.Warn(w)
	}

	sources, dirSvc, admins, err := j.services(creds, graphToken)
	if err != nil {
		log.Error("setting up the services", zap.Error(err))
		return exitUsage
	}
	runner := &job.Runner{
		Sources:     sources,
		Directory:   dirSvc,
		Recorder:    dir,
		Log:         log,
		Concurrency: c.Concurrency,
		MaxRemovals: c.MaxRemovals,
		Protect:     c.Protect,
		SelfID:      c.SelfID,
		DryRun:      c.DryRun,
		Previous:    dir.Previous(),
		Grace:       c.Grace,
		RunID:       runID,
		Guards:      []job.Guard{job.LastGlobalAdmin{Admins: admins, Log: log}},
		Observer:    j.observer(),
	}
	for _, s := range sources {
		// A source that knows what it must not remove (groups: a
		// group's last owner, a dynamic group's members) guards it.
		if g, ok := s.(job.Guard); ok {
			runner.Guards = append(runner.Guards, g)
		}
	}
	log.Info("run starting", zap.String("input", c.Input), zap.String("input_sha256", inputSHA),
		zap.Int("entries", len(entries)), zap.Strings("sources", c.Sources), zap.Bool("dry_run", c.DryRun))
	runCtx, cancel := withTimeout(ctx, started, c.Timeout)
	defer cancel()
	res, runErr := runner.Run(runCtx, entries)
	if res.DeadlineReached {
		log.Warn("the run reached its --timeout: rows not started stay planned; rerun with the same input and report directory to finish",
			zap.Duration("timeout", c.Timeout))
	}
	code := res.ExitCode()
	if runErr != nil {
		log.Error("the run stopped: the report directory could not be written (disk full?); no new work was started. "+
			"What was done is in the journal: fix the directory, then rerun with the same input and report directory", zap.Error(runErr))
		code = max(code, exitRowsFailed)
		if res.Items == nil {
			// Nothing trustworthy to report: the journal keeps what happened.
			return code
		}
	}
	summary := report.Summary{RunID: runID, InputSHA256: inputSHA, DryRun: c.DryRun, StartedAt: started}
	end := ending{command: "run", files: runReportFiles, display: j.display,
		rerun: rerunCommand("run", c.Input, c.Report, c.Changed)}
	if c.DryRun {
		end.command, end.rerun = "plan", rerunCommand("plan", c.Input, c.Report, c.Changed)
	}
	return finish(log, dir, "run finished", job.States, res, summary, code, j.report, func() error { return dir.Publish(ctx) }, end)
}

// withTimeout gives ctx the --timeout deadline counted from started, when
// there is one: the runner starts no work after it and cuts off what is in
// flight; the report is still written.
func withTimeout(ctx context.Context, started time.Time, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, started.Add(timeout))
}

// reportWriter is a report location a run or a restore ends with.
type reportWriter interface {
	WriteReport(items []job.Item) error
	WriteSummary(s report.Summary) error
	WriteSummaryHTML(p report.Page) error
}

// ending is what the end of a run or a restore shows a person: the
// command that ran and how to run it again (summary.html, the terminal),
// and the terminal's display, if any.
type ending struct {
	command string
	rerun   string
	files   reportFiles
	display *display
}

// finish writes the report and the summary of a run or a restore that
// ended with code, counting states, then publish (when not nil), and logs
// event with the counts. It returns the exit code, at least 1 when the
// report could not be written.
func finish(log *zap.Logger, dir reportWriter, event string, states []job.State, res job.Result,
	summary report.Summary, code int, where location.Location, publish func() error, end ending) int {
	if end.display != nil {
		// The bars stay as last drawn; what follows goes below them.
		defer end.display.stop()
	}
	if err := dir.WriteReport(res.Items); err != nil {
		log.Error("writing the report", zap.Error(err))
		return max(code, exitRowsFailed)
	}
	counts := res.Counts()
	summary.FinishedAt, summary.ExitCode, summary.Guard = time.Now().UTC(), code, res.Guard
	summary.Unavailable = res.Unavailable
	summary.Counts = map[string]int{}
	fields := []zap.Field{zap.Int("exit_code", code)}
	for _, s := range states {
		summary.Counts[string(s)] = counts[s]
		fields = append(fields, zap.Int(string(s), counts[s]))
	}
	if err := dir.WriteSummary(summary); err != nil {
		log.Error("writing the summary", zap.Error(err))
		return max(code, exitRowsFailed)
	}
	page := report.Page{Summary: summary, Command: end.command, Location: where.String(), Rerun: end.rerun, Items: res.Items}
	if err := dir.WriteSummaryHTML(page); err != nil {
		log.Error("writing the summary page", zap.Error(err))
		return max(code, exitRowsFailed)
	}
	if publish != nil {
		if err := publish(); err != nil {
			log.Error("uploading the report", zap.Error(err))
			return max(code, exitRowsFailed)
		}
	}
	if res.Guard != "" {
		fields = append(fields, zap.String("guard", res.Guard))
	}
	fields = append(fields, zap.String("report", where.String()), zap.Duration("elapsed", time.Since(summary.StartedAt).Round(time.Millisecond)))
	log.Info(event, fields...)
	if end.display != nil {
		end.display.stop()
		files := end.files
		files.at = where.At
		printSummary(end.display, end.command, states, res, summary, where.String(), files, end.rerun)
	}
	return code
}

// services builds the sources the configuration selects, over one paced,
// retrying transport per service.
func (j *jobRun) services(creds credentials, graphToken tokenSource) ([]job.Source, job.Directory, job.Admins, error) {
	c := j.cfg
	gate := &job.Gate{OnThrottled: j.onThrottled()}
	reads := job.NewPace(gate, 0, 1)
	writes := job.NewPace(gate, c.GraphWriteRate, c.GraphWriteBurst)
	graphTransport := &transport.Transport{
		Base:           baseTransport(c.Concurrency, c.RequestTimeout),
		Token:          graphToken,
		Endpoints:      []string{c.GraphEndpoint},
		MaxAttempts:    c.MaxAttempts,
		AttemptTimeout: c.RequestTimeout,
		Log:            j.log,
		Pace: func(r *http.Request) *job.Pace {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return reads
			}
			return writes
		},
	}
	gc, err := graph.New(graph.Config{Root: c.GraphEndpoint, Transport: graphTransport, UserAgent: version,
		BatchSize: c.GraphBatchSize, Log: j.log})
	if err != nil {
		return nil, nil, nil, err
	}
	var sources []job.Source
	for _, name := range c.Sources {
		switch name {
		case job.SourceDirectory:
			sources = append(sources, gc.DirectoryRoles())
		case job.SourcePIM:
			sources = append(sources, gc.Eligibilities())
		case job.SourceGroups:
			sources = append(sources, gc.Memberships())
		case job.SourceAzure:
			src, err := j.azure(creds)
			if err != nil {
				return nil, nil, nil, err
			}
			sources = append(sources, src)
		default:
			return nil, nil, nil, fmt.Errorf("source %q is not available in this build", name)
		}
	}
	return sources, gc, gc, nil
}

// baseTransport sends one attempt of a request; requestTimeout bounds the
// wait for the answer's headers (the transport bounds the whole attempt).
func baseTransport(concurrency int, requestTimeout time.Duration) http.RoundTripper {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * concurrency,
		MaxIdleConnsPerHost:   2 * concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: requestTimeout,
		ExpectContinueTimeout: time.Second,
	}
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// newLogger builds the run's one logger, writing to w.
func newLogger(format string, w io.Writer) *zap.Logger {
	var enc zapcore.Encoder
	if format == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), zap.InfoLevel))
}

// azure builds the `azure` source over a transport that paces ARM per
// subscription, as ARM throttles: deletes (and the PUTs of eligibility
// requests) at --arm-delete-rate, reads at ARM's 25 a second.
func (j *jobRun) azure(creds credentials) (job.Source, error) {
	c := j.cfg
	paces := &subscriptionPaces{deleteRate: c.ARMDeleteRate, deleteBurst: c.ARMDeleteBurst, onThrottled: j.onThrottled()}
	t := &transport.Transport{
		Base:           &armCounters{next: baseTransport(c.Concurrency, c.RequestTimeout), paces: paces, reserve: c.Concurrency},
		MaxAttempts:    c.MaxAttempts,
		AttemptTimeout: c.RequestTimeout,
		Log:            j.log,
		Pace:           paces.pace,
		Endpoints:      []string{c.ARMEndpoint},
	}
	u, _ := url.Parse(c.ARMEndpoint)
	return arm.New(arm.Config{
		Cloud:        clouds[c.Cloud].azcore,
		Endpoint:     c.armOverride(),
		Credential:   creds.arm(),
		Transport:    t,
		InsecureHTTP: u.Scheme == "http" && isLoopback(u),
		Scopes:       c.AzureScopes,
		Concurrency:  c.Concurrency,
		HeldUntil: func(scope string) time.Time {
			return paces.pace(&http.Request{Method: http.MethodDelete, URL: &url.URL{Path: scope}}).Gate().Until()
		},
	})
}

// subscriptionPaces holds one gate and two buckets per subscription, made
// on first use; requests outside a subscription share the tenant's.
type subscriptionPaces struct {
	deleteRate  float64
	deleteBurst int
	onThrottled func()
	mu          sync.Mutex
	bySub       map[string][3]*job.Pace
}

func (s *subscriptionPaces) pace(r *http.Request) *job.Pace {
	sub := subscriptionOf(r.URL.Path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bySub == nil {
		s.bySub = map[string][3]*job.Pace{}
	}
	p, ok := s.bySub[sub]
	if !ok {
		// ARM counts reads, deletes and writes in buckets of their own;
		// writes (eligibility removal requests) are paced as deletes.
		gate := &job.Gate{OnThrottled: s.onThrottled}
		p = [3]*job.Pace{job.NewPace(gate, 25, 250), job.NewPace(gate, s.deleteRate, s.deleteBurst),
			job.NewPace(gate, s.deleteRate, s.deleteBurst)}
		s.bySub[sub] = p
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return p[0]
	case http.MethodDelete:
		return p[1]
	}
	return p[2]
}

// subscriptionOf returns the subscription id a path is under, or "".
func subscriptionOf(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		return strings.ToLower(segs[1])
	}
	return ""
}

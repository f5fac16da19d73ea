package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/preflight"
	"github.com/offboard/offboard/job/transport"
	"github.com/offboard/offboard/report/location"
)

// CheckConfig is what `check` needs: what a run would use, and how to
// show the results.
type CheckConfig struct {
	Config
	// Output is table or json.
	Output string
	// InputErr and ReportErr say why --input or --report could not be
	// parsed: a failed check, not a usage error.
	InputErr, ReportErr error
}

// Check is `offboard check`: a read-only preflight. It sends no write.
func Check(ctx context.Context, c CheckConfig, d Deps) int {
	creds, err := d.credentials(c.Config)
	if err != nil {
		d.Log.Error("authentication is not configured", zap.Error(err))
		return ExitUsage
	}
	j := &jobRun{cfg: c.Config, log: d.Log, deps: d, creds: creds, input: c.InputAt, report: c.ReportAt,
		storage: d.storage(creds, d.Log)}
	results := j.check(ctx, c.InputErr, c.ReportErr)
	code := ExitOK
	if !preflight.Usable(results) {
		code = ExitRowsFailed
	}
	if c.Output == "json" {
		preflight.WriteJSON(d.Stdout, results)
	} else {
		preflight.WriteTable(d.Stdout, results)
	}
	return code
}

// check runs every check and returns their results, in a stable order.
func (j *jobRun) check(ctx context.Context, inputErr, reportErr error) []preflight.Result {
	c := j.cfg
	var out []preflight.Result
	out = append(out, j.checkInput(ctx, inputErr)...)
	out = append(out, j.checkReport(ctx, reportErr)...)

	graphToken := j.creds.ForAudience(c.GraphEndpoint)
	tok, err := graphToken(ctx)
	if c.Tenant != "" {
		out = append(out, j.checkConsent(err))
	}
	if err != nil {
		return append(out, preflight.Result{Check: "token", Name: "graph", Status: preflight.Error, Detail: err.Error(),
			Fix: "configure the identity (README, Authentication)"})
	}
	self := c.SelfID
	if self == "" {
		if self, err = transport.OIDOf(tok); err != nil {
			return append(out, preflight.Result{Check: "token", Name: "graph", Status: preflight.Error,
				Detail: "the job's own object id is unknown: " + err.Error(), Fix: "pass --self-id"})
		}
	}
	id := preflight.NewIdentity(self, tok, Kinds())

	// Sources are built as a run builds them, but with no batching: each
	// check reads one principal, the job itself.
	graphOnly := c
	graphOnly.GraphBatchSize = 1
	graphOnly.Sources = slices.DeleteFunc(slices.Clone(c.Sources), OnARM)
	svc, err := j.deps.Services(graphOnly, j.creds, j.log, nil)
	if err != nil {
		return append(out, preflight.Result{Check: "setup", Name: "graph", Status: preflight.Error, Detail: err.Error()})
	}
	me := []job.Principal{{ID: self}}
	guardRead := false
	for _, src := range svc.Sources {
		_, err := src.Find(ctx, me)
		if name := src.Name(); (name == job.SourceDirectory || name == job.SourceGroups) && !guardRead && svc.Admins != nil {
			// The last-Global-Administrator guard runs before the first
			// removal of either: its read (the role's assignments and
			// the members of the groups holding it) is read as it would be.
			guardRead = true
			if _, gerr := svc.Admins.GlobalAdmins(ctx); gerr != nil {
				err = errors.Join(err, fmt.Errorf("the last-Global-Administrator guard's read: %w", gerr))
			}
		}
		out = append(out, id.Graph(src.Name(), err))
	}
	// Resolving the input's user keys reads /users: the job's own id is
	// a service principal, so "no such user" proves the read works.
	// An azure-only run lists by object id and needs none of Graph's.
	if len(graphOnly.Sources) > 0 {
		key := job.UserKey{Kind: job.KeyUPN, Value: self}
		res := svc.Directory.Resolve(ctx, []job.UserKey{key})[key]
		out = append(out, id.Graph("users", res.Err))
	}
	// The input's lines, resolved as the run will resolve them.
	out = append(out, j.checkLines(ctx, svc.Directory)...)

	if slices.Contains(c.Sources, job.SourceAzure) {
		checker, err := j.deps.AzureChecker(c, j.creds, j.log)
		out = append(out, preflight.Azure(ctx, checker, err, self, Kinds().Permissions(job.SourceAzure))...)
	}
	if slices.Contains(c.Sources, job.SourceKeyVault) {
		checker, err := j.deps.AzureChecker(c, j.creds, j.log)
		out = append(out, preflight.KeyVault(ctx, checker, err, self, Kinds().Permissions(job.SourceKeyVault))...)
	}
	return out
}

// checkConsent says whether a token could be had for --tenant (the
// tenant's admin consented to the application, and the identity is that
// tenant's), from what asking for the Graph token said.
func (j *jobRun) checkConsent(err error) preflight.Result {
	c := j.cfg
	r := preflight.Result{Check: "tenant", Name: c.Tenant, Status: preflight.OK,
		Detail: "a Graph token for the tenant was issued: the application is consented there"}
	if err == nil {
		return r
	}
	r.Status, r.Detail = preflight.Error, err.Error()
	if errors.Is(err, transport.ErrOtherTenant) {
		r.Fix = "the identity's token is another tenant's: with one deployment for many tenants, set OFFBOARD_AUTH=federated (README, Authentication)"
		return r
	}
	clientID, _ := j.deps.Env("AZURE_CLIENT_ID")
	r.Fix = "an administrator of the tenant consents to the application (Privileged Role Administrator or Global Administrator): " +
		AdminConsentURL(c.Cloud, c.Tenant, cmp.Or(clientID, "{application client id}"))
	return r
}

// AdminConsentURL is the page where an administrator of tenant grants
// tenant-wide admin consent to the application clientID, for the
// permissions its registration requests.
func AdminConsentURL(cloud, tenant, clientID string) string {
	login := cmp.Or(clouds[cloud].Login, clouds["public"].Login)
	return strings.TrimRight(login, "/") + "/" + tenant + "/adminconsent?client_id=" + clientID
}

// checkInput reads the input as a run would, when one is given.
func (j *jobRun) checkInput(ctx context.Context, parseErr error) []preflight.Result {
	spec := j.cfg.Input
	r := preflight.Result{Check: "input", Name: spec, Status: preflight.OK}
	switch spec {
	case "":
		r.Name, r.Status, r.Detail = "-", preflight.Skipped, "no --input given"
		return []preflight.Result{r}
	case "-":
		r.Status, r.Detail = preflight.Skipped, "standard input is not read by a check"
		return []preflight.Result{r}
	}
	files, folder, err := j.storage.DropFolder(ctx, j.input)
	if parseErr != nil {
		err = parseErr
	}
	input := j.input
	switch {
	case err != nil:
		r.Status, r.Detail = preflight.Error, "the drop folder cannot be listed: "+err.Error()
		return []preflight.Result{r}
	case folder && len(files) == 0:
		r.Detail = "a drop folder, empty now"
		return []preflight.Result{r}
	case folder:
		// The file the next run takes first stands for the folder.
		input = files[0].Input
		r.Name = input.String()
	}
	data, err := j.storage.ReadInput(ctx, input)
	return []preflight.Result{preflight.InputRows(r, data, err)}
}

// checkReport checks that a run could open the report location: a local
// directory writable and lockable, nothing left behind. A blob location
// is not probed: a probe would have to write.
func (j *jobRun) checkReport(ctx context.Context, parseErr error) []preflight.Result {
	spec := j.cfg.Report
	r := preflight.Result{Check: "report", Name: spec, Status: preflight.OK}
	if spec == "" {
		r.Name, r.Status, r.Detail = "-", preflight.Skipped, "no --report given"
		return []preflight.Result{r}
	}
	if parseErr != nil {
		r.Status, r.Detail = preflight.Error, parseErr.Error()
		return []preflight.Result{r}
	}
	switch probed, err := location.Probe(j.report); {
	case !probed:
		r.Status, r.Detail = preflight.Skipped, "a blob location is not probed (that would write)"
	case err != nil:
		r.Status, r.Detail = preflight.Error, err.Error()
	default:
		r.Detail = "writable and lockable"
		state, refused := j.reportState(ctx)
		if state != "" {
			r.Detail += "; " + state
		}
		if refused != "" {
			r.Status, r.Detail = preflight.Error, refused
			r.Fix = "use another --report (one directory per input file), or the input it was written for"
		}
	}
	return []preflight.Result{r}
}

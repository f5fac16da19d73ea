package main

import (
	"context"
	"net/url"
	"slices"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/arm"
	"github.com/offboard/offboard/job/preflight"
	"github.com/offboard/offboard/job/transport"
)

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// check runs every check and returns their results, in a stable order.
func (j *jobRun) check(ctx context.Context, inputErr, reportErr error) []preflight.Result {
	c := j.cfg
	var out []preflight.Result
	out = append(out, j.checkInput(ctx, inputErr)...)
	out = append(out, j.checkReport(reportErr)...)

	graphToken := j.creds.forAudience(c.GraphEndpoint)
	tok, err := graphToken(ctx)
	if err != nil {
		return append(out, preflight.Result{Check: "token", Name: "graph", Status: preflight.Error, Detail: err.Error(),
			Fix: "configure the identity (README, Authentication)"})
	}
	self := c.SelfID
	if self == "" {
		if self, err = oidOf(tok); err != nil {
			return append(out, preflight.Result{Check: "token", Name: "graph", Status: preflight.Error,
				Detail: "the job's own object id is unknown: " + err.Error(), Fix: "pass --self-id"})
		}
	}
	id := preflight.NewIdentity(self, tok)

	// Sources are built as a run builds them, but with no batching: each
	// check reads one principal, the job itself.
	c.GraphBatchSize = 1
	graphSources := slices.DeleteFunc(slices.Clone(c.Sources), func(s string) bool { return s == job.SourceAzure })
	jc := *j
	jc.cfg.Sources = graphSources
	sources, dir, _, err := jc.services(j.creds, graphToken)
	if err != nil {
		return append(out, preflight.Result{Check: "setup", Name: "graph", Status: preflight.Error, Detail: err.Error()})
	}
	me := []job.Principal{{ID: self}}
	for _, src := range sources {
		_, err := src.Find(ctx, me)
		out = append(out, id.Graph(src.Name(), err))
	}
	// Resolving the input's user keys reads /users: the job's own id is
	// a service principal, so "no such user" proves the read works.
	// An azure-only run lists by object id and needs none of Graph's.
	if len(graphSources) > 0 {
		key := job.UserKey{Kind: job.KeyUPN, Value: self}
		res := dir.Resolve(ctx, []job.UserKey{key})[key]
		out = append(out, id.Graph("users", res.Err))
	}

	if slices.Contains(c.Sources, job.SourceAzure) {
		out = append(out, j.checkAzure(ctx, self)...)
	}
	return out
}

// checkAzure wires the Checker of the azure source and judges what it
// reads (preflight.Azure).
func (j *jobRun) checkAzure(ctx context.Context, self string) []preflight.Result {
	c := j.cfg
	t := &transport.Transport{
		Base:           baseTransport(c.Concurrency, c.RequestTimeout),
		MaxAttempts:    c.MaxAttempts,
		AttemptTimeout: c.RequestTimeout,
		Log:            j.log,
		Pace:           (&subscriptionPaces{deleteRate: c.ARMDeleteRate, deleteBurst: c.ARMDeleteBurst}).pace,
	}
	u, _ := url.Parse(c.ARMEndpoint)
	checker, err := arm.NewChecker(arm.Config{
		Cloud:        clouds[c.Cloud].azcore,
		Endpoint:     c.armOverride(),
		Credential:   j.creds.arm(),
		Transport:    t,
		InsecureHTTP: u.Scheme == "http" && isLoopback(u),
		Scopes:       c.AzureScopes,
	})
	return preflight.Azure(ctx, checker, err, self)
}

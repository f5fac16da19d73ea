// Package arm is offboard's adapter to Azure Resource Manager: the `azure`
// source, which removes a principal's Azure RBAC role assignments and Azure
// PIM eligibilities at every scope the job is given, with armauthorization
// over the job's own transport. It needs nothing from Graph, so the
// assignments of a principal already deleted from Entra ID ("Identity not
// found") are cleaned all the same.
package arm

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// Config says where ARM is and how to reach it.
type Config struct {
	// Cloud is the azcore cloud whose ARM endpoint and audience are used;
	// Endpoint, when set, replaces the endpoint (and the audience with it).
	Cloud    cloud.Configuration
	Endpoint string
	// Credential authenticates every request (azcore's bearer policy).
	Credential azcore.TokenCredential
	// Transport sends every request: the job's pacing, retrying transport.
	// azcore's own retry policy is switched off, so a request has one retry
	// budget.
	Transport http.RoundTripper
	// InsecureHTTP allows the credential over http, for a loopback endpoint.
	InsecureHTTP bool
	// Scopes are the ARM scopes to clean; "all" means every subscription the
	// identity can list.
	Scopes []string
	// HeldUntil says until when ARM asked the requests to a scope's
	// subscription to wait (nil: never held); see Source.Lane.
	HeldUntil func(scope string) time.Time
}

// Source is the `azure` source.
type Source struct {
	assignments   *armauthorization.RoleAssignmentsClient
	eligibilities *armauthorization.RoleEligibilitySchedulesClient
	requests      *armauthorization.RoleEligibilityScheduleRequestsClient
	subscriptions *armsubscriptions.Client
	wanted        []string
	heldUntil     func(scope string) time.Time

	once   sync.Once
	scopes []string
	err    error
}

var _ job.Source = (*Source)(nil)

// New returns the `azure` source.
func New(cfg Config) (*Source, error) {
	c := cfg.Cloud
	if cfg.Endpoint != "" {
		c.Services = map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: cfg.Endpoint, Audience: cfg.Endpoint},
		}
	}
	opts := &azarm.ClientOptions{ClientOptions: policy.ClientOptions{
		Cloud:                           c,
		Transport:                       &http.Client{Transport: cfg.Transport},
		Retry:                           policy.RetryOptions{MaxRetries: -1},
		InsecureAllowCredentialWithHTTP: cfg.InsecureHTTP,
	}}
	s := &Source{wanted: cfg.Scopes, heldUntil: cfg.HeldUntil}
	var err error
	// The subscription id of the client is unused by the *ForScope and
	// *ByID calls the source makes.
	if s.assignments, err = armauthorization.NewRoleAssignmentsClient("", cfg.Credential, opts); err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	if s.eligibilities, err = armauthorization.NewRoleEligibilitySchedulesClient(cfg.Credential, opts); err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	if s.requests, err = armauthorization.NewRoleEligibilityScheduleRequestsClient(cfg.Credential, opts); err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	if s.subscriptions, err = armsubscriptions.NewClient(cfg.Credential, opts); err != nil {
		return nil, fmt.Errorf("arm: %w", err)
	}
	return s, nil
}

// Name implements job.Source.
func (*Source) Name() string { return job.SourceAzure }

// resolveScopes turns "all" into every subscription the identity can list,
// once per run.
func (s *Source) resolveScopes(ctx context.Context) ([]string, error) {
	s.once.Do(func() {
		seen := map[string]bool{}
		for _, w := range s.wanted {
			if !strings.EqualFold(w, "all") {
				if !seen[strings.ToLower(w)] {
					seen[strings.ToLower(w)] = true
					s.scopes = append(s.scopes, w)
				}
				continue
			}
			pager, lctx := s.subscriptions.NewListPager(nil), transport.Listing(ctx)
			for pager.More() {
				page, err := pager.NextPage(lctx)
				if err != nil {
					s.err = fmt.Errorf("listing subscriptions: %w", classify(err))
					return
				}
				for _, sub := range page.Value {
					if sub.ID != nil && !seen[strings.ToLower(*sub.ID)] {
						seen[strings.ToLower(*sub.ID)] = true
						s.scopes = append(s.scopes, *sub.ID)
					}
				}
			}
		}
	})
	return s.scopes, s.err
}

// Find implements job.Source: each scope lists the assignments at, above
// and below it, so an assignment on a management group is seen from every
// subscription under it: it is one assignment, kept once.
func (s *Source) Find(ctx context.Context, principals []job.Principal) ([]job.Assignment, error) {
	scopes, err := s.resolveScopes(ctx)
	if err != nil {
		return nil, err
	}
	var out []job.Assignment
	seen := map[string]bool{}
	keep := func(a job.Assignment) {
		k := strings.ToLower(a.ID)
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	for _, p := range principals {
		if !job.IsGUID(p.ID) {
			return nil, fmt.Errorf("principal id %q is not a GUID: refusing to put it in a filter", p.ID)
		}
		filter := "principalId eq '" + p.ID + "'"
		// RoleAssignmentsClient puts $filter into the URL as it is given
		// (Azure/azure-sdk-for-go#20847); the eligibility client encodes it.
		escaped := strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
		for _, scope := range scopes {
			// Each pager is one listing: a page it has read, or one past
			// the cap, is refused (transport.Listing).
			pager, lctx := s.assignments.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: &escaped}), transport.Listing(ctx)
			for pager.More() {
				page, err := pager.NextPage(lctx)
				if err != nil {
					return nil, fmt.Errorf("listing role assignments at %s: %w", scope, classify(err))
				}
				for _, ra := range page.Value {
					if a, ok := assignment(ra, p.ID); ok {
						keep(a)
					}
				}
			}
			epager, ectx := s.eligibilities.NewListForScopePager(scope, &armauthorization.RoleEligibilitySchedulesClientListForScopeOptions{Filter: &filter}), transport.Listing(ctx)
			for epager.More() {
				page, err := epager.NextPage(ectx)
				if err != nil {
					return nil, fmt.Errorf("listing role eligibility schedules at %s: %w", scope, classify(err))
				}
				for _, e := range page.Value {
					if a, ok := eligibility(e, p.ID); ok {
						keep(a)
					}
				}
			}
		}
	}
	return out, nil
}

func assignment(ra *armauthorization.RoleAssignment, principal string) (job.Assignment, bool) {
	if ra == nil || ra.ID == nil || ra.Properties == nil || !strings.EqualFold(deref(ra.Properties.PrincipalID), principal) {
		return job.Assignment{}, false
	}
	raw, _ := json.Marshal(ra)
	return job.Assignment{
		Source:           job.SourceAzure,
		ID:               *ra.ID,
		PrincipalID:      principal,
		RoleDefinitionID: deref(ra.Properties.RoleDefinitionID),
		Scope:            deref(ra.Properties.Scope),
		Raw:              raw,
	}, true
}

func eligibility(e *armauthorization.RoleEligibilitySchedule, principal string) (job.Assignment, bool) {
	if e == nil || e.ID == nil || e.Properties == nil || !strings.EqualFold(deref(e.Properties.PrincipalID), principal) {
		return job.Assignment{}, false
	}
	if mt := e.Properties.MemberType; mt != nil && *mt != armauthorization.MemberTypeDirect {
		// Held through a group: removed where it comes from.
		return job.Assignment{}, false
	}
	raw, _ := json.Marshal(e)
	return job.Assignment{
		Source:           job.SourceAzure,
		ID:               *e.ID,
		PrincipalID:      principal,
		RoleDefinitionID: deref(e.Properties.RoleDefinitionID),
		Scope:            deref(e.Properties.Scope),
		Note:             "eligible",
		Raw:              raw,
	}, true
}

// Remove implements job.Source. DeleteByID reports success for 200 and 204
// alike: the captured status tells removed (200) from already absent (204).
func (s *Source) Remove(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	if isEligibility(a.ID) {
		return s.removeEligibility(ctx, a)
	}
	var resp *http.Response
	_, err := s.assignments.DeleteByID(policy.WithCaptureResponse(ctx, &resp), a.ID, nil)
	if err != nil {
		return job.Outcome{}, classify(err)
	}
	if resp != nil && resp.StatusCode == http.StatusNoContent {
		return job.Outcome{State: job.AlreadyAbsent, Detail: "HTTP 204"}, nil
	}
	return job.Outcome{State: job.Removed}, nil
}

func isEligibility(id string) bool {
	return strings.Contains(strings.ToLower(id), "/providers/microsoft.authorization/roleeligibilityschedules/")
}

// removeEligibility sends an AdminRemove request at the schedule's scope.
func (s *Source) removeEligibility(ctx context.Context, a job.Assignment) (job.Outcome, error) {
	name, err := newName()
	if err != nil {
		return job.Outcome{}, err
	}
	remove := armauthorization.RequestTypeAdminRemove
	_, err = s.requests.Create(ctx, a.Scope, name, armauthorization.RoleEligibilityScheduleRequest{
		Properties: &armauthorization.RoleEligibilityScheduleRequestProperties{
			PrincipalID:      &a.PrincipalID,
			RoleDefinitionID: &a.RoleDefinitionID,
			RequestType:      &remove,
			Justification:    &a.Justification,
		},
	}, nil)
	err = classify(err)
	var ae *Error
	switch {
	case err == nil:
		return job.Outcome{State: job.Removed}, nil
	case errors.As(err, &ae) && ae.Code == "RoleAssignmentDoesNotExist":
		return job.Outcome{State: job.AlreadyAbsent, Detail: ae.Error()}, nil
	}
	return job.Outcome{}, err
}

// Error is a final answer of ARM: the status and the service's code and
// message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// classify turns an azcore.ResponseError into an *Error carrying ARM's own
// code and message.
func classify(err error) error {
	var re *azcore.ResponseError
	if err == nil || !errors.As(err, &re) {
		return err
	}
	e := &Error{Status: re.StatusCode, Code: re.ErrorCode}
	if re.RawResponse != nil && re.RawResponse.Body != nil {
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		// azcore has read the body already and left a copy in RawResponse.
		if json.NewDecoder(re.RawResponse.Body).Decode(&body) == nil {
			e.Code = cmpOr(e.Code, body.Error.Code)
			e.Message = body.Error.Message
		}
	}
	return e
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// newName is a fresh GUID for a request resource's name.
func newName() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("making a request name: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

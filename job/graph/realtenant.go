package graph

import (
	"context"
	"fmt"
	"net/http"

	"go.uber.org/zap"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// What a real tenant may lack: the licence PIM needs, a query feature.
// Each is learnt from the first answer that says so and remembered on the
// Client for the rest of the run, so that no more requests go where they
// cannot succeed.

// pimUnavailable is the run's unavailability of PIM, nil while PIM is
// usable (or untried).
func (c *Client) pimUnavailable() *job.UnavailableError { return c.pimOff.Load() }

// notePIMUnavailable remembers that PIM is unavailable, keeping the first
// reason, and returns it.
func (c *Client) notePIMUnavailable(ue *job.UnavailableError) *job.UnavailableError {
	c.pimOff.CompareAndSwap(nil, ue)
	return c.pimOff.Load()
}

// pimCheck turns a PIM request's error into the source's unavailability
// when it is the licence's answer; other errors pass as they are.
func (c *Client) pimCheck(err error) error {
	if ue, ok := transport.LicenceMissing(err, job.SourcePIM); ok {
		return c.notePIMUnavailable(ue)
	}
	return err
}

// notThroughPIM is a directory role assignment's failure when its DELETE
// was refused and the PIM way (an adminRemove roleAssignmentScheduleRequest)
// is unavailable in the tenant: the assignment is still there, so the row
// fails with the DELETE's refusal, and says the PIM way was not taken.
func notThroughPIM(refused *transport.ServiceError, ue *job.UnavailableError) error {
	return fmt.Errorf("%w; not removed the PIM way: %w", refused, ue)
}

// inRefused reports whether err is Graph refusing a grouped listing's
// query: a 400 to `principalId in (...)`. Graph answers an operator a
// collection does not support with Request_UnsupportedQuery, or with
// BadRequest "Invalid filter clause"; any 400 to the grouped request is
// taken as that, and the principals are listed with eq, which every
// collection supports.
func inRefused(err error) bool { return transport.HasStatus(err, http.StatusBadRequest) }

// noteInRefused switches grouped listings to eq for the rest of the run,
// logging it the first time.
func (c *Client) noteInRefused(err error) {
	if c.inOff.CompareAndSwap(false, true) {
		c.log.Warn("Graph refused the `in` operator of a grouped listing: principals are listed one a request (eq) for the rest of the run",
			zap.Error(err))
	}
}

// listEach lists the principals one at a time with one, each standing on
// its own: a ListingErrors names those whose listing failed. A grouped
// listing that failed is listed again this way, so that one principal's
// failure stays its own.
func listEach(ctx context.Context, principals []job.Principal,
	one func(context.Context, job.Principal) ([]job.Assignment, error)) ([]job.Assignment, error) {
	var out []job.Assignment
	failed := job.ListingErrors{}
	for _, p := range principals {
		found, err := one(ctx, p)
		if err != nil {
			failed[p.ID] = err
			continue
		}
		out = append(out, found...)
	}
	if len(failed) > 0 {
		return out, failed
	}
	return out, nil
}

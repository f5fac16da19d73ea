package graph

import (
	"context"
	"errors"
	"fmt"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	kiotajson "github.com/microsoft/kiota-serialization-json-go"

	"github.com/offboard/offboard/job"
	"github.com/offboard/offboard/job/transport"
)

// A source whose listing takes one request a principal (pim, groups)
// lists a group of principals by sending their first pages in one $batch
// and following each one's @odata.nextLink alone, exactly as a principal
// listed on its own. Each principal's listing stands or falls on its own:
// Find answers a job.ListingErrors naming the principals whose listing
// failed.

// listFunc lists one principal's assignments. first is the answer to the
// principal's first page, sent in a batch; nil means the principal is
// listed alone and list sends the first page itself.
type listFunc func(ctx context.Context, p job.Principal, first *transport.SubAnswer) ([]job.Assignment, error)

// listGroup lists the principals with list, each principal's pages one
// listing (transport.Listing). Without batching, or for one
// principal, it is the single path of old: one listing after the other,
// the first failure failing them all. Otherwise the first pages, built by
// first, go in batches.
func (c *Client) listGroup(ctx context.Context, principals []job.Principal,
	first func(job.Principal) (*abstractions.RequestInformation, error), list listFunc) ([]job.Assignment, error) {
	var out []job.Assignment
	if c.batchSize < 2 || len(principals) < 2 {
		for _, p := range principals {
			found, err := list(transport.Listing(ctx), p, nil)
			if err != nil {
				return nil, err
			}
			out = append(out, found...)
		}
		return out, nil
	}
	answers := make([]transport.SubAnswer, len(principals))
	subs := make([]transport.SubRequest, len(principals))
	var idx []int
	for i, p := range principals {
		info, err := first(p)
		if err == nil {
			subs[i], err = c.subRequest(info)
		}
		if err != nil {
			answers[i].Err = fmt.Errorf("%w: %w", errNotBuilt, err)
			continue
		}
		idx = append(idx, i)
	}
	for i, a := range c.sendBatch(ctx, subs, idx) {
		answers[i] = a
	}
	failed := job.ListingErrors{}
	for i, p := range principals {
		first := &answers[i]
		if first.Err != nil && ctx.Err() == nil && !errors.Is(first.Err, errNotBuilt) {
			// No answer of its own (the batch failed as a whole, or its
			// answer was cut off, after the retries): the principal is
			// listed alone before anything is failed, so that another
			// principal's trouble does not become its own.
			first = nil
		}
		found, err := list(transport.Listing(ctx), p, first)
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

// errNotBuilt marks a principal whose request could not be built (an id
// that is not a GUID): sending it alone would fail the same way.
var errNotBuilt = errors.New("the request could not be built")

// readPage reads a sub-request's answer as the SDK reads a standalone
// one: an error status is the *transport.ServiceError classify makes of it; a 2xx is
// parsed with create into a T, or fails as an answer that is not JSON.
func readPage[T serialization.Parsable](a transport.SubAnswer, create serialization.ParsableFactory) (T, error) {
	var zero T
	if err := answerError(a); err != nil {
		return zero, err
	}
	node, err := kiotajson.NewJsonParseNode(a.Body)
	if err != nil {
		return zero, notJSON(err)
	}
	v, err := node.GetObjectValue(create)
	if err != nil {
		return zero, notJSON(err)
	}
	page, ok := v.(T)
	if !ok {
		return zero, notJSON(errors.New("an empty answer"))
	}
	return page, nil
}

// notJSON is classify's error for a successful answer that cannot be read.
func notJSON(err error) error {
	return fmt.Errorf("the answer is not the JSON Graph sends: %w", err)
}

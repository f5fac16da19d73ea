package job

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ListingErrors is what Find answers when the listing failed for some of
// the principals it was given and not the others: a source that lists a
// group with one request a principal, sent together (Graph's JSON
// batching), learns each principal's fate on its own. It holds each failed
// principal's error by id. The assignments Find returns with it are
// complete for every principal of the group it does not name; of those it
// names they hold what was found before the failure (one half of a source
// that lists two things), which the runner plans all the same beside the
// principal's failed row.
type ListingErrors map[string]error

func (e ListingErrors) Error() string {
	ids := slices.Sorted(maps.Keys(e))
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprintf("%s: %v", id, e[id])
	}
	return fmt.Sprintf("listing failed for %d principals: %s", len(ids), strings.Join(parts, "; "))
}

// listingFailures says, for each principal of a group whose listing
// failed, why: every one of them when err is a failure of the whole
// group, only those err names when it is a ListingErrors. A ListingErrors
// that names no principal of the group cannot be pinned on any of them:
// it fails the whole group.
func listingFailures(err error, group []*principal) map[string]error {
	if err == nil {
		return nil
	}
	out := map[string]error{}
	var le ListingErrors
	if errors.As(err, &le) {
		for _, pr := range group {
			if e, named := le[pr.ID]; named {
				out[pr.ID] = cmpOrErr(e, err)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	for _, pr := range group {
		out[pr.ID] = err
	}
	return out
}

// UnavailableError is what Find answers, alone or joined (errors.Join)
// with a ListingErrors, when the service says a part of the source cannot
// exist in this tenant (Graph's AadPremiumLicenseRequired, ARM's PIM
// licence or not-onboarded error). The part is unavailable for the rest of
// the run: no rows for it, one warning, and summary.json's "unavailable"
// names it. It never changes the exit code. The assignments Find returns
// with it are complete for every other part of the source.
type UnavailableError struct {
	// Part is the key in summary.json's "unavailable": a source's name
	// ("pim"), or a part of one ("azure-eligibility").
	Part string
	// Reason is the service's error code and message.
	Reason string
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%s is unavailable in this tenant: %s", e.Part, e.Reason)
}

func cmpOrErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

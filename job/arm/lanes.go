package arm

import (
	"strings"
	"time"

	"github.com/offboard/offboard/job"
)

var _ job.Holder = (*Source)(nil)

// Lane implements job.Holder: ARM throttles each subscription on its own,
// so an assignment's lane is its subscription ("/subscriptions/{id}", or
// "" above any subscription).
func (*Source) Lane(a job.Assignment) string {
	segs := strings.SplitN(strings.TrimPrefix(a.ID, "/"), "/", 3)
	if len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		return "/subscriptions/" + strings.ToLower(segs[1])
	}
	return ""
}

// HeldUntil implements job.Holder.
func (s *Source) HeldUntil(lane string) time.Time {
	if s.heldUntil == nil {
		return time.Time{}
	}
	return s.heldUntil(lane)
}

package job

import "testing"

// A request sent again after a lost answer that finds its work done did
// that work; one that was not sent again, or found anything else, keeps its
// outcome.
func TestSettleResent(t *testing.T) {
	for _, tt := range []struct {
		in     Outcome
		resent bool
		want   Outcome
	}{
		{Outcome{AlreadyAbsent, "HTTP 404"}, true, Outcome{Removed, lostAnswerDetail + "; HTTP 404"}},
		{Outcome{AlreadyPresent, "HTTP 409"}, true, Outcome{Restored, lostAnswerRestoredDetail + "; HTTP 409"}},
		{Outcome{AlreadyAbsent, "HTTP 404"}, false, Outcome{AlreadyAbsent, "HTTP 404"}},
		{Outcome{AlreadyPresent, ""}, false, Outcome{AlreadyPresent, ""}},
		{Outcome{Removed, ""}, true, Outcome{Removed, ""}},
		{Outcome{Failed, "HTTP 403"}, true, Outcome{Failed, "HTTP 403"}},
	} {
		if got := settleResent(tt.in, tt.resent); got != tt.want {
			t.Errorf("settleResent(%v, %v) = %v, want %v", tt.in, tt.resent, got, tt.want)
		}
	}
}

package job

import (
	"errors"
	"fmt"
)

// PermissionError is a read the service refused (403) for want of a
// permission the adapter knows the read needs: what to grant is the fix,
// not a retry nor a guard's threshold.
type PermissionError struct {
	// Permission names what to grant, with what includes it.
	Permission string
	Err        error
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("%v (the job's identity needs %s)", e.Err, e.Permission)
}

func (e *PermissionError) Unwrap() error { return e.Err }

// guardUnread is why the run stops when a guard could not read what it
// checks (err), with what to do: grant the permission it names, or rerun
// once the service answers. A higher --max-removals is no fix for it.
func guardUnread(err error) string {
	stop := "a guard could not be checked: " + err.Error()
	var pe *PermissionError
	if errors.As(err, &pe) {
		return stop + ": grant " + pe.Permission + " to the job's identity and rerun (this stop is about a permission, not --max-removals)"
	}
	return stop + ": rerun once the service answers (this stop is not about --max-removals)"
}

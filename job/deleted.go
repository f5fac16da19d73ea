package job

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// DeletedDirectory is implemented by a Directory that can also look keys
// up among soft-deleted users (Entra keeps a deleted user, its object id
// and what ARM still holds for it, for 30 days): HR often deletes the
// account before the file reaches the job. Its users are answered
// Deleted.
type DeletedDirectory interface {
	ResolveDeleted(ctx context.Context, keys []UserKey) map[UserKey]Resolution
}

// resolveDeleted looks up among soft-deleted users, in one call, the keys
// the live lookup answered with no one (and no earlier run into the
// report resolved: the journal names their object), and puts what it
// finds into answers. A key it cannot look up stays as it was, naming no
// one, with why in DeletedUnknown: the line is not-found, as before,
// and its detail says the deleted users could not be searched. Nothing
// is asked when every key matched someone: the extra requests are
// bounded by the keys that matched no one.
func (r *Runner) resolveDeleted(ctx context.Context, answers map[UserKey]Resolution) {
	dd, ok := r.Directory.(DeletedDirectory)
	if !ok || ctx.Err() != nil {
		return
	}
	var known map[string]DirectoryUser
	if !r.PreviousUnsigned {
		known = knownKeys(r.Previous)
	}
	var keys []UserKey
	for k, res := range answers {
		if _, ok := known[k.String()]; !ok && res.Err == nil && len(res.Users) == 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	found := dd.ResolveDeleted(ctx, keys)
	failed := 0
	for _, k := range keys {
		res, ok := found[k]
		switch {
		case !ok:
			continue
		case res.Err != nil:
			failed++
			answers[k] = Resolution{DeletedUnknown: res.Err.Error()}
		case len(res.Users) > 0:
			answers[k] = res
		}
	}
	if failed > 0 && r.Log != nil {
		r.Log.Warn("soft-deleted users could not be searched for some keys: their lines are not-found, and the detail says so",
			zap.Int("keys", failed))
	}
}

// deletedNote is what a not-found line's detail adds when soft-deleted
// users could not be searched for its key.
func deletedNote(res Resolution) string {
	if res.DeletedUnknown == "" {
		return ""
	}
	return fmt.Sprintf(" (soft-deleted users could not be searched: %s)", res.DeletedUnknown)
}

package main

import (
	"io"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/offboard/offboard/cmd/offboard/app"
	"github.com/offboard/offboard/report/location"
)

// otherVariables are the OFFBOARD_* variables the job reads that are no
// flag's: credentials, the journal key, and the hooks tests drive the
// binary with.
var otherVariables = []string{
	"OFFBOARD_STATIC_TOKEN", location.KeyEnv, location.KeyFileEnv,
	app.AuthEnv, app.ManagedIdentityEnv, tenantIDVar, killAfterCopyEnv,
}

// knownVariables lists every OFFBOARD_* variable the job reads: the
// variable of every flag of every command (each parser looks up the
// variable of each flag it registers), and otherVariables. A variable
// set for one command (OFFBOARD_PRINCIPAL, restore's) is known to all:
// a Container Apps job passes one set to each.
func knownVariables() []string {
	known := map[string]bool{}
	record := func(name string) (string, bool) { known[name] = true; return "", false }
	_, _ = parseRunFlags(nil, record, io.Discard)
	_, _ = parseRestoreFlags(nil, record, io.Discard)
	_, _ = parseWatchFlags(nil, record, io.Discard)
	_, _, _ = parseCheckFlags(nil, record, io.Discard)
	for _, n := range otherVariables {
		known[n] = true
	}
	out := make([]string, 0, len(known))
	for n := range known {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// unknownVariables returns, for each OFFBOARD_* variable of environ the
// job does not know, the known one closest to it (a typo such as
// OFFBOARD_SOURCSE would otherwise leave its flag at the default in
// silence). Test hooks (OFFBOARD_TEST_*) are not judged.
func unknownVariables(environ []string) [][2]string {
	known := knownVariables()
	var out [][2]string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "OFFBOARD_") || strings.HasPrefix(name, "OFFBOARD_TEST_") || slices.Contains(known, name) {
			continue
		}
		best, bestDist := "", -1
		for _, k := range known {
			if d := editDistance(name, k); bestDist < 0 || d < bestDist {
				best, bestDist = k, d
			}
		}
		out = append(out, [2]string{name, best})
	}
	return out
}

// warnUnknownVariables logs one warning for each OFFBOARD_* variable of
// the process's environment the job does not know.
func warnUnknownVariables(log *zap.Logger, sio stdio) {
	if sio.environ == nil {
		return
	}
	for _, u := range unknownVariables(sio.environ()) {
		log.Warn("an OFFBOARD_* variable the job does not know is ignored: did you mean "+u[1]+"?",
			zap.String("variable", u[0]), zap.String("did_you_mean", u[1]))
	}
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/offboard/offboard/simtenant"
)

// hostileName is a group's display name from the tenant that, printed as
// it is, opens an 8-bit CSI (U+009B) and an OSC (U+009D) on many
// terminals, rings the bell, clears the screen and turns the rest of the
// line around (U+202E).
const hostileName = "Tier0\u009b31m\u009d0;pwned\u0007\x1b[2J\u202eSNIMDA"

// cleanedName is hostileName as the display prints it.
const cleanedName = "Tier0?31m?0;pwned??[2J?SNIMDA"

// rawControls returns the control characters (but the encoder's own tab
// and line end) and bidirectional controls in s.
func rawControls(s string) []rune {
	var bad []rune
	for _, r := range s {
		if r != '\t' && r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
			bad = append(bad, r)
		}
	}
	return bad
}

type hostileStringer struct{}

func (hostileStringer) String() string { return hostileName }

// Issue 24 item 11: a console log line printed C1 controls and
// bidirectional overrides from the tenant as they were (zap escapes C0
// controls only, and only in fields). Every field (strings, errors,
// Stringers, byte strings, arrays, objects, reflected values, the
// logger's own fields) and the message are cleaned as the display
// cleans; the line stays one line.
func TestConsoleLogLineIsCleanedLikeTheDisplay(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger("console", &buf).With(zap.String("run", hostileName))
	log.Warn("verdict "+hostileName,
		zap.String("why", hostileName),
		zap.Error(errors.New(hostileName)),
		zap.Stringer("stringer", hostileStringer{}),
		zap.ByteString("bytes", []byte(hostileName)),
		zap.Strings("sources", []string{hostileName}),
		zap.Object("object", zapcore.ObjectMarshalerFunc(func(enc zapcore.ObjectEncoder) error {
			enc.AddString("name", hostileName)
			return enc.AddArray("names", zapcore.ArrayMarshalerFunc(func(a zapcore.ArrayEncoder) error {
				a.AppendString(hostileName)
				return nil
			}))
		})),
		zap.Any("reflected", map[string]string{"name": hostileName}),
	)
	out := buf.String()
	if bad := rawControls(out); len(bad) > 0 {
		t.Errorf("the console line holds raw controls %q:\n%q", bad, out)
	}
	if n := strings.Count(out, cleanedName); n != 10 {
		t.Errorf("the cleaned name appears %d times, want 10 (message and 9 fields):\n%s", n, out)
	}
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("not one line:\n%q", out)
	}
}

// JSON logs stay as zap writes them: a machine reads the value as it was.
func TestJSONLogLineKeepsTheValue(t *testing.T) {
	var buf bytes.Buffer
	newLogger("json", &buf).Info("verdict", zap.String("why", hostileName))
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %q", err, buf.String())
	}
	if line["why"] != hostileName {
		t.Errorf("why %q, want %q", line["why"], hostileName)
	}
}

// Issue 24 item 11, end to end: a role-assignable group whose display
// name holds C1 and bidirectional controls, written in the outcome line
// of `run --log-format console` (role_name), is printed cleaned.
func TestConsoleLogPrintsAGroupNameCleaned(t *testing.T) {
	t.Parallel()
	tn := startTenant(t, simtenant.Config{Seed: 192})
	id, _ := tn.user("leaver@contoso.com", 0)
	g := tn.AddGroup(simtenant.Group{DisplayName: hostileName, IsAssignableToRole: true})
	if err := tn.AddMember(g.ID, id); err != nil {
		t.Fatal(err)
	}
	r := tn.offboard(t, nil, "run", "--input", writeCSV(t, "principal_id", id), "--report", t.TempDir(), "--log-format", "console")
	wantCode(t, r, 0)
	if bad := rawControls(r.stderr); len(bad) > 0 {
		t.Errorf("the console log holds raw controls %q:\n%q", bad, r.stderr)
	}
	if !strings.Contains(r.stderr, cleanedName) {
		t.Errorf("the group's name, cleaned, is not in the log:\n%s", r.stderr)
	}
}

package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/offboard/offboard/cmd/offboard/app"
)

func TestLogFormatDefaultsToJSONOffATerminal(t *testing.T) {
	for _, tc := range []struct {
		given, want string
	}{
		{"", "json"}, {"json", "json"}, {"console", "console"},
	} {
		c := app.Config{LogFormat: tc.given}
		var buf bytes.Buffer
		log, d := newOutput(&c, &buf, false)
		if c.LogFormat != tc.want || d != nil {
			t.Errorf("--log-format %q into a buffer: %q, display %v; want %q and none", tc.given, c.LogFormat, d != nil, tc.want)
		}
		log.Info("outcome")
		if tc.want == "json" && !strings.HasPrefix(buf.String(), "{") {
			t.Errorf("--log-format %q wrote %q", tc.given, buf.String())
		}
	}
}

func TestChangedFlagsLeaveOutWhatTheRerunSets(t *testing.T) {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c app.Config
	fs.StringVar(&c.Input, "input", "", "")
	fs.StringVar(&c.Report, "report", "", "")
	fs.BoolVar(&c.DryRun, "dry-run", false, "")
	serviceFlags(fs, &c)
	if err := fs.Parse([]string{"--input", "x.csv", "--report", "r", "--max-removals", "5000", "--log-format", "json", "--verbose", "--cloud", "public"}); err != nil {
		t.Fatal(err)
	}
	changed := changedFlags(fs)
	if strings.Join(changed, " ") != "--max-removals=5000" {
		t.Errorf("changed flags %q, want only --max-removals=5000", changed)
	}
}

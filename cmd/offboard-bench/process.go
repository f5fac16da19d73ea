package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/offboard/offboard/simtenant"
)

// tenant is a running `offboard simulate`.
type tenant struct {
	cmd   *exec.Cmd
	url   string
	token string
	csv   string
	done  chan error
}

// startTenant starts `offboard simulate --shape bench` on a free loopback
// port and waits until it says where it serves.
func startTenant(bin, dir string, n, per int, extra []string) (*tenant, error) {
	t := &tenant{csv: filepath.Join(dir, "departures.csv"), done: make(chan error, 1)}
	args := append([]string{"simulate", "--listen", "127.0.0.1:0", "--shape", "bench",
		"--principals", fmt.Sprint(n), "--per-principal", fmt.Sprint(per), "--csv", t.csv}, extra...)
	t.cmd = exec.Command(bin, args...)
	stderr, err := os.Create(filepath.Join(dir, "simulate.log"))
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	t.cmd.Stderr = stderr
	out, err := t.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := t.cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			if signalled {
				continue
			}
			if url, token, ok := parseSimulateLine(sc.Text(), t.url); ok {
				t.url, t.token = url, token
				if token != "" {
					signalled = true
					ready <- nil
				}
			}
		}
		if !signalled {
			ready <- errors.New("offboard simulate ended before it said where it serves (see simulate.log)")
		}
		_, _ = io.Copy(io.Discard, out)
		t.done <- t.cmd.Wait()
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.stop()
			return nil, err
		}
	case <-time.After(2 * time.Minute):
		t.stop()
		return nil, errors.New("offboard simulate did not start within 2 minutes")
	}
	return t, nil
}

// parseSimulateLine reads the lines `offboard simulate` starts with: the
// URL it serves at, then the token. url is what was read so far.
func parseSimulateLine(line, url string) (string, string, bool) {
	const serving = "Simulated tenant serving "
	if strings.HasPrefix(line, serving) {
		if i := strings.LastIndex(line, " at "); i >= 0 {
			return strings.TrimSpace(line[i+len(" at "):]), "", true
		}
	}
	if rest, ok := strings.CutPrefix(line, "Token:"); ok && url != "" {
		return url, strings.TrimSpace(rest), true
	}
	return "", "", false
}

// stats reads what the tenant saw.
func (t *tenant) stats() (simtenant.StatsReport, error) {
	var st simtenant.StatsReport
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url+simtenant.StatsPath, nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s: %s", simtenant.StatsPath, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// stop ends the tenant with SIGTERM, then kills it if it lingers.
func (t *tenant) stop() {
	if t.cmd.Process == nil {
		return
	}
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-t.done:
	case <-time.After(10 * time.Second):
		_ = t.cmd.Process.Kill()
		<-t.done
	}
}

// jobResult is what one `offboard run` did.
type jobResult struct {
	exit       int
	wall       time.Duration // process start to exit
	writePhase time.Duration // first to last outcome line
	outcomes   int
	maxRSS     int64 // bytes
	user, sys  time.Duration
}

// runJob runs the job with env added to the harness's (the tenant's token
// at least), its log going to logPath.
func runJob(bin string, env []string, logPath string, args []string) (jobResult, error) {
	var res jobResult
	logFile, err := os.Create(logPath)
	if err != nil {
		return res, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = io.Discard
	cmd.Stderr = logFile
	started := time.Now()
	err = cmd.Run()
	res.wall = time.Since(started)
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.exit = exit.ExitCode()
	case err != nil:
		return res, err
	}
	res.maxRSS, res.user, res.sys = usage(cmd.ProcessState)
	if _, err := logFile.Seek(0, io.SeekStart); err != nil {
		return res, err
	}
	if res.writePhase, res.outcomes, err = writePhase(logFile); err != nil {
		return res, err
	}
	if res.exit != 0 {
		return res, fmt.Errorf("offboard run exited %d (see %s)", res.exit, logPath)
	}
	return res, nil
}

// writePhase reads the job's JSON log: the time from the first outcome
// line to the last, and how many there were.
func writePhase(r io.Reader) (time.Duration, int, error) {
	var first, last time.Time
	n := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"msg":"outcome"`)) {
			continue
		}
		var rec struct {
			TS string `json:"ts"`
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			return 0, n, fmt.Errorf("reading an outcome line: %w", err)
		}
		at, err := time.Parse(time.RFC3339Nano, rec.TS)
		if err != nil {
			return 0, n, fmt.Errorf("reading an outcome's time: %w", err)
		}
		if n == 0 || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return 0, n, err
	}
	return last.Sub(first), n, nil
}

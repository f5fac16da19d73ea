package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/offboard/offboard/simtenant"
)

// azurite is a real Azure Storage emulator on a free loopback port, and a
// storage account in it that is one test's alone.
type azurite struct {
	conn string // connection string
	root string // http://127.0.0.1:PORT/ACCOUNT
}

// devKey is the emulator's well-known development key; every account of
// the shared emulator has it.
const devKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// requireAzurite, set to 1 (make test sets it), makes a missing Azurite
// fail the blob tests instead of skipping them.
const requireAzurite = "OFFBOARD_TEST_REQUIRE_AZURITE"

// emulatorAccounts is how many blob tests one emulator serves, each in
// an account of its own (AZURITE_ACCOUNTS).
const emulatorAccounts = 64

// emulator is the one Azurite of this test binary: starting one (a
// Node.js program) takes seconds, so the first blob test starts it, every
// blob test has an account of its own in it, and TestMain stops it.
var emulator struct {
	once    sync.Once
	missing string // why the tests cannot have one: not installed
	err     error
	url     string // http://127.0.0.1:PORT
	cmd     *exec.Cmd
	dir     string
	next    atomic.Int32
}

// startAzurite hands the test an account of its own in the emulator,
// started on first use.
func startAzurite(t *testing.T) *azurite {
	t.Helper()
	emulator.once.Do(startEmulator)
	if emulator.missing != "" {
		// make test installs Azurite and sets requireAzurite: there a
		// missing emulator fails; a bare go test skips the blob tests.
		if os.Getenv(requireAzurite) == "1" {
			t.Fatalf("%s, and %s=1 requires it (make test installs it)", emulator.missing, requireAzurite)
		}
		t.Skipf("%s: make test installs it and runs the blob tests", emulator.missing)
	}
	if emulator.err != nil {
		t.Fatal(emulator.err)
	}
	n := int(emulator.next.Add(1))
	if n > emulatorAccounts {
		t.Fatalf("more than %d blob tests share the emulator: raise emulatorAccounts", emulatorAccounts)
	}
	account := emulatorAccount(n)
	root := emulator.url + "/" + account
	return &azurite{root: root, conn: fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;", account, devKey, root)}
}

func emulatorAccount(n int) string { return fmt.Sprintf("offboardtest%02d", n) }

// startEmulator starts Azurite with emulatorAccounts accounts and waits
// until it listens.
func startEmulator() {
	bin, err := filepath.Abs(filepath.Join("..", "..", ".tools", "azurite", "node_modules", ".bin", "azurite-blob"))
	if err != nil {
		emulator.err = err
		return
	}
	if _, err := os.Stat(bin); err != nil {
		emulator.missing = "Azurite is not installed at " + bin
		return
	}
	if emulator.dir, err = os.MkdirTemp("", "offboard-azurite-"); err != nil {
		emulator.err = err
		return
	}
	var accounts []string
	for n := 1; n <= emulatorAccounts; n++ {
		accounts = append(accounts, emulatorAccount(n)+":"+devKey)
	}
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", "0", "--location", emulator.dir,
		"--skipApiVersionCheck", "--loose")
	cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS="+strings.Join(accounts, ";"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		emulator.err = err
		return
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		emulator.err = err
		return
	}
	emulator.cmd = cmd
	listening := regexp.MustCompile(`listens on (http://127\.0\.0\.1:\d+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case emulator.url = <-found:
	case <-time.After(2 * time.Minute):
		emulator.err = errors.New("Azurite did not start")
	}
}

// stopEmulator stops the emulator, if a test started it.
func stopEmulator() {
	if emulator.cmd != nil {
		_ = emulator.cmd.Process.Kill()
		_ = emulator.cmd.Wait()
	}
	if emulator.dir != "" {
		_ = os.RemoveAll(emulator.dir)
	}
}

func (a *azurite) container(t *testing.T, name string) *container.Client {
	t.Helper()
	c, err := container.NewClientFromConnectionString(a.conn, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(context.Background(), nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		t.Fatal(err)
	}
	return c
}

func put(t *testing.T, c *container.Client, name string, data []byte) {
	t.Helper()
	if _, err := c.NewBlockBlobClient(name).UploadBuffer(context.Background(), data, nil); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, c *container.Client, name string) []byte {
	t.Helper()
	resp, err := c.NewBlobClient(name).DownloadStream(context.Background(), nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func csvOf(ids ...string) []byte {
	return []byte("principal_id\n" + strings.Join(ids, "\n") + "\n")
}

func TestBlobInputAndReport(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	tn := startTenant(t, simtenant.Config{Seed: 30})
	id, _ := tn.user("blob@contoso.com", 3)
	incoming, reports := az.container(t, "incoming"), az.container(t, "reports")
	put(t, incoming, "2026-11-23.csv", csvOf(id))
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + az.conn}
	args := []string{"run", "--input", az.root + "/incoming/2026-11-23.csv", "--report", az.root + "/reports/2026-11-23/"}
	wantCode(t, tn.offboard(t, env, args...), 0)
	first := get(t, reports, "2026-11-23/report.csv")
	if n := bytes.Count(first, []byte(",removed,")); n != 3 {
		t.Errorf("report.csv in the blob has %d removed rows, want 3:\n%s", n, first)
	}
	journal := get(t, reports, "2026-11-23/journal.jsonl")
	if !bytes.HasSuffix(journal, []byte("\n")) || bytes.Count(journal, []byte(`"type":"outcome"`)) != 3 {
		t.Errorf("journal blob:\n%s", journal)
	}
	if !bytes.Contains(get(t, reports, "2026-11-23/summary.json"), []byte(`"exit_code": 0`)) {
		t.Error("summary.json in the blob does not say exit 0")
	}

	tn.ResetRequests()
	wantCode(t, tn.offboard(t, env, args...), 0)
	if !bytes.Equal(first, get(t, reports, "2026-11-23/report.csv")) {
		t.Error("the rerun changed report.csv")
	}
	if w := tn.writes(); len(w) != 0 {
		t.Errorf("the rerun sent %s %s", w[0].Method, w[0].Path)
	}

	// Another input into the same location is refused.
	put(t, incoming, "other.csv", csvOf(id, "00000000-0000-0000-0000-000000000009"))
	r := tn.offboard(t, env, "run", "--input", az.root+"/incoming/other.csv", "--report", az.root+"/reports/2026-11-23/")
	wantCode(t, r, 2)
}

func TestBlobLease(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	tn := startTenant(t, simtenant.Config{Seed: 31})
	id, _ := tn.user("lease@contoso.com", 1)
	incoming, reports := az.container(t, "incoming"), az.container(t, "reports")
	put(t, incoming, "in.csv", csvOf(id))
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + az.conn}
	args := []string{"run", "--input", az.root + "/incoming/in.csv", "--report", az.root + "/reports/r/"}

	// A run that holds the lease (here: a killed run's, of 15 s) keeps a
	// second one out, and stops doing so when it expires.
	put(t, reports, "r/.lock", nil)
	lc, err := lease.NewBlobClient(reports.NewBlockBlobClient("r/.lock"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.AcquireLease(context.Background(), 15, nil); err != nil {
		t.Fatal(err)
	}
	taken := time.Now()
	r := tn.offboard(t, env, args...)
	wantCode(t, r, 2)
	if len(tn.Requests()) != 0 {
		t.Errorf("a refused run sent %d requests", len(tn.Requests()))
	}
	time.Sleep(time.Until(taken.Add(16 * time.Second)))
	wantCode(t, tn.offboard(t, env, args...), 0)
	// The run gave its own lease back: a third run is not held up.
	wantCode(t, tn.offboard(t, env, args...), 0)
}

func TestDropFolders(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	tn := startTenant(t, simtenant.Config{Seed: 32})
	env := []string{"AZURE_STORAGE_CONNECTION_STRING=" + az.conn}
	incoming, reports := az.container(t, "incoming"), az.container(t, "reports")
	// blob-root: HR's files at the root of a container of their own, the
	// reports at the root of another (what deploy/job.bicep sets up).
	rootIn, rootOut := az.container(t, "dropin"), az.container(t, "dropout")
	for _, kind := range []string{"local", "blob", "blob-root"} {
		t.Run(kind, func(t *testing.T) {
			// Three files, of which the second fails (403 on its removal).
			a, _ := tn.user("a-"+kind+"@contoso.com", 1)
			b, bIDs := tn.user("b-"+kind+"@contoso.com", 1)
			c, _ := tn.user("c-"+kind+"@contoso.com", 1)
			tn.AddRule(simtenant.Rule{Method: "DELETE", PathContains: bIDs[0], Status: 403, Code: "Authorization_RequestDenied", Message: "no"})
			files := map[string][]byte{"1-mon.csv": csvOf(a), "2-tue.csv": csvOf(b), "3-wed.csv": csvOf(c)}
			input, report := t.TempDir(), t.TempDir()
			read := func(base string) []byte {
				data, _ := os.ReadFile(filepath.Join(report, base, "report.csv"))
				return data
			}
			for name, data := range files {
				if err := os.WriteFile(filepath.Join(input, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
				if kind == "blob-root" {
					put(t, rootIn, name, data)
				} else {
					put(t, incoming, kind+"/"+name, data)
				}
			}
			if err := os.WriteFile(filepath.Join(input, "notes.txt"), []byte("not a csv"), 0o600); err != nil {
				t.Fatal(err)
			}
			switch kind {
			case "blob":
				input, report = az.root+"/incoming/blob/", az.root+"/reports/nightly/"
				read = func(base string) []byte { return get(t, reports, "nightly/"+base+"/report.csv") }
			case "blob-root":
				input, report = az.root+"/dropin/", az.root+"/dropout/"
				read = func(base string) []byte { return get(t, rootOut, base+"/report.csv") }
			}
			tn.ResetRequests()
			wantCode(t, tn.offboard(t, env, "run", "--input", input, "--report", report), 1) // the worst of 0, 1, 0
			for name := range files {
				want := ",removed,"
				if name == "2-tue.csv" {
					want = ",failed,"
				}
				if data := read(strings.TrimSuffix(name, ".csv")); !bytes.Contains(data, []byte(want)) {
					t.Errorf("%s: report.csv has no %s row:\n%s", name, want, data)
				}
			}
			// A rerun does nothing new for the files that finished
			// cleanly: only the failed one is tried again.
			tn.ResetRequests()
			wantCode(t, tn.offboard(t, env, "run", "--input", input, "--report", report), 1)
			for _, req := range tn.Requests() {
				if strings.Contains(req.RawQuery, a) || strings.Contains(req.RawQuery, c) {
					t.Errorf("the rerun listed a principal of a clean file: %s?%s", req.Path, req.RawQuery)
				}
			}
			if d := tn.Stats().ByMethod[http.MethodDelete]; d != 1 {
				t.Errorf("the rerun sent %d DELETEs, want the failed one again", d)
			}
		})
	}
}

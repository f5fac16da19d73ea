package report

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
)

// Records are authenticated: whoever can write the report location (a
// share, a blob container) must not be able to make `restore` grant a role
// or the drop folder skip a file by writing a line. Each journal line ends
// with a "mac" field, an HMAC-SHA256 under a key the location's writers do
// not hold, of the previous line's MAC and the line without its "mac":
//
//	{"type":"plan",…,"mac":"<64 hex>"}
//
// Chaining makes a line valid only where it was written: a line cannot be
// moved, copied from another journal, or dropped from the middle. The chain
// starts from a digest of the file's name and of the lines before the
// first authenticated one (a journal written before records were
// authenticated), so that those cannot be altered afterwards either.
// Summaries end with a "mac" field over their name and the rest of their
// text. The journal's first run record names the directory's id, so every
// line chains from it, and a summary names that id and vouches for its
// journal's line count and last MAC (binding.go): a journal copied from
// another directory, or cut before that line, does not match its summary.
// Past its summary's line a journal can still be cut without it showing: a
// run then confirms against the tenant what the lost lines said, and a
// restore, acting only on confirmed removals, puts back less.

// MinKeySize is the shortest secret NewKey accepts, in bytes.
const MinKeySize = 32

// Key authenticates the records of report directories.
type Key struct {
	secret []byte
}

// NewKey returns the key of secret, which must hold at least MinKeySize
// bytes (`openssl rand -base64 32` gives 44).
func NewKey(secret []byte) (*Key, error) {
	if len(secret) < MinKeySize {
		return nil, fmt.Errorf("report: a journal key needs at least %d bytes, this one has %d", MinKeySize, len(secret))
	}
	return &Key{secret: bytes.Clone(secret)}, nil
}

var (
	// ErrTampered means a record carries a MAC that does not verify, or
	// none where one is due: the report location was written by someone
	// else than the job.
	ErrTampered = errors.New("record is not authenticated or was altered")
	// ErrUnsigned means records were written before records were
	// authenticated: a restore reads them only when told to trust them.
	ErrUnsigned = errors.New("records written before records were authenticated (restore --trust-unsigned reads them)")
)

// macSize is the length of a MAC in hex.
const macSize = 2 * sha256.Size

// Line MACs: `,"mac":"<hex>"}` ends the line, before its newline.
const (
	lineMACPrefix = `,"mac":"`
	lineMACSuffix = `"}`
	lineMACLen    = len(lineMACPrefix) + macSize + len(lineMACSuffix)
)

// newChainSeed starts the digest the chain of the journal named name
// starts from: its name, then the unauthenticated lines before its first
// authenticated one.
func newChainSeed(name string) hash.Hash {
	h := sha256.New()
	h.Write([]byte("offboard journal v1\n" + name + "\n"))
	return h
}

// lineMAC returns the MAC of body (a record without "mac" and newline)
// following prev.
func (k *Key) lineMAC(prev []byte, body []byte) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write(prev)
	m.Write(body)
	return m.Sum(nil)
}

// signLine appends to dst body (a JSON object without newline) with its MAC
// and a newline, and returns the MAC.
func (k *Key) signLine(dst *bytes.Buffer, prev []byte, body []byte) []byte {
	mac := k.lineMAC(prev, body)
	dst.Write(body[:len(body)-1])
	dst.WriteString(lineMACPrefix)
	var h [macSize]byte
	hex.Encode(h[:], mac)
	dst.Write(h[:])
	dst.WriteString(lineMACSuffix)
	dst.WriteByte('\n')
	return mac
}

// splitLine parses a journal line (newline included): the record as it was
// authenticated and its MAC, or ok false when the line does not end with a
// MAC.
func splitLine(b []byte) (body, mac []byte, ok bool) {
	if len(b) < lineMACLen+2 || b[len(b)-1] != '\n' {
		return nil, nil, false
	}
	tail := b[len(b)-1-lineMACLen : len(b)-1]
	if !bytes.HasPrefix(tail, []byte(lineMACPrefix)) || !bytes.HasSuffix(tail, []byte(lineMACSuffix)) {
		return nil, nil, false
	}
	mac = make([]byte, sha256.Size)
	if _, err := hex.Decode(mac, tail[len(lineMACPrefix):len(lineMACPrefix)+macSize]); err != nil {
		return nil, nil, false
	}
	body = make([]byte, 0, len(b)-lineMACLen)
	body = append(body, b[:len(b)-1-lineMACLen]...)
	body = append(body, '}')
	return body, mac, true
}

// hasMACField reports whether a JSON object names a "mac" at its top level.
func hasMACField(b []byte) bool {
	var v struct {
		MAC *json.RawMessage `json:"mac"`
	}
	return json.Unmarshal(b, &v) == nil && v.MAC != nil
}

// Summary MACs: the indented object's last field.
const (
	summaryMACPrefix = ",\n  \"mac\": \""
	summaryMACSuffix = "\"\n}\n"
	summaryMACLen    = len(summaryMACPrefix) + macSize + len(summaryMACSuffix)
)

func (k *Key) summaryMAC(name string, body []byte) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte("offboard summary v1\n" + name + "\n"))
	m.Write(body)
	return m.Sum(nil)
}

// signSummary returns body (indented JSON ending with "\n}") with its MAC
// as last field and a newline.
func (k *Key) signSummary(name string, body []byte) []byte {
	mac := k.summaryMAC(name, body)
	out := make([]byte, 0, len(body)+summaryMACLen)
	out = append(out, body[:len(body)-2]...)
	out = append(out, summaryMACPrefix...)
	out = hex.AppendEncode(out, mac)
	out = append(out, summaryMACSuffix...)
	return out
}

// verifySummary returns the authenticated text of a summary named name,
// or an error wrapping ErrUnsigned (no MAC) or ErrTampered.
func (k *Key) verifySummary(name string, b []byte) ([]byte, error) {
	n := len(b)
	ok := n >= summaryMACLen+2 && bytes.HasSuffix(b, []byte(summaryMACSuffix)) &&
		bytes.HasPrefix(b[n-summaryMACLen:], []byte(summaryMACPrefix))
	if !ok {
		if hasMACField(b) {
			return nil, fmt.Errorf("%s: its mac is not where the job writes it: %w", name, ErrTampered)
		}
		return nil, fmt.Errorf("%s carries no MAC: %w", name, ErrUnsigned)
	}
	mac := make([]byte, sha256.Size)
	if _, err := hex.Decode(mac, b[n-summaryMACLen+len(summaryMACPrefix):n-len(summaryMACSuffix)]); err != nil {
		return nil, fmt.Errorf("%s: its mac is not hex: %w", name, ErrTampered)
	}
	body := append(bytes.Clone(b[:n-summaryMACLen]), "\n}"...)
	if !hmac.Equal(mac, k.summaryMAC(name, body)) {
		return nil, fmt.Errorf("%s: its mac does not verify (altered, forged, or written under another key): %w", name, ErrTampered)
	}
	return body, nil
}

// ParseSummary reads the text of a summary named name (summary.json or
// restore-summary.json) and returns it only when it verifies under key:
// else the error wraps ErrUnsigned (it carries no MAC), ErrTampered, or
// ErrCorrupt (it is not a summary).
func ParseSummary(name string, b []byte, key *Key) (Summary, error) {
	if key == nil {
		return Summary{}, fmt.Errorf("report: %s: no key to verify it with: %w", name, ErrTampered)
	}
	body, err := key.verifySummary(name, b)
	if err != nil {
		return Summary{}, fmt.Errorf("report: %w", err)
	}
	var s Summary
	if err := json.Unmarshal(body, &s); err != nil {
		return Summary{}, fmt.Errorf("report: %s: %v: %w", name, err, ErrCorrupt)
	}
	return s, nil
}

package simtenant

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strings"
)

// isGUID reports whether s is a GUID in the 8-4-4-4-12 hex form, the only
// form Graph uses for object ids.
func isGUID(s string) bool {
	_, ok := guidBytes(s)
	return ok
}

// guidBytes returns a GUID's 16 bytes in the Microsoft (.NET
// Guid.ToByteArray) order: the first three groups little-endian, the rest as
// written. Graph's role assignment ids are built from bytes in this order.
func guidBytes(s string) ([16]byte, bool) {
	var out [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return out, false
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(raw) != 16 {
		return out, false
	}
	order := [16]int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15}
	for i, j := range order {
		out[i] = raw[j]
	}
	return out, true
}

// assignmentIDBase is the id Graph gives a role assignment, without its
// "-N" suffix: base64url (no padding) of the role template's GUID bytes
// followed by the principal's, e.g. lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI
// for Global Administrator. Ids that are not GUIDs (tests may use any
// string) are hashed instead so the result still looks the part.
func assignmentIDBase(roleID, principalID string) string {
	role, ok1 := guidBytes(strings.ToLower(roleID))
	principal, ok2 := guidBytes(strings.ToLower(principalID))
	buf := append(role[:], principal[:]...)
	if !ok1 || !ok2 {
		sum := sha256.Sum256([]byte(roleID + "\x00" + principalID))
		buf = sum[:]
	}
	return base64.RawURLEncoding.EncodeToString(buf)
}

// hash64 hashes a seed and some strings into well-mixed 64 bits. It decides
// faults and signs skip tokens; unlike hash/maphash it is the same in every
// process, which keeps those decisions repeatable.
func hash64(seed uint64, parts ...string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d", seed)
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return mix64(h.Sum64())
}

// mix64 is the splitmix64 finalizer: FNV's low bits are weak on their own.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// guidFromHash formats 128 bits derived from h as a GUID, for request ids.
func guidFromHash(h uint64) string {
	hi, lo := mix64(h), mix64(h^0x9e3779b97f4a7c15)
	var b [16]byte
	for i := range 8 {
		b[i] = byte(hi >> (8 * i))
		b[8+i] = byte(lo >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

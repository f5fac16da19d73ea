package report

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// lineEncoder encodes records as JSON lines into a reusable buffer. HTML
// characters are kept as they are, so raw payloads stay verbatim (up to
// insignificant whitespace, which a line cannot hold).
//
// With a key, each line is authenticated (auth.go): chain is the MAC of the
// line before, or the journal's seed.
type lineEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder

	key     *Key
	chain   []byte
	scratch bytes.Buffer
	senc    *json.Encoder
	// n counts the lines encoded since the last reset.
	n int
}

func newLineEncoder() *lineEncoder {
	e := &lineEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}

// signing makes the encoder authenticate every line under key, chained
// from chain.
func (e *lineEncoder) signing(key *Key, chain []byte) {
	e.key, e.chain = key, chain
	e.senc = json.NewEncoder(&e.scratch)
	e.senc.SetEscapeHTML(false)
}

// encode appends v and a newline. The records hold only strings, numbers,
// booleans and raw JSON checked beforehand, so encoding cannot fail.
func (e *lineEncoder) encode(v any) {
	e.n++
	if e.key == nil {
		if err := e.enc.Encode(v); err != nil {
			panic(fmt.Sprintf("report: encode journal record: %v", err))
		}
		return
	}
	e.scratch.Reset()
	if err := e.senc.Encode(v); err != nil {
		panic(fmt.Sprintf("report: encode journal record: %v", err))
	}
	b := e.scratch.Bytes()
	e.chain = e.key.signLine(&e.buf, e.chain, b[:len(b)-1])
}

func (e *lineEncoder) bytes() []byte { return e.buf.Bytes() }
func (e *lineEncoder) len() int      { return e.buf.Len() }
func (e *lineEncoder) reset()        { e.buf.Reset(); e.n = 0 }

package console

import (
	"bytes"
	"encoding/json"

	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

// CleanEncoder wraps a console-format log encoder so that what a log line
// prints is cleaned as the display cleans what it prints (Clean, not
// cut): the message, and every string of every field, nested ones too,
// whether given to the line or to the logger (With). zap's console
// encoder escapes C0 controls in fields only, and prints C1 controls (an
// 8-bit CSI, U+009B, opens an escape sequence on many terminals) and
// bidirectional overrides as they are. Field keys are the code's own.
func CleanEncoder(enc zapcore.Encoder) zapcore.Encoder { return cleanEncoder{enc} }

type cleanEncoder struct{ zapcore.Encoder }

func (e cleanEncoder) Clone() zapcore.Encoder { return cleanEncoder{e.Encoder.Clone()} }

func (e cleanEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	ent.Message = cleanText(ent.Message)
	ent.LoggerName = cleanText(ent.LoggerName)
	var clean []zapcore.Field
	if len(fields) > 0 {
		clean = []zapcore.Field{{Type: zapcore.InlineMarshalerType, Interface: cleanFields(fields)}}
	}
	return e.Encoder.EncodeEntry(ent, clean)
}

// The fields given to the logger (With) arrive through these.
func (e cleanEncoder) AddString(k, v string) { cleanObject{e.Encoder}.AddString(k, v) }
func (e cleanEncoder) AddByteString(k string, v []byte) {
	cleanObject{e.Encoder}.AddByteString(k, v)
}
func (e cleanEncoder) AddArray(k string, v zapcore.ArrayMarshaler) error {
	return cleanObject{e.Encoder}.AddArray(k, v)
}
func (e cleanEncoder) AddObject(k string, v zapcore.ObjectMarshaler) error {
	return cleanObject{e.Encoder}.AddObject(k, v)
}
func (e cleanEncoder) AddReflected(k string, v any) error {
	return cleanObject{e.Encoder}.AddReflected(k, v)
}

// cleanText is Clean without a length limit: a log line is not cut.
func cleanText(s string) string { return Clean(s, -1) }

// cleanFields adds a line's fields through cleanObject.
type cleanFields []zapcore.Field

func (fs cleanFields) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for _, f := range fs {
		f.AddTo(cleanObject{enc})
	}
	return nil
}

// cleanObject is an ObjectEncoder that cleans every string it is handed
// (an error's text and a Stringer's arrive as strings), and hands nested
// objects and arrays the same cleaning.
type cleanObject struct{ zapcore.ObjectEncoder }

func (o cleanObject) AddString(k, v string) { o.ObjectEncoder.AddString(k, cleanText(v)) }
func (o cleanObject) AddByteString(k string, v []byte) {
	o.ObjectEncoder.AddString(k, cleanText(string(v)))
}
func (o cleanObject) AddArray(k string, v zapcore.ArrayMarshaler) error {
	return o.ObjectEncoder.AddArray(k, cleanArrayMarshaler{v})
}
func (o cleanObject) AddObject(k string, v zapcore.ObjectMarshaler) error {
	return o.ObjectEncoder.AddObject(k, cleanObjectMarshaler{v})
}
func (o cleanObject) AddReflected(k string, v any) error {
	return o.ObjectEncoder.AddReflected(k, cleanReflected(v))
}

type cleanArray struct{ zapcore.ArrayEncoder }

func (a cleanArray) AppendString(v string)     { a.ArrayEncoder.AppendString(cleanText(v)) }
func (a cleanArray) AppendByteString(v []byte) { a.ArrayEncoder.AppendString(cleanText(string(v))) }
func (a cleanArray) AppendArray(v zapcore.ArrayMarshaler) error {
	return a.ArrayEncoder.AppendArray(cleanArrayMarshaler{v})
}
func (a cleanArray) AppendObject(v zapcore.ObjectMarshaler) error {
	return a.ArrayEncoder.AppendObject(cleanObjectMarshaler{v})
}
func (a cleanArray) AppendReflected(v any) error {
	return a.ArrayEncoder.AppendReflected(cleanReflected(v))
}

type cleanArrayMarshaler struct{ zapcore.ArrayMarshaler }

func (m cleanArrayMarshaler) MarshalLogArray(enc zapcore.ArrayEncoder) error {
	return m.ArrayMarshaler.MarshalLogArray(cleanArray{enc})
}

type cleanObjectMarshaler struct{ zapcore.ObjectMarshaler }

func (m cleanObjectMarshaler) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	return m.ObjectMarshaler.MarshalLogObject(cleanObject{enc})
}

// cleanReflected is v (zap.Any of a value zap has no type for) as zap
// would print it, its strings and keys cleaned: v through JSON and back
// (a struct's fields then print in the order of their names). A value
// that does not marshal is left to zap, which prints the error instead.
func cleanReflected(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var tree any
	if err := d.Decode(&tree); err != nil {
		return v
	}
	return cleanTree(tree)
}

// cleanTree cleans the strings and keys of a decoded JSON value.
func cleanTree(v any) any {
	switch v := v.(type) {
	case string:
		return cleanText(v)
	case []any:
		for i := range v {
			v[i] = cleanTree(v[i])
		}
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[cleanText(k)] = cleanTree(e)
		}
		return out
	}
	return v
}

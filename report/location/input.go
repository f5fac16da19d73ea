package location

import (
	"context"
	"fmt"
	"io"
	"os"
)

// MaxInput bounds what is read of the input: a nightly list of departures
// is kilobytes; a hostile stream must not fill the memory.
const MaxInput = 64 << 20

// ReadInput reads the input from a path, standard input or a blob.
func (s *Storage) ReadInput(ctx context.Context, l Location) ([]byte, error) {
	if !l.isBlob {
		return readInput(ctx, l.spec, s.Stdin, l.dropped)
	}
	store, err := s.store(l)
	if err != nil {
		return nil, err
	}
	return store.Read(ctx, l.blob.Path, MaxInput)
}

// readInput reads the CSV from a path or standard input ("-"), bounded;
// a file of a drop folder (regular) only when it is a regular file. It
// returns when ctx is done, even while a read blocks (a pipe with no
// writer): SIGTERM is honoured while the input is read.
func readInput(ctx context.Context, path string, stdin io.Reader, regular bool) ([]byte, error) {
	type answer struct {
		data []byte
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		data, err := readInputNow(path, stdin, regular)
		done <- answer{data, err}
	}()
	select {
	case a := <-done:
		return a.data, a.err
	case <-ctx.Done():
		// The read goes on until the process exits; nothing waits for it.
		return nil, fmt.Errorf("reading %s: %w", path, ctx.Err())
	}
}

func readInputNow(path string, stdin io.Reader, regular bool) ([]byte, error) {
	var r io.Reader
	switch {
	case path == "-":
		r = stdin
	case regular:
		f, err := OpenRegular(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	default:
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, fmt.Errorf("%s is a directory", path)
		}
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > MaxInput {
		return nil, fmt.Errorf("%s is larger than %d MiB", path, MaxInput>>20)
	}
	return data, nil
}

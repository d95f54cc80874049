package cdrclient

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// outbox is a directory of files, each holding one or more request bodies (one JSON array a
// line), named by a sequence number so a restart sends them in the order they were written. A
// file is written to a temporary name, fsync'd and renamed, so a kill leaves whole files or
// none. Everything the pump drained in one pass goes into one file: a backlog costs one fsync
// pair, not one per request (fsyncs on a shared disk also slow the server's commits).
type outbox struct {
	dir     string
	max     int64
	mu      sync.Mutex
	cond    *sync.Cond
	files   []*boxFile // oldest first, in flight included
	seq     uint64
	bytes   int64
	events  int
	batches int
	woken   bool
	drained chan struct{} // closed (and replaced) whenever a file leaves: Flush waits on it
}

type boxFile struct {
	name   string
	n      int // events in the file
	size   int64
	bodies [][]byte
	counts []int   // events per body
	state  []uint8 // per body: 0 waiting, 1 taken, 2 answered
	left   int     // bodies not answered yet
}

// unit is one request: a body of a file.
type unit struct {
	f *boxFile
	i int
}

const (
	bodyWaiting uint8 = iota
	bodyTaken
	bodyAnswered
)

func openOutbox(dir string, max int64) (*outbox, error) {
	if err := os.MkdirAll(filepath.Join(dir, "refused"), 0o700); err != nil {
		return nil, fmt.Errorf("cdrclient: outbox: %w", err)
	}
	b := &outbox{dir: dir, max: max, drained: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cdrclient: outbox: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(dir, name)) // a write the process did not finish
			continue
		}
		seq, n, ok := parseBatchName(name)
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		bodies := splitBodies(data)
		counts := make([]int, len(bodies))
		for i, body := range bodies {
			counts[i] = countEvents(body)
		}
		f := newBoxFile(name, n, bodies, counts)
		b.files = append(b.files, f)
		b.bytes += f.size
		b.events += n
		b.batches += f.left
		if seq > b.seq {
			b.seq = seq
		}
	}
	sort.Slice(b.files, func(i, j int) bool { return b.files[i].name < b.files[j].name })
	return b, nil
}

func newBoxFile(name string, n int, bodies [][]byte, counts []int) *boxFile {
	f := &boxFile{name: name, n: n, bodies: bodies, counts: counts, state: make([]uint8, len(bodies)), left: len(bodies)}
	for _, body := range bodies {
		f.size += int64(len(body)) + 1
	}
	return f
}

func splitBodies(data []byte) [][]byte {
	var bodies [][]byte
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		if len(line) > 0 {
			bodies = append(bodies, line)
		}
	}
	return bodies
}

func parseBatchName(name string) (seq uint64, n int, ok bool) {
	stem := strings.TrimSuffix(name, ".json")
	if stem == name || len(stem) < 22 || stem[20] != '-' {
		return 0, 0, false
	}
	seq, err1 := strconv.ParseUint(stem[:20], 10, 64)
	n, err2 := strconv.Atoi(stem[21:])
	return seq, n, err1 == nil && err2 == nil && n > 0
}

// countEvents counts the elements of a JSON array of objects without decoding it (a batch
// reloaded from disk; the pump knows its counts): json.Unmarshal here was a sixth of the
// client's CPU in bench/go_client.py's replay profile.
func countEvents(body []byte) int {
	n, depth, inString, escaped := 0, 0, false, false
	for _, c := range body {
		switch {
		case inString:
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth == 1 {
				n++
			}
			depth++
		case c == '}' || c == ']':
			depth--
		}
	}
	return n
}

// append makes bodies (JSON arrays of counts[i] events, no newline inside) durable as one file.
func (b *outbox) append(bodies [][]byte, counts []int) error {
	size := int64(0)
	n := 0
	for i, body := range bodies {
		size += int64(len(body)) + 1
		n += counts[i]
	}
	b.mu.Lock()
	if b.bytes+size > b.max {
		b.mu.Unlock()
		return fmt.Errorf("outbox full (%d bytes on disk, OutboxMaxBytes %d)", b.bytes, b.max)
	}
	b.seq++
	name := fmt.Sprintf("%020d-%d.json", b.seq, n)
	b.mu.Unlock()
	data := make([]byte, 0, size)
	for _, body := range bodies {
		data = append(append(data, body...), '\n')
	}
	if err := writeDurably(b.dir, name, data); err != nil {
		return err
	}
	b.mu.Lock()
	b.files = append(b.files, newBoxFile(name, n, bodies, counts))
	b.bytes += size
	b.events += n
	b.batches += len(bodies)
	b.cond.Broadcast()
	b.mu.Unlock()
	return nil
}

// writeDurably writes dir/name so that after a crash it holds all of data or does not exist.
func writeDurably(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// starving: fewer requests in the outbox (in flight or waiting) than senders: one is idle.
func (b *outbox) starving(senders int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.batches < senders
}

// take gives the oldest request body no sender holds and its event count, waiting for one; ok
// false once woken by Close.
func (b *outbox) take() (u unit, body []byte, n int, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if b.woken {
			return unit{}, nil, 0, false
		}
		for _, f := range b.files {
			for i, s := range f.state {
				if s == bodyWaiting {
					f.state[i] = bodyTaken
					return unit{f, i}, f.bodies[i], f.counts[i], true
				}
			}
		}
		b.cond.Wait()
	}
}

// finish forgets a body the server answered (refused: kept aside in refused/ for an operator);
// a file goes once all its bodies are answered.
func (b *outbox) finish(u unit, refused bool) {
	if refused {
		name := fmt.Sprintf("%s-%d.json", strings.TrimSuffix(u.f.name, ".json"), u.i)
		_ = writeDurably(filepath.Join(b.dir, "refused"), name, append(append([]byte{}, u.f.bodies[u.i]...), '\n'))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	u.f.state[u.i] = bodyAnswered
	u.f.left--
	b.batches--
	if u.f.left > 0 {
		return
	}
	_ = os.Remove(filepath.Join(b.dir, u.f.name))
	for i, g := range b.files {
		if g == u.f {
			b.files = append(b.files[:i], b.files[i+1:]...)
			break
		}
	}
	b.bytes -= u.f.size
	b.events -= u.f.n
	u.f.bodies = nil
	b.cond.Broadcast()
	close(b.drained)
	b.drained = make(chan struct{})
}

func (b *outbox) release(u unit) {
	b.mu.Lock()
	u.f.state[u.i] = bodyWaiting
	b.mu.Unlock()
}

func (b *outbox) wake() {
	b.mu.Lock()
	b.woken = true
	b.cond.Broadcast()
	b.mu.Unlock()
}

func (b *outbox) empty() bool { return b.len() == 0 }

// emptyOrChanged: true when the outbox is empty; else a channel closed when a file leaves it.
func (b *outbox) emptyOrChanged() (bool, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.batches == 0, b.drained
}

func (b *outbox) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.batches
}

func (b *outbox) stats() (int, int, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.batches, b.events, b.bytes
}

package cdrclient

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// outbox is a directory of event batches, one file per request body, named by a sequence
// number so a restart sends them in the order they were written. A file is written to a
// temporary name, fsync'd and renamed, so a kill leaves whole batches or none.
type outbox struct {
	dir    string
	max    int64
	mu     sync.Mutex
	cond   *sync.Cond
	files  []*boxFile // oldest first, in flight included
	seq    uint64
	bytes  int64
	events int
	woken  bool
}

type boxFile struct {
	name  string
	n     int
	size  int64
	taken bool
}

func openOutbox(dir string, max int64) (*outbox, error) {
	if err := os.MkdirAll(filepath.Join(dir, "refused"), 0o700); err != nil {
		return nil, fmt.Errorf("cdrclient: outbox: %w", err)
	}
	b := &outbox{dir: dir, max: max}
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
		info, err := e.Info()
		if err != nil {
			continue
		}
		b.files = append(b.files, &boxFile{name: name, n: n, size: info.Size()})
		b.bytes += info.Size()
		b.events += n
		if seq > b.seq {
			b.seq = seq
		}
	}
	sort.Slice(b.files, func(i, j int) bool { return b.files[i].name < b.files[j].name })
	return b, nil
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

func (b *outbox) append(body []byte, n int) error {
	b.mu.Lock()
	if b.bytes+int64(len(body)) > b.max {
		b.mu.Unlock()
		return fmt.Errorf("outbox full (%d bytes on disk, OutboxMaxBytes %d)", b.bytes, b.max)
	}
	b.seq++
	name := fmt.Sprintf("%020d-%d.json", b.seq, n)
	b.mu.Unlock()
	if err := writeDurably(b.dir, name, body); err != nil {
		return err
	}
	b.mu.Lock()
	b.files = append(b.files, &boxFile{name: name, n: n, size: int64(len(body))})
	b.bytes += int64(len(body))
	b.events += n
	b.cond.Signal()
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

// take gives the oldest batch no sender holds, waiting for one; nil once woken by Close.
func (b *outbox) take() *boxFile {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if b.woken {
			return nil
		}
		for _, f := range b.files {
			if !f.taken {
				f.taken = true
				return f
			}
		}
		b.cond.Wait()
	}
}

func (b *outbox) read(f *boxFile) ([]byte, error) {
	return os.ReadFile(filepath.Join(b.dir, f.name))
}

// finish forgets a batch the server answered (refused: kept aside in refused/ for an operator).
func (b *outbox) finish(f *boxFile, refused bool) {
	path := filepath.Join(b.dir, f.name)
	if refused {
		_ = os.Rename(path, filepath.Join(b.dir, "refused", f.name))
	} else {
		_ = os.Remove(path)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, g := range b.files {
		if g == f {
			b.files = append(b.files[:i], b.files[i+1:]...)
			break
		}
	}
	b.bytes -= f.size
	b.events -= f.n
	b.cond.Broadcast()
}

func (b *outbox) release(f *boxFile) {
	b.mu.Lock()
	f.taken = false
	b.mu.Unlock()
}

func (b *outbox) wake() {
	b.mu.Lock()
	b.woken = true
	b.cond.Broadcast()
	b.mu.Unlock()
}

func (b *outbox) empty() bool { return b.len() == 0 }

func (b *outbox) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.files)
}

func (b *outbox) stats() (int, int, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.files), b.events, b.bytes
}

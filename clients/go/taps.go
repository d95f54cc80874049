package cdrclient

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/LingByte/lingllm/protocol/sip/hooks"
)

// Live PCM taps, as cdr.media.taps.TapRecorder (what the Python StorageRecordingSink does): two
// mono PCM16 LE streams, 0 caller and 1 agent, placed on a shared clock whose origin is the
// call's first chunk. A chunk that arrives later than the end of what its channel holds by more
// than TapGapTolerance starts at its arrival (silence before it); otherwise it follows on. At
// FinishRecording the two channels become one interleaved stereo PCM16 LE stream uploaded as
// format stereo_pcm (channels 2, the sample rate BeginRecording gave), which the server turns
// into the call's stereo WAV.
//
// AppendPCM never blocks: it copies the chunk into a lock-free ring (ring.go) and returns; one
// goroutine writes the chunks to a file per channel under Dir/taps/. A chunk is dropped and
// counted (Stats().TapsDropped) when the chunks waiting in memory would pass TapQueueBytes, when
// the ring is full, or when the tap files on disk would pass TapSpoolMaxBytes. Taps of calls in
// progress do not survive a process kill (as the Python sink's); once FinishRecording has turned
// them into a spooled stereo_pcm recording, its upload does.

// tapCall is one recorded call's taps. callID..tenant are set by BeginRecording; the rest is the
// tap writer's only.
type tapCall struct {
	id     uint64
	callID string
	rate   int
	codec  string
	tenant uint64
	begun  int64 // ns since the client's epoch

	origin   int64 // the first chunk's arrival (ns since the client's epoch); -1: none yet
	files    [2]*os.File
	bufs     [2]*bufio.Writer // a write(2) per 64 KiB, not per 20 ms chunk
	segments [2][]tapSegment
	ends     [2]int64 // samples: where the channel's next contiguous chunk goes
	sizes    [2]int64 // bytes in the channel's file
	finished bool
}

// tapSegment: samples placed at pos, stored at off in the channel's file.
type tapSegment struct{ pos, off, n int64 }

// tapChunk goes through the ring: a chunk of PCM, or (finish != nil) the end of a call's taps.
type tapChunk struct {
	call   *tapCall
	ch     uint8
	at     int64 // ns since the client's epoch (monotonic)
	pcm    []byte
	finish chan<- *recordingJob // the spooled stereo_pcm recording, nil when there was no audio
}

type tapState struct {
	dir     string
	ring    *ring[tapChunk]
	queued  atomic.Int64 // PCM bytes in the ring
	onDisk  atomic.Int64 // bytes in the tap files of calls in progress
	dropped atomic.Uint64
	expired atomic.Uint64 // calls begun TapCallMaxAge ago and never finished: their taps discarded
	written atomic.Uint64 // PCM bytes written to tap files
	seq     atomic.Uint64
	active  atomic.Int64  // calls begun and not finished: the writer polls only while there are some
	wake    chan struct{} // BeginRecording wakes an idle writer
	epoch   time.Time
	done    chan struct{}
}

func openTaps(dir string, queueBytes int) (*tapState, error) {
	// Tap files a killed process left: their calls are over, their audio without an origin.
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cdrclient: taps: %w", err)
	}
	// Slots for TapQueueBytes of 10 ms chunks at 8 kHz (160 bytes): the byte bound, not the ring,
	// is what a stalled writer meets first.
	return &tapState{dir: dir, ring: newRing[tapChunk](queueBytes / 160), wake: make(chan struct{}, 1), epoch: time.Now(),
		done: make(chan struct{})}, nil
}

// BeginRecording mirrors hooks.RecordingSink.BeginRecording. It notes the call's tenant for the
// uploads (a RecordingArtifact has none; without it a recording is sent as tenant 0 and takes
// its call's tenant on the server) and, when sampleRate > 0, starts taking the call's PCM taps.
// Always true: the server applies the tenant's recording policy. A second call for the same call
// (a re-INVITE) keeps the taps taken so far.
func (c *Client) BeginRecording(meta hooks.CallMeta, sampleRate int, codec string) bool {
	if c == nil {
		return true
	}
	defer func() {
		if recover() != nil {
			c.hookPanics.Add(1)
		}
	}()
	c.tenants.Store(meta.CallID, uint64(meta.TenantID))
	if sampleRate > 0 && sampleRate <= 384000 && !c.closed.Load() {
		tc := &tapCall{id: c.taps.seq.Add(1), callID: meta.CallID, rate: sampleRate, codec: codec,
			tenant: uint64(meta.TenantID), begun: int64(time.Since(c.taps.epoch)), origin: -1}
		if _, known := c.tapCalls.LoadOrStore(meta.CallID, tc); !known {
			if c.taps.active.Add(1) == 1 {
				select {
				case c.taps.wake <- struct{}{}:
				default:
				}
			}
		}
	}
	return true
}

// AppendPCM mirrors hooks.RecordingSink.AppendPCM: a copy of the chunk (mono PCM16 LE) is queued
// for the tap writer; never blocks. Taps of a call BeginRecording did not start (or after its
// FinishRecording) are ignored.
func (c *Client) AppendPCM(callID string, ch hooks.RecordingChannel, pcm []byte) {
	if c == nil {
		return
	}
	defer func() {
		if recover() != nil {
			c.hookPanics.Add(1)
		}
	}()
	v, ok := c.tapCalls.Load(callID)
	if !ok {
		return
	}
	n := len(pcm) &^ 1 // whole samples
	if n == 0 {
		return
	}
	t := c.taps
	if (ch != hooks.ChannelCaller && ch != hooks.ChannelAgent) || t.queued.Add(int64(n)) > int64(c.cfg.TapQueueBytes) {
		if ch == hooks.ChannelCaller || ch == hooks.ChannelAgent {
			t.queued.Add(-int64(n))
		}
		t.dropped.Add(1)
		c.warnf("PCM tap of call %q dropped (channel %d, or over TapQueueBytes %d)", callID, ch, c.cfg.TapQueueBytes)
		return
	}
	chunk := tapChunk{call: v.(*tapCall), ch: uint8(ch), at: int64(time.Since(t.epoch)), pcm: tapBuffer(n)}
	copy(chunk.pcm, pcm)
	if !t.ring.push(&chunk) {
		putTapBuffer(chunk.pcm)
		t.queued.Add(-int64(n))
		t.dropped.Add(1)
		c.warnf("PCM tap queue full (%d chunks): dropping taps", t.ring.capacity())
	}
}

// tapBuffers recycles the chunks' copies: a gateway taps ~100 chunks a second per recorded call,
// and allocating each one kept the garbage collector busy on the hooks' goroutines.
var tapBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// putTapBuffer gives a chunk's copy back (a header of its own: the caller's variable is reused).
func putTapBuffer(b []byte) { tapBuffers.Put(&b) }

func tapBuffer(n int) []byte {
	b := *tapBuffers.Get().(*[]byte)
	if cap(b) < n {
		b = make([]byte, n)
	}
	return b[:n]
}

// finishTaps ends a call's taps: the writer closes its files and its stereo stream is spooled
// as a recording upload, which is returned on the channel (nil: no audio).
func (c *Client) finishTaps(tc *tapCall) <-chan *recordingJob {
	out := make(chan *recordingJob, 1)
	marker := tapChunk{call: tc, finish: out}
	go func() { // the ring may be full for a moment; the marker must not be lost
		for !c.taps.ring.push(&marker) {
			select {
			case <-c.taps.done:
				close(out)
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return out
}

// tapWriter is the goroutine behind AppendPCM: it polls the ring and writes the chunks.
func (c *Client) tapWriter() {
	t := c.taps
	defer close(t.done)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	open := map[*tapCall]bool{}
	var chunk tapChunk
	sweep := c.cfg.TapCallMaxAge / 4
	if sweep > time.Minute {
		sweep = time.Minute
	}
	lastSweep := time.Now()
	for {
		if time.Since(lastSweep) >= sweep {
			lastSweep = time.Now()
			c.tapExpire(open)
		}
		for t.ring.pop(&chunk) {
			tc := chunk.call
			if chunk.finish != nil {
				t.active.Add(-1)
				tc.finished = true
				delete(open, tc)
				c.tapClose(tc)
				go c.tapSpool(tc, chunk.finish)
				continue
			}
			t.queued.Add(-int64(len(chunk.pcm)))
			if tc.finished {
				t.dropped.Add(1)
				putTapBuffer(chunk.pcm)
				continue
			}
			err := c.tapWrite(tc, &chunk)
			putTapBuffer(chunk.pcm)
			if err != nil {
				t.dropped.Add(1)
				c.setError("PCM tap: " + err.Error())
				c.warnf("PCM tap of call %q dropped: %v", tc.callID, err)
				continue
			}
			open[tc] = true
		}
		chunk = tapChunk{}
		var ticks <-chan time.Time
		if t.active.Load() > 0 {
			ticks = tick.C
		}
		select {
		case <-ticks:
		case <-t.wake:
		case <-c.stop:
			for tc := range open { // calls in progress at Close: their taps are lost
				c.tapClose(tc)
				c.tapRemove(tc)
			}
			return
		}
	}
}

// tapExpire ends the taps of calls begun TapCallMaxAge ago that FinishRecording never ended (as
// the Python sink's stale_call_seconds): their files would stay open and on disk for ever.
func (c *Client) tapExpire(open map[*tapCall]bool) {
	t := c.taps
	cutoff := int64(time.Since(t.epoch) - c.cfg.TapCallMaxAge)
	c.tapCalls.Range(func(k, v any) bool {
		tc := v.(*tapCall)
		if tc.begun > cutoff {
			return true
		}
		if now, ok := c.tapCalls.LoadAndDelete(k); ok && now != v {
			c.tapCalls.Store(k, now) // the call ended and another with its id began meanwhile
			return true
		}
		t.active.Add(-1)
		t.expired.Add(1)
		tc.finished = true
		delete(open, tc)
		c.tapClose(tc)
		c.tapRemove(tc)
		c.tenants.Delete(k)
		c.warnf("PCM taps of call %q discarded: begun %v ago, never finished", tc.callID, c.cfg.TapCallMaxAge)
		return true
	})
}

func (c *Client) tapWrite(tc *tapCall, chunk *tapChunk) error {
	n := int64(len(chunk.pcm))
	if c.taps.onDisk.Load()+n > c.cfg.TapSpoolMaxBytes {
		return fmt.Errorf("tap files over TapSpoolMaxBytes (%d)", c.cfg.TapSpoolMaxBytes)
	}
	ch := chunk.ch
	if tc.files[ch] == nil {
		f, err := os.OpenFile(c.tapPath(tc, ch), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		tc.files[ch] = f
		tc.bufs[ch] = bufio.NewWriterSize(f, 1<<16)
	}
	if _, err := tc.bufs[ch].Write(chunk.pcm); err != nil {
		return err
	}
	if tc.origin < 0 {
		tc.origin = chunk.at
	}
	// Where the chunk goes, as TapRecorder.write: after what the channel holds, unless it
	// arrived later than that by more than the tolerance.
	arrival := (chunk.at - tc.origin) * int64(tc.rate) / int64(time.Second)
	tolerance := int64(c.cfg.TapGapTolerance) * int64(tc.rate) / int64(time.Second)
	samples := n / 2
	start := tc.ends[ch]
	if arrival-start > tolerance {
		start = arrival
	}
	segs := tc.segments[ch]
	if k := len(segs) - 1; k >= 0 && segs[k].pos+segs[k].n == start {
		segs[k].n += samples
	} else {
		tc.segments[ch] = append(segs, tapSegment{pos: start, off: tc.sizes[ch], n: samples})
	}
	tc.sizes[ch] += n
	tc.ends[ch] = start + samples
	c.taps.onDisk.Add(n)
	c.taps.written.Add(uint64(n))
	return nil
}

func (c *Client) tapPath(tc *tapCall, ch uint8) string {
	return filepath.Join(c.taps.dir, strconv.FormatUint(tc.id, 10)+"."+strconv.Itoa(int(ch))+".pcm")
}

func (c *Client) tapClose(tc *tapCall) {
	for ch, f := range tc.files {
		if f != nil {
			if err := tc.bufs[ch].Flush(); err != nil {
				c.setError("PCM taps: " + err.Error())
			}
			_ = f.Close()
		}
	}
}

func (c *Client) tapRemove(tc *tapCall) {
	for ch := range tc.files {
		if tc.files[ch] != nil {
			_ = os.Remove(c.tapPath(tc, uint8(ch)))
		}
	}
	c.taps.onDisk.Add(-(tc.sizes[0] + tc.sizes[1]))
}

// tapSpool interleaves the two channels into one stereo PCM16 LE stream (silence where a channel
// has nothing) and spools it as a stereo_pcm recording; the tap files go.
func (c *Client) tapSpool(tc *tapCall, out chan<- *recordingJob) {
	defer c.tapRemove(tc)
	total := tc.ends[0]
	if tc.ends[1] > total {
		total = tc.ends[1]
	}
	if total == 0 {
		out <- nil
		return
	}
	job, err := c.spool.addStream(func(w io.Writer) error { return c.tapInterleave(tc, total, w) }, recordingMeta{
		CallID: tc.callID, TenantID: tc.tenant, Format: string(hooks.FormatStereoPCM), Codec: tc.codec,
		SampleRate: tc.rate, Channels: 2, Bytes: total * 4,
	})
	if err != nil {
		c.taps.dropped.Add(1)
		c.setError("PCM taps: " + err.Error())
		c.cfg.Logger.Printf("cdrclient: PCM taps of call %q not spooled: %v", tc.callID, err)
		out <- nil
		return
	}
	out <- &job
}

func (c *Client) tapInterleave(tc *tapCall, total int64, w io.Writer) error {
	var files [2]*os.File
	for ch := range files {
		if tc.files[ch] == nil {
			continue
		}
		f, err := os.Open(c.tapPath(tc, uint8(ch)))
		if err != nil {
			return err
		}
		defer f.Close()
		files[ch] = f
	}
	const block = 1 << 15 // frames
	frames := make([]byte, block*4)
	mono := make([]byte, block*2)
	next := [2]int{} // segments never overlap and go by position: the first that may reach the block
	for w0 := int64(0); w0 < total; w0 += block {
		w1 := w0 + block
		if w1 > total {
			w1 = total
		}
		buf := frames[:(w1-w0)*4]
		for i := range buf {
			buf[i] = 0
		}
		for ch := 0; ch < 2; ch++ {
			segs := tc.segments[ch]
			for k := next[ch]; k < len(segs); k++ {
				s := segs[k]
				lo, hi := max64(s.pos, w0), min64(s.pos+s.n, w1)
				if s.pos >= w1 {
					break
				}
				if s.pos+s.n <= w0 {
					next[ch] = k + 1
					continue
				}
				p := mono[:(hi-lo)*2]
				if _, err := files[ch].ReadAt(p, s.off+2*(lo-s.pos)); err != nil {
					return err
				}
				for i := int64(0); i < hi-lo; i++ {
					binary.LittleEndian.PutUint16(buf[(lo-w0+i)*4+int64(ch)*2:], binary.LittleEndian.Uint16(p[i*2:]))
				}
			}
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

// addStream spools a recording written by write (m.Bytes long): SEQ.blob (fsync'd, renamed into
// place), then SEQ.meta.json with its SHA-256.
func (s *recordingSpool) addStream(write func(io.Writer) error, m recordingMeta) (recordingJob, error) {
	s.mu.Lock()
	s.seq++
	stem := fmt.Sprintf("%020d", s.seq)
	s.mu.Unlock()
	tmp := filepath.Join(s.dir, stem+".blob.tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return recordingJob{}, err
	}
	sum := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, sum), 1<<16)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, stem+".blob"))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return recordingJob{}, err
	}
	m.SHA256 = hex.EncodeToString(sum.Sum(nil))
	meta, _ := json.Marshal(&m)
	if err := writeDurably(s.dir, stem+".meta.json", meta); err != nil {
		_ = os.Remove(filepath.Join(s.dir, stem+".blob"))
		return recordingJob{}, err
	}
	return recordingJob{stem: filepath.Join(s.dir, stem), meta: m}, nil
}

// Package cdrclient delivers a Go gateway's hooks (github.com/LingByte/lingllm
// protocol/sip/hooks) to a cdr server over its HTTP ingestion API (docs/ingest.md).
//
// A hook call copies its arguments into a bounded in-memory queue and returns (no I/O, no lock,
// never blocks, never panics). One goroutine turns the queue into batches of up to 1,000 events
// under the server's body limit and writes each batch to an on-disk outbox (fsync'd) before it
// is sent; batches leave the outbox, oldest first, only once the server has answered for every
// event in them, so a killed process replays what it had not delivered when it starts again
// (the event ids make a re-post harmless). FinishRecording spools the blob to disk and uploads
// it with a Content-Length, retrying in the background past its ctx.
package cdrclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/LingByte/lingllm/protocol/sip/hooks"
)

var (
	_ hooks.LifecycleSink = (*Client)(nil)
	_ hooks.RecordingSink = (*Client)(nil)
)

// Config of a Client. URL, KeyID, Secret and Dir are required; a zero value takes its default.
type Config struct {
	URL    string // the cdr server, e.g. https://cdr.example.com (a path prefix is kept)
	KeyID  string // as `manage.py cdr_gateway create` printed it
	Secret string
	Dir    string // durable state: outbox/ (event batches) and recordings/ (spooled blobs)

	QueueEvents    int           // in-memory queue between the hooks and the outbox (16,384, rounded up to a power of two); full: dropped and counted
	BatchEvents    int           // events per request, 1..1,000 (1,000)
	MaxBodyBytes   int           // request body cap: the server's CDR_INGEST_MAX_BODY_BYTES (4 MiB)
	FlushInterval  time.Duration // how long a partial batch waits for more events (100 ms)
	Connections    int           // batches in flight at once (1: strictly in order)
	OutboxMaxBytes int64         // on-disk outbox cap; beyond it new events are dropped and counted (1 GiB)
	RequestTimeout time.Duration // one HTTP attempt (30 s)
	MinBackoff     time.Duration // first retry delay (200 ms), doubled per failure with jitter...
	MaxBackoff     time.Duration // ...up to this (30 s); a longer Retry-After wins
	Uploads        int           // recording uploads at once (2)

	TapQueueBytes    int           // PCM tap bytes waiting in memory for the tap writer (8 MiB); beyond: dropped and counted
	TapSpoolMaxBytes int64         // tap files on disk for calls in progress (1 GiB); beyond: dropped and counted
	TapGapTolerance  time.Duration // a tap later than its channel's end by more than this starts at its arrival (80 ms)
	TapCallMaxAge    time.Duration // taps of a call not finished this long after BeginRecording are discarded (6 h)

	TimeDigits    int          // fractional digits of times on the wire, 1..9 (6: what the store keeps)
	LabelCalls    int          // calls whose SetLabels labels are kept (65,536); the oldest labelled is forgotten first
	EventIDPrefix string       // event ids are PREFIX-RUN-N, RUN random per New: never reused after a restart
	HTTPClient    *http.Client // default: a client with keep-alive and RequestTimeout
	Logger        *log.Logger  // default: log.Default()
}

func (c *Config) resolve() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("cdrclient: URL: expected http(s)://host[:port][/prefix], got %q", c.URL)
	}
	if c.KeyID == "" || c.Secret == "" {
		return errors.New("cdrclient: KeyID and Secret are required")
	}
	if c.Dir == "" {
		return errors.New("cdrclient: Dir is required (the durable outbox lives there)")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.QueueEvents, 16384)
	def(&c.BatchEvents, 1000)
	def(&c.MaxBodyBytes, 4<<20)
	def(&c.Connections, 1)
	def(&c.Uploads, 2)
	def(&c.TimeDigits, 6)
	def(&c.LabelCalls, 65536)
	def(&c.TapQueueBytes, 8<<20)
	if c.TapSpoolMaxBytes == 0 {
		c.TapSpoolMaxBytes = 1 << 30
	}
	defDur(&c.TapGapTolerance, 80*time.Millisecond)
	defDur(&c.TapCallMaxAge, 6*time.Hour)
	if c.OutboxMaxBytes == 0 {
		c.OutboxMaxBytes = 1 << 30
	}
	defDur(&c.FlushInterval, 100*time.Millisecond)
	defDur(&c.RequestTimeout, 30*time.Second)
	defDur(&c.MinBackoff, 200*time.Millisecond)
	defDur(&c.MaxBackoff, 30*time.Second)
	switch {
	case c.QueueEvents < 1:
		return fmt.Errorf("cdrclient: QueueEvents: %d < 1", c.QueueEvents)
	case c.BatchEvents < 1 || c.BatchEvents > 1000:
		return fmt.Errorf("cdrclient: BatchEvents: %d not in 1..1000 (the server's limit)", c.BatchEvents)
	case c.MaxBodyBytes < 4096:
		return fmt.Errorf("cdrclient: MaxBodyBytes: %d < 4096", c.MaxBodyBytes)
	case c.TapQueueBytes < 1 || c.TapSpoolMaxBytes < 1 || c.TapGapTolerance < 0 || c.TapCallMaxAge < time.Millisecond:
		return errors.New("cdrclient: need TapQueueBytes >= 1, TapSpoolMaxBytes >= 1, TapGapTolerance >= 0, TapCallMaxAge >= 1 ms")
	case c.LabelCalls < 1:
		return fmt.Errorf("cdrclient: LabelCalls: %d < 1", c.LabelCalls)
	case c.Connections < 1 || c.Uploads < 1:
		return errors.New("cdrclient: Connections and Uploads must be >= 1")
	case c.TimeDigits < 1 || c.TimeDigits > 9:
		return fmt.Errorf("cdrclient: TimeDigits: %d not in 1..9", c.TimeDigits)
	case c.MinBackoff < 0 || c.MaxBackoff < c.MinBackoff:
		return errors.New("cdrclient: need 0 <= MinBackoff <= MaxBackoff")
	case len(c.EventIDPrefix) > 90: // the server takes ids of up to 128 characters
		return errors.New("cdrclient: EventIDPrefix: longer than 90 characters")
	}
	for _, r := range c.EventIDPrefix {
		if r < '!' || r > '~' {
			return fmt.Errorf("cdrclient: EventIDPrefix: %q has a character outside ASCII ! to ~", c.EventIDPrefix)
		}
	}
	// A random run id: a restarted gateway counts from 1 again, and a reused id would be
	// answered "duplicate" (or 409) for a new event.
	var run [6]byte
	if _, err := rand.Read(run[:]); err != nil {
		return fmt.Errorf("cdrclient: event ids: %w", err)
	}
	if c.EventIDPrefix != "" {
		c.EventIDPrefix += "-"
	}
	c.EventIDPrefix += hex.EncodeToString(run[:])
	if c.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = c.Connections + c.Uploads
		c.HTTPClient = &http.Client{Transport: t}
	}
	if c.Logger == nil {
		c.Logger = log.Default()
	}
	return nil
}

// Stats are the client's counters since it started, for the gateway's metrics.
type Stats struct {
	Dropped    uint64 // hook calls lost: queue full, outbox full, or after Close
	HookPanics uint64 // recovered inside a hook (never reaches the gateway)
	Written    uint64 // events made durable in the outbox
	Oversize   uint64 // single events larger than MaxBodyBytes (dropped)

	OutboxBatches int   // batches waiting on disk (includes those in flight)
	OutboxEvents  int   // events in them
	OutboxBytes   int64 // their size

	Posted    uint64 // events the server answered for
	Accepted  uint64
	Duplicate uint64
	Rejected  uint64 // answered "rejected" (logged with the reason; never sent again)
	Refused   uint64 // events of batches the server refused whole (4xx): moved to outbox/refused/
	Retries   uint64 // event batch attempts that will be made again

	TapsDropped uint64 // PCM tap chunks lost: over TapQueueBytes or TapSpoolMaxBytes, bad channel, disk error
	TapBytes    uint64 // PCM tap bytes written to the tap files
	TapExpired  uint64 // calls whose taps were discarded: not finished TapCallMaxAge after BeginRecording

	RecordingsUploaded uint64
	RecordingsRefused  uint64 // answered 4xx: moved to recordings/refused/
	RecordingsPending  int    // spooled, not yet uploaded
	RecordingRetries   uint64

	LastError string
}

// Client implements hooks.LifecycleSink and hooks.RecordingSink over the ingestion API.
type Client struct {
	cfg        Config
	base       *url.URL
	eventsPath string // signed (decoded) path
	eventsURL  string
	layout     string

	queue  *ring[item]
	closed atomic.Bool

	dropped, hookPanics, written, oversize                  atomic.Uint64
	posted, accepted, duplicate, rejected, refused, retries atomic.Uint64
	recUploaded, recRefused, recRetries                     atomic.Uint64
	recPending                                              atomic.Int64
	lastError                                               atomic.Value // string

	labels   labelBook
	box      *outbox
	spool    *recordingSpool
	tenants  sync.Map // call id -> hooks.CallMeta.TenantID, from BeginRecording
	taps     *tapState
	tapCalls sync.Map // call id -> *tapCall, from BeginRecording to FinishRecording
	uploads  chan struct{}
	stop     chan struct{} // closed by Close: senders and uploaders give up waiting
	pumpDone chan struct{}
	flushReq chan chan struct{}
	wg       sync.WaitGroup
	lastWarn atomic.Int64
	rndMu    sync.Mutex
	rnd      uint64
}

// New starts a client: it reopens the outbox in Dir (sending first what a previous process
// left there) and resumes spooled recording uploads.
func New(cfg Config) (*Client, error) {
	if err := cfg.resolve(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(cfg.URL)
	prefix := base.Path
	for len(prefix) > 0 && prefix[len(prefix)-1] == '/' {
		prefix = prefix[:len(prefix)-1]
	}
	base.Path, base.RawPath = prefix, ""
	c := &Client{
		cfg:        cfg,
		base:       base,
		eventsPath: prefix + "/ingest/v1/events",
		layout:     timeLayout(cfg.TimeDigits),
		queue:      newRing[item](cfg.QueueEvents),
		uploads:    make(chan struct{}, cfg.Uploads),
		stop:       make(chan struct{}),
		pumpDone:   make(chan struct{}),
		flushReq:   make(chan chan struct{}),
		rnd:        uint64(time.Now().UnixNano()) | 1,
	}
	c.labels.max = cfg.LabelCalls
	ev := *base
	ev.Path = c.eventsPath
	c.eventsURL = ev.String()
	c.lastError.Store("")
	var err error
	if c.box, err = openOutbox(filepath.Join(cfg.Dir, "outbox"), cfg.OutboxMaxBytes); err != nil {
		return nil, err
	}
	if c.spool, err = openRecordingSpool(filepath.Join(cfg.Dir, "recordings")); err != nil {
		return nil, err
	}
	if c.taps, err = openTaps(filepath.Join(cfg.Dir, "taps"), cfg.TapQueueBytes); err != nil {
		return nil, err
	}
	go c.pump()
	go c.tapWriter()
	for i := 0; i < cfg.Connections; i++ {
		c.wg.Add(1)
		go c.sender()
	}
	for _, job := range c.spool.leftovers() {
		c.recPending.Add(1)
		go c.uploadLoop(job, nil)
	}
	return c, nil
}

// Registry gives the hooks registry to install at gateway start-up (hooks.DefaultRegistry = c.Registry()).
func (c *Client) Registry() hooks.Registry {
	return hooks.Registry{Lifecycle: c, Recording: c}
}

// put is every lifecycle hook: a copy into the queue, or a count when it is full.
func (c *Client) put(it item) {
	if c == nil {
		return
	}
	defer func() {
		if recover() != nil {
			c.hookPanics.Add(1)
		}
	}()
	if c.closed.Load() {
		c.dropped.Add(1)
		return
	}
	it.at = time.Now().UnixNano()
	if it.kind != kindBridgeStarted {
		it.labels = c.labels.get(it.meta.CallID)
	}
	if !c.queue.push(&it) {
		c.dropped.Add(1)
		c.warnf("event queue full (%d events): dropping new events", c.queue.capacity())
	}
}

// OnRinging mirrors hooks.LifecycleSink.OnRinging.
func (c *Client) OnRinging(meta hooks.CallMeta) { c.put(item{kind: kindRinging, meta: meta}) }

// OnEstablished mirrors hooks.LifecycleSink.OnEstablished.
func (c *Client) OnEstablished(meta hooks.CallMeta) { c.put(item{kind: kindEstablished, meta: meta}) }

// OnTransferStarted mirrors hooks.LifecycleSink.OnTransferStarted.
func (c *Client) OnTransferStarted(inbound hooks.CallMeta, targetURI string) {
	c.put(item{kind: kindTransferStarted, meta: inbound, s1: targetURI})
}

// OnBridgeStarted mirrors hooks.LifecycleSink.OnBridgeStarted.
func (c *Client) OnBridgeStarted(inboundCallID, outboundCallID string) {
	c.put(item{kind: kindBridgeStarted, s1: inboundCallID, s2: outboundCallID})
}

// OnBye mirrors hooks.LifecycleSink.OnBye. The recording travels as a summary (format, size,
// SHA-256); the blob itself is FinishRecording's. Its Payload is read later on the client's
// goroutine, so the gateway must not reuse that buffer.
func (c *Client) OnBye(meta hooks.CallMeta, hangup hooks.HangupMeta, recording hooks.RecordingArtifact) {
	c.put(item{kind: kindBye, meta: meta, hangup: hangup, rec: recording})
}

// OnFailed mirrors hooks.LifecycleSink.OnFailed.
func (c *Client) OnFailed(meta hooks.CallMeta, hangup hooks.HangupMeta) {
	c.put(item{kind: kindFailed, meta: meta, hangup: hangup})
}

// pump moves hook calls from the queue into outbox batches.
func (c *Client) pump() {
	defer close(c.pumpDone)
	var (
		batch   []byte // the batch being filled: "[" and its events so far
		events  int    // in batch
		ev      []byte // one event, reused
		seq     uint64
		lastNs  int64
		started time.Time // when the batch being filled got its first event
		waiting []chan struct{}
	)
	// The pump polls the queue (a lock-free ring, ring.go) instead of waiting on it: a hook then
	// never has a parked receiver to wake, which costs the gateway's goroutine microseconds.
	poll := c.cfg.FlushInterval
	if poll > 2*time.Millisecond {
		poll = 2 * time.Millisecond
	}
	ticker := time.NewTicker(poll)
	defer ticker.Stop()
	// seal closes the batch being filled; write makes the sealed ones durable, as one file.
	var sealed [][]byte
	var counts []int
	var sealedEvents int
	seal := func() {
		if events == 0 {
			return
		}
		batch = append(batch, ']')
		sealed = append(sealed, batch)
		counts = append(counts, events)
		sealedEvents += events
		batch, events = make([]byte, 0, len(batch)), 0
	}
	write := func() {
		if len(sealed) == 0 {
			return
		}
		if err := c.box.append(sealed, counts); err != nil {
			c.dropped.Add(uint64(sealedEvents))
			c.setError(err.Error())
			c.warnf("outbox: %v: dropping %d events", err, sealedEvents)
		} else {
			c.written.Add(uint64(sealedEvents))
		}
		sealed, counts, sealedEvents = nil, nil, 0
	}
	notify := func() {
		for _, w := range waiting {
			close(w)
		}
		waiting = waiting[:0]
	}
	add := func(it *item) {
		// Stamps stay distinct at the store's microsecond resolution, so two hooks fired back
		// to back (two transfer attempts) keep their order.
		if it.at < lastNs+1000 {
			it.at = lastNs + 1000
		}
		lastNs = it.at
		seq++
		ev = append(append(ev[:0], c.cfg.EventIDPrefix...), '-')
		ev = strconv.AppendUint(ev, seq, 10)
		id := string(ev)
		ev = appendItem(ev[:0], it, id, c.layout)
		if len(ev)+2 > c.cfg.MaxBodyBytes {
			c.oversize.Add(1)
			c.warnf("event of %d bytes over MaxBodyBytes: dropped", len(ev))
			return
		}
		if events == c.cfg.BatchEvents || len(batch)+len(ev)+2 > c.cfg.MaxBodyBytes {
			seal()
			// A backlog is written in files of 64 requests at most, each file one fsync pair.
			// But while a sender would be idle (fewer requests in the outbox than senders) the
			// sealed batches are written at once: a burst's first requests do not wait for 63
			// more to be encoded.
			if len(sealed) == 64 || c.box.starving(c.cfg.Connections) {
				write()
			}
		}
		if events == 0 {
			started = time.Now()
			batch = append(batch, '[')
		} else {
			batch = append(batch, ',')
		}
		batch = append(batch, ev...)
		events++
	}
	var it item
	drain := func() (n int) {
		for c.queue.pop(&it) {
			add(&it)
			n++
		}
		it = item{}
		return n
	}
	// Idle (nothing drained 10 polls running, no batch being filled), the pump polls less often:
	// every wake-up costs the scheduler CPU that a loaded machine's server could use (a profile
	// of bench/go_client.py's replay: a third of the client's CPU was the runtime parking and
	// waking its goroutines). A hook never waits for the pump either way.
	idlePoll := c.cfg.FlushInterval / 4
	if idlePoll > 20*time.Millisecond {
		idlePoll = 20 * time.Millisecond
	}
	if idlePoll < poll {
		idlePoll = poll
	}
	idle := 0
	for {
		select {
		case <-ticker.C:
			if drain() > 0 || events > 0 {
				if idle >= 10 {
					ticker.Reset(poll)
				}
				idle = 0
			} else if idle++; idle == 10 {
				ticker.Reset(idlePoll)
			}
			if events > 0 && time.Since(started) >= c.cfg.FlushInterval {
				seal()
			}
			write()
		case w := <-c.flushReq:
			waiting = append(waiting, w)
			drain()
			seal()
			write()
			notify()
		case <-c.stop:
			drain()
			seal()
			write()
			notify()
			return
		}
	}
}

// Sync waits until every hook call made before it is durable in the outbox (not yet sent).
func (c *Client) Sync(ctx context.Context) error {
	w := make(chan struct{})
	select {
	case c.flushReq <- w:
	case <-c.pumpDone:
		return errors.New("cdrclient: closed")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush waits until every hook call made before it has been answered by the server (and every
// spooled recording uploaded), or ctx ends.
func (c *Client) Flush(ctx context.Context) error {
	if err := c.Sync(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(10 * time.Millisecond) // recordings: polled while some are pending
	defer tick.Stop()
	for {
		empty, changed := c.box.emptyOrChanged()
		pending := c.recPending.Load()
		if empty && pending == 0 {
			return nil
		}
		var ticks <-chan time.Time
		if pending > 0 {
			ticks = tick.C
		}
		select {
		case <-changed: // the last batch's answer ends the wait at once, not at the next tick
		case <-ticks:
		case <-ctx.Done():
			return fmt.Errorf("cdrclient: flush: %w (%d batches, %d recordings still on disk)", ctx.Err(), c.box.len(), c.recPending.Load())
		}
	}
}

// Close stops taking hook calls, delivers what it holds until ctx ends, then stops. What is
// left stays in Dir and is sent by the next client opened on it.
func (c *Client) Close(ctx context.Context) error {
	if c.closed.Swap(true) {
		return errors.New("cdrclient: already closed")
	}
	err := c.Flush(ctx)
	close(c.stop)
	<-c.pumpDone
	<-c.taps.done
	c.box.wake()
	c.wg.Wait()
	return err
}

// Stats gives the counters (safe from any goroutine).
func (c *Client) Stats() Stats {
	batches, events, size := c.box.stats()
	return Stats{
		Dropped:            c.dropped.Load(),
		HookPanics:         c.hookPanics.Load(),
		Written:            c.written.Load(),
		Oversize:           c.oversize.Load(),
		OutboxBatches:      batches,
		OutboxEvents:       events,
		OutboxBytes:        size,
		Posted:             c.posted.Load(),
		Accepted:           c.accepted.Load(),
		Duplicate:          c.duplicate.Load(),
		Rejected:           c.rejected.Load(),
		Refused:            c.refused.Load(),
		Retries:            c.retries.Load(),
		TapsDropped:        c.taps.dropped.Load(),
		TapBytes:           c.taps.written.Load(),
		TapExpired:         c.taps.expired.Load(),
		RecordingsUploaded: c.recUploaded.Load(),
		RecordingsRefused:  c.recRefused.Load(),
		RecordingsPending:  int(c.recPending.Load()),
		RecordingRetries:   c.recRetries.Load(),
		LastError:          c.lastError.Load().(string),
	}
}

func (c *Client) setError(s string) { c.lastError.Store(s) }

// warnf logs at most once a second: a full queue must not flood the gateway's log.
func (c *Client) warnf(format string, args ...any) {
	now := time.Now().Unix()
	last := c.lastWarn.Load()
	if now > last && c.lastWarn.CompareAndSwap(last, now) {
		c.cfg.Logger.Printf("cdrclient: "+format, args...)
	}
}

// backoff is the wait before attempt n+1 (n >= 1): exponential with jitter, at least retryAfter.
func (c *Client) backoff(n int, retryAfter time.Duration) time.Duration {
	d := c.cfg.MinBackoff
	for i := 1; i < n && d < c.cfg.MaxBackoff; i++ {
		d *= 2
	}
	if d > c.cfg.MaxBackoff {
		d = c.cfg.MaxBackoff
	}
	// Half fixed, half random: gateways restarted together do not retry in step.
	c.rndMu.Lock()
	c.rnd ^= c.rnd << 13
	c.rnd ^= c.rnd >> 7
	c.rnd ^= c.rnd << 17
	r := c.rnd
	c.rndMu.Unlock()
	if half := d / 2; half > 0 {
		d = half + time.Duration(r%uint64(half+1))
	}
	if retryAfter > d {
		d = retryAfter
	}
	return d
}

// retryAfter reads Retry-After (seconds or an HTTP date); 0 when absent.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// retryable: worth sending the same request again (the server could not take it now).
func retryable(status int) bool {
	return status == 408 || status == 425 || status == 429 || status >= 500
}

// sleep waits d; false when Close stopped the client meanwhile.
func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.stop:
		return false
	}
}

func drain(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
	r.Close()
}

func snippet(b []byte) string {
	if len(b) > 300 {
		b = b[:300]
	}
	return string(b)
}

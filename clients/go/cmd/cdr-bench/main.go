// Command cdr-bench measures the client for bench/go_client.py (which starts the servers and
// prints the figures): how long a hook call takes (-mode latency) and how many events per
// second the client delivers (-mode replay, the wire events of a JSON-lines file fired as hook
// calls, then Flush). It prints one JSON object.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"runtime/pprof"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/LingByte/lingllm/protocol/sip/hooks"

	cdrclient "github.com/cdr-voice/cdr/clients/go"
)

func main() {
	mode := flag.String("mode", "latency", "latency (lifecycle hooks), pcm (AppendPCM, 20 ms chunks of 8 kHz PCM16) or replay")
	url := flag.String("url", "", "cdr server")
	key := flag.String("key", "", "gateway key id")
	secret := flag.String("secret", "", "gateway secret")
	dir := flag.String("dir", "", "client state directory")
	n := flag.Int("n", 100000, "latency: hook calls")
	goroutines := flag.Int("goroutines", 4, "latency: goroutines calling hooks")
	rate := flag.Int("rate", 20000, "latency: hook calls per second in all (0: as fast as possible)")
	events := flag.String("events", "", "replay: JSON-lines file of wire events")
	batch := flag.Int("batch", 1000, "events per request")
	connections := flag.Int("connections", 1, "requests in flight")
	queue := flag.Int("queue", 16384, "in-memory queue (replay: 0 sizes it to hold the whole file)")
	wait := flag.Duration("wait", 2*time.Minute, "replay: how long Flush may take")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile (go tool pprof) of the run to this file")
	logTo := flag.String("log", "", "write the client's log lines to this file (default: discarded)")
	flag.Parse()
	logger := log.New(io.Discard, "", 0)
	if *logTo != "" {
		lf, err := os.Create(*logTo)
		if err != nil {
			log.Fatal(err)
		}
		defer lf.Close()
		logger = log.New(lf, "", log.LstdFlags|log.Lmicroseconds)
	}
	if *cpuProfile != "" {
		pf, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	var calls []call
	if *mode == "replay" {
		calls = readEvents(*events)
		if *queue == 0 {
			// Exactly the file: a queue much larger is allocated, zeroed and scanned by every GC
			// for nothing (-queue=1000000 cost the run ~0.1 s of CPU on a 17,000-event file).
			*queue = len(calls)
		}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = *connections + 2
	posts := &timedTransport{next: t}
	c, err := cdrclient.New(cdrclient.Config{URL: *url, KeyID: *key, Secret: *secret, Dir: *dir,
		BatchEvents: *batch, Connections: *connections, QueueEvents: *queue, RequestTimeout: 5 * time.Second,
		Logger: logger, HTTPClient: &http.Client{Transport: posts}})
	if err != nil {
		log.Fatal(err)
	}
	out := map[string]any{}
	switch *mode {
	case "latency":
		latency(c, *n, *goroutines, *rate, false, out)
	case "pcm":
		latency(c, *n, *goroutines, *rate, true, out)
	case "replay":
		replay(c, calls, *wait, out)
		posts.report(*connections, out)
	default:
		log.Fatalf("-mode %q", *mode)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.Close(ctx)
	out["stats"] = c.Stats()
	out["cpu_seconds"] = cpuTime()
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

func pct(d []time.Duration, p float64) float64 {
	i := int(float64(len(d)) * p)
	if i >= len(d) {
		i = len(d) - 1
	}
	return float64(d[i].Nanoseconds()) / 1000
}

// latency: n hook calls (ringing, established, bye in turn; or with pcm, AppendPCM of 20 ms
// chunks on 50 recorded calls a goroutine, both channels in turn) from g goroutines, each timed.
func latency(c *cdrclient.Client, n, g, rate int, pcm bool, out map[string]any) {
	var life hooks.LifecycleSink = c
	var rec hooks.RecordingSink = c
	chunk := make([]byte, 320)
	per := n / g
	all := make([][]time.Duration, g)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < g; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			d := make([]time.Duration, 0, per)
			meta := hooks.CallMeta{Direction: hooks.DirectionInbound, TenantID: 7, Codec: "pcma",
				RemoteAddr: "198.51.100.7:5060", LocalIP: "10.0.0.2", StartedAt: time.Now()}
			hangup := hooks.HangupMeta{Initiator: hooks.HangupRemote, SIPCode: 200, Reason: "Normal Clearing", EndedAt: time.Now()}
			if pcm {
				for k := 0; k < 50; k++ {
					meta.CallID = fmt.Sprintf("pcm-%d-%d@gw", w, k)
					rec.BeginRecording(meta, 8000, "pcma")
				}
			}
			began := time.Now()
			for i := 0; i < per; i++ {
				if rate > 0 && i%10 == 0 { // bursts of 10 at the goroutine's share of the rate
					due := began.Add(time.Duration(i) * time.Second * time.Duration(g) / time.Duration(rate))
					if s := time.Until(due); s > 0 {
						time.Sleep(s)
					}
				}
				if pcm {
					callID := fmt.Sprintf("pcm-%d-%d@gw", w, (i/2)%50)
					t := time.Now()
					rec.AppendPCM(callID, hooks.RecordingChannel(i%2), chunk)
					d = append(d, time.Since(t))
					continue
				}
				meta.CallID = fmt.Sprintf("lat-%d-%d@gw", w, i/3)
				t := time.Now()
				switch i % 3 {
				case 0:
					life.OnRinging(meta)
				case 1:
					life.OnEstablished(meta)
				default:
					life.OnBye(meta, hangup, hooks.RecordingArtifact{})
				}
				d = append(d, time.Since(t))
			}
			all[w] = d
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	var d []time.Duration
	for _, x := range all {
		d = append(d, x...)
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	out["calls"] = len(d)
	out["seconds"] = elapsed.Seconds()
	out["p50_us"], out["p99_us"], out["p999_us"] = pct(d, 0.5), pct(d, 0.99), pct(d, 0.999)
	out["max_us"] = float64(d[len(d)-1].Nanoseconds()) / 1000
}

type wireCall struct {
	CallID        string  `json:"call_id"`
	CorrelationID string  `json:"correlation_id"`
	Direction     string  `json:"direction"`
	Scenario      string  `json:"scenario"`
	TenantID      float64 `json:"tenant_id"`
	RemoteAddr    string  `json:"remote_addr"`
	LocalIP       string  `json:"local_ip"`
	Codec         string  `json:"codec"`
	StartedAt     string  `json:"started_at"`
}

type wireEvent struct {
	Type   string    `json:"type"`
	Call   *wireCall `json:"call"`
	Hangup *struct {
		Initiator  string `json:"initiator"`
		SIPCode    int    `json:"sip_code"`
		Reason     string `json:"reason"`
		DurationMs int64  `json:"duration_ms"`
		EndedAt    string `json:"ended_at"`
	} `json:"hangup"`
	TargetURI      string `json:"target_uri"`
	InboundCallID  string `json:"inbound_call_id"`
	OutboundCallID string `json:"outbound_call_id"`
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// call is one hook call of the replay, on the sink it is given.
type call func(life hooks.LifecycleSink)

// readEvents turns the file's wire events into hook calls.
func readEvents(path string) []call {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var calls []call
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e wireEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			log.Fatal(err)
		}
		var meta hooks.CallMeta
		if e.Call != nil {
			meta = hooks.CallMeta{CallID: e.Call.CallID, CorrelationID: e.Call.CorrelationID,
				Direction: hooks.Direction(e.Call.Direction), Scenario: e.Call.Scenario, TenantID: uint(e.Call.TenantID),
				RemoteAddr: e.Call.RemoteAddr, LocalIP: e.Call.LocalIP, Codec: e.Call.Codec, StartedAt: parseTime(e.Call.StartedAt)}
		}
		var hangup hooks.HangupMeta
		if e.Hangup != nil {
			hangup = hooks.HangupMeta{Initiator: hooks.HangupInitiator(e.Hangup.Initiator), SIPCode: e.Hangup.SIPCode,
				Reason: e.Hangup.Reason, Duration: time.Duration(e.Hangup.DurationMs) * time.Millisecond, EndedAt: parseTime(e.Hangup.EndedAt)}
		}
		switch e.Type {
		case "ringing":
			calls = append(calls, func(life hooks.LifecycleSink) { life.OnRinging(meta) })
		case "established":
			calls = append(calls, func(life hooks.LifecycleSink) { life.OnEstablished(meta) })
		case "transfer_started":
			calls = append(calls, func(life hooks.LifecycleSink) { life.OnTransferStarted(meta, e.TargetURI) })
		case "bridge_started":
			calls = append(calls, func(life hooks.LifecycleSink) { life.OnBridgeStarted(e.InboundCallID, e.OutboundCallID) })
		case "bye":
			calls = append(calls, func(life hooks.LifecycleSink) { life.OnBye(meta, hangup, hooks.RecordingArtifact{}) })
		case "failed":
			calls = append(calls, func(life hooks.LifecycleSink) { life.OnFailed(meta, hangup) })
		}
	}
	return calls
}

// replay fires the hook calls, then waits for Flush.
func replay(c *cdrclient.Client, calls []call, wait time.Duration, out map[string]any) {
	var life hooks.LifecycleSink = c
	cpu0 := cpuTime()
	start := time.Now()
	out["start"] = start
	for _, call := range calls {
		call(life)
	}
	fired := time.Since(start)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := c.Flush(ctx)
	elapsed := time.Since(start)
	out["end"] = start.Add(elapsed)
	out["run_cpu_seconds"] = cpuTime() - cpu0
	out["events"] = len(calls)
	out["fired_seconds"] = fired.Seconds()
	out["seconds"] = elapsed.Seconds()
	out["flush_error"] = fmt.Sprint(err)
}

// timedTransport notes when each request was sent and answered: how busy the client kept its
// connections, a figure the server's speed (and a shared machine's load) does not change.
type timedTransport struct {
	next  http.RoundTripper
	mu    sync.Mutex
	spans [][2]time.Time
}

func (t *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	began := time.Now()
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		// The answer is read by the client after RoundTrip returns: the span ends at its EOF.
		resp.Body = &timedBody{ReadCloser: resp.Body, t: t, began: began}
	}
	return resp, err
}

type timedBody struct {
	io.ReadCloser
	t     *timedTransport
	began time.Time
	once  sync.Once
}

func (b *timedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.done()
	}
	return n, err
}

func (b *timedBody) Close() error {
	b.done()
	return b.ReadCloser.Close()
}

func (b *timedBody) done() {
	b.once.Do(func() {
		b.t.mu.Lock()
		b.t.spans = append(b.t.spans, [2]time.Time{b.began, time.Now()})
		b.t.mu.Unlock()
	})
}

// report: busy, the requests' time in flight over connections x (first sent .. last answered);
// first_post_ms, from the first hook call to the first request; tail_ms, from the last answer to
// Flush's return.
func (t *timedTransport) report(connections int, out map[string]any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.spans) == 0 {
		return
	}
	first, last := t.spans[0][0], t.spans[0][1]
	var inFlight time.Duration
	for _, s := range t.spans {
		if s[0].Before(first) {
			first = s[0]
		}
		if s[1].After(last) {
			last = s[1]
		}
		inFlight += s[1].Sub(s[0])
	}
	took := make([]time.Duration, 0, len(t.spans))
	for _, s := range t.spans {
		took = append(took, s[1].Sub(s[0]))
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	out["p50_ms"] = float64(took[len(took)/2].Microseconds()) / 1000
	out["p99_ms"] = float64(took[len(took)*99/100].Microseconds()) / 1000
	out["requests"] = len(t.spans)
	out["busy"] = inFlight.Seconds() / (float64(connections) * last.Sub(first).Seconds())
	out["first_post_ms"] = float64(first.Sub(out["start"].(time.Time)).Microseconds()) / 1000
	out["tail_ms"] = float64(out["end"].(time.Time).Sub(last).Microseconds()) / 1000
	delete(out, "start")
	delete(out, "end")
}

// cpuTime is the process's CPU time so far, in seconds.
func cpuTime() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

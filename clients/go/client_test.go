package cdrclient

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/LingByte/lingllm/protocol/sip/hooks"
)

const (
	testKey    = "gw-key"
	testSecret = "gw-secret"
)

// fakeServer checks signatures as the server does and records what it was sent. respond picks
// the answer to a batch (nil: every event accepted).
type fakeServer struct {
	*httptest.Server
	mu         sync.Mutex
	batches    [][]map[string]any
	times      []time.Time
	recordings map[string][]byte
	recHeaders []http.Header
	recBodies  [][]byte // in recHeaders' order, refused ones included
	respond    func(n int, events []map[string]any, w http.ResponseWriter) bool
	recRespond func(n int, w http.ResponseWriter) bool
	maxBody    int64
	problems   []string
}

func newFakeServer(t *testing.T) *fakeServer {
	s := &fakeServer{recordings: map[string][]byte{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

func (s *fakeServer) problem(format string, args ...any) {
	s.mu.Lock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *fakeServer) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if len(r.TransferEncoding) > 0 || r.ContentLength != int64(len(body)) {
		s.problem("%s: no Content-Length (%v, %d)", r.URL.Path, r.TransferEncoding, r.ContentLength)
	}
	sha := SHA256Hex(body)
	if why := checkV2(r, sha); why != "" {
		s.problem("%s: bad signature: %s", r.URL.Path, why)
		w.WriteHeader(401)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/ingest/v1/recordings/") {
		s.recHeaders = append(s.recHeaders, r.Header.Clone())
		s.recBodies = append(s.recBodies, body)
		if s.recRespond != nil && s.recRespond(len(s.recHeaders), w) {
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/ingest/v1/recordings/")
		s.recordings[id] = body
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"call_id":%q,"object_key":"rec/%s","bytes":%d,"sha256":%q}`, id, sha[:8], len(body), sha)
		return
	}
	if s.maxBody > 0 && int64(len(body)) > s.maxBody {
		s.problems = append(s.problems, fmt.Sprintf("body of %d bytes over %d", len(body), s.maxBody))
	}
	var events []map[string]any
	if err := json.Unmarshal(body, &events); err != nil {
		s.problems = append(s.problems, "bad JSON: "+err.Error())
	}
	s.batches = append(s.batches, events)
	s.times = append(s.times, time.Now())
	if s.respond != nil && s.respond(len(s.batches), events, w) {
		return
	}
	answerAll(w, events, nil)
}

// checkV2 checks a request's v2 signature as cdr/ingest/auth.py does: the listed headers are
// sorted lowercase names, sent, and include every header MustSign names; "" when it holds.
func checkV2(r *http.Request, sha string) string {
	given := r.Header.Get(HeaderSignature)
	if !strings.HasPrefix(given, V2) {
		return "not v2: " + given
	}
	listed := strings.Split(r.Header.Get(HeaderSignedHeaders), ";")
	if !sort.StringsAreSorted(listed) {
		return "signed headers not sorted"
	}
	var signed []SignedHeader
	seen := map[string]bool{}
	for _, name := range listed {
		if name != strings.ToLower(name) || r.Header.Values(name) == nil {
			return "listed but not sent, or not lowercase: " + name
		}
		seen[name] = true
		signed = append(signed, SignedHeader{name, strings.Join(r.Header.Values(name), ",")})
	}
	for name := range r.Header {
		if MustSign(name) && !seen[strings.ToLower(name)] {
			return "sent but not signed: " + name
		}
	}
	ts, _ := strconv.ParseInt(r.Header.Get(HeaderTimestamp), 10, 64)
	if r.Header.Get(HeaderKey) != testKey || r.Header.Get(HeaderSHA256) != sha ||
		given != V2+SignatureV2(testSecret, r.Method, r.URL.Path, ts, signed, sha) {
		return "does not match"
	}
	return ""
}

// answerAll answers every event "accepted" but those rejected names.
func answerAll(w http.ResponseWriter, events []map[string]any, rejected map[string]string) {
	var results []map[string]any
	counts := map[string]int{}
	for i, e := range events {
		id, _ := e["event_id"].(string)
		r := map[string]any{"index": i, "event_id": id, "status": "accepted"}
		if reason, ok := rejected[id]; ok {
			r["status"], r["code"], r["reason"] = "rejected", 400, reason
		}
		counts[r["status"].(string)]++
		results = append(results, r)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"batch_id": "b", "accepted": counts["accepted"], "duplicate": counts["duplicate"],
		"rejected": counts["rejected"], "results": results,
	})
}

func (s *fakeServer) events() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []map[string]any
	for _, b := range s.batches {
		all = append(all, b...)
	}
	return all
}

func (s *fakeServer) check(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) > 0 {
		t.Fatalf("server saw: %v", s.problems)
	}
}

func testConfig(t *testing.T, url string) Config {
	return Config{
		URL: url, KeyID: testKey, Secret: testSecret, Dir: t.TempDir(),
		FlushInterval: 5 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		RequestTimeout: 5 * time.Second, EventIDPrefix: "t",
		Logger: log.New(io.Discard, "", 0),
	}
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

func flush(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("%v; stats %+v", err, c.Stats())
	}
}

var (
	t0      = time.Date(2026, 3, 29, 10, 0, 0, 123456789, time.UTC)
	inbound = hooks.CallMeta{
		CallID: "a@gw", Direction: hooks.DirectionInbound, TenantID: 7, RemoteAddr: "198.51.100.7:5060",
		LocalIP: "10.0.0.2", Codec: "pcma", StartedAt: t0,
	}
	agent = hooks.CallMeta{
		CallID: "b@gw", CorrelationID: "a@gw", Direction: hooks.DirectionOutbound, Scenario: "transfer_agent",
		Codec: "pcmu", StartedAt: t0.In(time.FixedZone("CEST", 2*3600)).Add(time.Second),
	}
)

func callJSON(m hooks.CallMeta, started string) map[string]any {
	return map[string]any{
		"call_id": m.CallID, "correlation_id": m.CorrelationID, "direction": string(m.Direction),
		"scenario": m.Scenario, "tenant_id": float64(m.TenantID), "remote_addr": m.RemoteAddr,
		"local_ip": m.LocalIP, "codec": m.Codec, "started_at": started,
	}
}

func TestEveryHookOnTheWire(t *testing.T) {
	srv := newFakeServer(t)
	c := newClient(t, testConfig(t, srv.URL))
	blob := []byte("SN3\x01frames")
	c.OnRinging(inbound)
	c.OnEstablished(inbound)
	c.OnTransferStarted(inbound, "sip:agent@pbx")
	c.OnBridgeStarted("a@gw", "b@gw")
	c.OnBye(agent, hooks.HangupMeta{Initiator: hooks.HangupRemote, SIPCode: 200, Reason: "Normal Clearing",
		Duration: 61500 * time.Millisecond, EndedAt: t0.Add(time.Minute)},
		hooks.RecordingArtifact{CallID: "b@gw", Format: hooks.FormatSN3, Payload: blob, Codec: "pcmu", SampleRate: 8000, Channels: 1})
	c.OnFailed(hooks.CallMeta{CallID: "c@gw", Direction: hooks.DirectionInbound, TenantID: 1<<64 - 2},
		hooks.HangupMeta{Initiator: hooks.HangupUnknown, Reason: "non_200"})
	flush(t, c)
	srv.check(t)
	got := srv.events()
	if len(got) != 6 {
		t.Fatalf("%d events", len(got))
	}
	in := callJSON(inbound, "2026-03-29T10:00:00.123456Z")
	ag := callJSON(agent, "2026-03-29T10:00:01.123456Z") // CEST written as UTC
	sum := SHA256Hex(blob)
	want := []map[string]any{
		{"type": "ringing", "call": in},
		{"type": "established", "call": in},
		{"type": "transfer_started", "call": in, "target_uri": "sip:agent@pbx"},
		{"type": "bridge_started", "inbound_call_id": "a@gw", "outbound_call_id": "b@gw"},
		{"type": "bye", "call": ag,
			"hangup":    map[string]any{"initiator": "remote", "sip_code": 200.0, "reason": "Normal Clearing", "duration_ms": 61500.0, "ended_at": "2026-03-29T10:01:00.123456Z"},
			"recording": map[string]any{"format": "sn3", "codec": "pcmu", "sample_rate": 8000.0, "channels": 1.0, "bytes": float64(len(blob)), "sha256": sum}},
		{"type": "failed", "call": callJSON(hooks.CallMeta{CallID: "c@gw", Direction: hooks.DirectionInbound, TenantID: 1<<64 - 2}, zeroTime),
			"hangup": map[string]any{"initiator": "unknown", "sip_code": 0.0, "reason": "non_200", "duration_ms": 0.0, "ended_at": nil}},
	}
	var last time.Time
	for i, e := range got {
		if !regexp.MustCompile(`^t-[0-9a-f]{12}-` + strconv.Itoa(i+1) + `$`).MatchString(e["event_id"].(string)) {
			t.Errorf("event %d: id %v", i, e["event_id"])
		}
		at, err := time.Parse(time.RFC3339Nano, e["observed_at"].(string))
		if err != nil || !at.After(last) || len(e["observed_at"].(string)) != len("2026-03-29T10:00:00.000000Z") {
			t.Errorf("event %d: observed_at %v after %v", i, e["observed_at"], last)
		}
		last = at
		delete(e, "event_id")
		delete(e, "observed_at")
		if !reflect.DeepEqual(e, want[i]) {
			t.Errorf("event %d:\n got %v\nwant %v", i, e, want[i])
		}
	}
}

func TestTenantIDIsExact(t *testing.T) {
	it := item{kind: kindRinging, meta: hooks.CallMeta{CallID: "x", TenantID: 1<<64 - 2}, at: t0.UnixNano()}
	if e := encodeItem(&it, "id", timeLayout(6)); !bytes.Contains(e, []byte(`"tenant_id":18446744073709551614`)) {
		t.Fatal(string(e))
	}
}

func TestTimeDigits(t *testing.T) {
	for digits, want := range map[int]string{0: "2026-03-29T10:00:00Z", 6: "2026-03-29T10:00:00.123456Z", 9: "2026-03-29T10:00:00.123456789Z"} {
		if got := wireTime(t0, timeLayout(digits)); got != want {
			t.Errorf("%d digits: %s", digits, got)
		}
	}
	if got := wireTime(time.Time{}, timeLayout(6)); got != "0001-01-01T00:00:00Z" {
		t.Error(got)
	}
}

// The vectors were computed with cdr.ingest.signing; tests/unit/clients checks them there.
func TestSignatureMatchesThePythonSigner(t *testing.T) {
	data, err := os.ReadFile("testdata/signing-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []struct {
		Secret, Method, Path string
		Timestamp            int64
		BodyHex              string            `json:"body_hex"`
		BodySHA256           string            `json:"body_sha256"`
		Headers              map[string]string `json:"headers"`
		SignedHeaders        string            `json:"signed_headers"`
		Signature            string            `json:"signature"`
		SignatureV1          string            `json:"signature_v1"`
	}
	if err := json.Unmarshal(data, &vectors); err != nil || len(vectors) < 3 {
		t.Fatal(err, len(vectors))
	}
	for _, v := range vectors {
		body, _ := hex.DecodeString(v.BodyHex)
		if SHA256Hex(body) != v.BodySHA256 {
			t.Errorf("sha256 of %q", body)
		}
		if got := Signature(v.Secret, v.Method, v.Path, v.Timestamp, strings.ToUpper(v.BodySHA256)); got != v.SignatureV1 {
			t.Errorf("v1 %s %s: %s, want %s", v.Method, v.Path, got, v.SignatureV1)
		}
		req, _ := http.NewRequest(v.Method, "http://gw.example/x", bytes.NewReader(body))
		for name, value := range v.Headers {
			req.Header.Set(name, value)
		}
		SignRequest(req, "k", v.Secret, v.Path, v.Timestamp, strings.ToUpper(v.BodySHA256))
		if got := req.Header.Get(HeaderSignedHeaders); got != v.SignedHeaders {
			t.Errorf("%s %s: signed headers %q, want %q", v.Method, v.Path, got, v.SignedHeaders)
		}
		if got := req.Header.Get(HeaderSignature); got != v.Signature {
			t.Errorf("v2 %s %s: %s, want %s", v.Method, v.Path, got, v.Signature)
		}
		if req.Header.Get(HeaderSHA256) != v.BodySHA256 || req.Header.Get(HeaderKey) != "k" {
			t.Errorf("%s %s: %v", v.Method, v.Path, req.Header)
		}
	}
}

func TestBatchesStayUnderTheCountAndBodyLimits(t *testing.T) {
	srv := newFakeServer(t)
	srv.maxBody = 8192
	cfg := testConfig(t, srv.URL)
	cfg.MaxBodyBytes, cfg.BatchEvents, cfg.FlushInterval = 8192, 30, time.Second
	c := newClient(t, cfg)
	for i := 0; i < 500; i++ {
		m := inbound
		m.CallID = fmt.Sprintf("call-%d@gw", i)
		c.OnRinging(m)
	}
	flush(t, c)
	srv.check(t)
	ids := map[string]bool{}
	for _, e := range srv.events() {
		ids[e["event_id"].(string)] = true
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, b := range srv.batches {
		if len(b) > 30 {
			t.Errorf("batch of %d events", len(b))
		}
	}
	if len(ids) != 500 || len(srv.batches) < 500/30 {
		t.Fatalf("%d unique ids in %d batches", len(ids), len(srv.batches))
	}
}

func TestRetriesHonourRetryAfter(t *testing.T) {
	srv := newFakeServer(t)
	srv.respond = func(n int, _ []map[string]any, w http.ResponseWriter) bool {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
			return true
		case 2:
			w.WriteHeader(502) // no Retry-After: backoff only
			return true
		}
		return false
	}
	c := newClient(t, testConfig(t, srv.URL))
	c.OnRinging(inbound)
	flush(t, c)
	srv.check(t)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.batches) != 3 || c.Stats().Retries != 2 || c.Stats().Accepted != 1 {
		t.Fatalf("%d posts, %+v", len(srv.batches), c.Stats())
	}
	if gap := srv.times[1].Sub(srv.times[0]); gap < time.Second {
		t.Errorf("Retry-After: 1 ignored: retried after %v", gap)
	}
	if gap := srv.times[2].Sub(srv.times[1]); gap > 500*time.Millisecond {
		t.Errorf("backoff after a 502: %v", gap)
	}
	if !reflect.DeepEqual(srv.batches[0], srv.batches[2]) {
		t.Error("a retry changed the batch")
	}
}

func TestBackoffGrowsWithJitterUpToTheCap(t *testing.T) {
	c := &Client{cfg: Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}, rnd: 42}
	seen := map[time.Duration]bool{}
	for n := 1; n < 12; n++ {
		d := c.backoff(n, 0)
		base := 100 * time.Millisecond << (n - 1)
		if base > time.Second {
			base = time.Second
		}
		if d < base/2 || d > base {
			t.Errorf("attempt %d: %v not in [%v, %v]", n, d, base/2, base)
		}
		seen[d] = true
	}
	if len(seen) < 8 {
		t.Error("no jitter")
	}
	if d := c.backoff(1, 5*time.Second); d != 5*time.Second {
		t.Errorf("Retry-After 5s: %v", d)
	}
	h := http.Header{}
	h.Set("Retry-After", time.Now().Add(3*time.Second).UTC().Format(http.TimeFormat))
	if d := retryAfter(h); d < time.Second || d > 3*time.Second {
		t.Errorf("Retry-After date: %v", d)
	}
}

func TestRejectedEventsAreCountedAndNotSentAgain(t *testing.T) {
	srv := newFakeServer(t)
	srv.respond = func(_ int, events []map[string]any, w http.ResponseWriter) bool {
		rejected := map[string]string{}
		for _, e := range events {
			if e["type"] == "established" {
				rejected[e["event_id"].(string)] = "observed_at: not an RFC 3339 timestamp"
			}
		}
		answerAll(w, events, rejected)
		return true
	}
	var logged bytes.Buffer
	cfg := testConfig(t, srv.URL)
	cfg.Logger = log.New(&logged, "", 0)
	c := newClient(t, cfg)
	c.OnRinging(inbound)
	c.OnEstablished(inbound)
	c.OnBye(inbound, hooks.HangupMeta{}, hooks.RecordingArtifact{})
	flush(t, c)
	time.Sleep(100 * time.Millisecond)
	st := c.Stats()
	if st.Posted != 3 || st.Accepted != 2 || st.Rejected != 1 || st.Retries != 0 || len(srv.events()) != 3 {
		t.Fatalf("%+v, %d events posted", st, len(srv.events()))
	}
	second := srv.events()[1]["event_id"].(string)
	if !strings.Contains(logged.String(), second+" rejected (400): observed_at") || !strings.Contains(st.LastError, second) {
		t.Errorf("log %q, last error %q", logged.String(), st.LastError)
	}
}

func TestARefusedBatchIsSetAsideNotRetried(t *testing.T) {
	srv := newFakeServer(t)
	srv.respond = func(n int, events []map[string]any, w http.ResponseWriter) bool {
		if n == 1 {
			w.WriteHeader(413)
			_, _ = w.Write([]byte(`{"body":"larger than 4194304 bytes"}`))
			return true
		}
		return false
	}
	cfg := testConfig(t, srv.URL)
	c := newClient(t, cfg)
	c.OnRinging(inbound)
	flush(t, c)
	c.OnEstablished(inbound)
	flush(t, c)
	st := c.Stats()
	if st.Refused != 1 || st.Accepted != 1 || st.Retries != 0 || !strings.Contains(st.LastError, "413") {
		t.Fatalf("%+v", st)
	}
	aside, _ := filepath.Glob(filepath.Join(cfg.Dir, "outbox", "refused", "*.json"))
	if len(aside) != 1 {
		t.Fatalf("set aside: %v", aside)
	}
}

// A hook returns at once whatever the server does: down here, with a full queue.
func TestHooksNeverBlockNorPanic(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every post fails
	cfg := testConfig(t, "http://"+addr)
	cfg.QueueEvents = 64
	c := newClient(t, cfg)
	start := time.Now()
	for i := 0; i < 100000; i++ {
		c.OnRinging(inbound)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("100,000 hook calls took %v", el)
	}
	if c.Stats().Dropped == 0 {
		t.Error("a full queue should drop and count")
	}
	var nilClient *Client
	nilClient.OnRinging(inbound) // no panic
	nilClient.BeginRecording(inbound, 8000, "pcma")
	nilClient.AppendPCM("a@gw", hooks.ChannelCaller, []byte{1, 2})
	if _, err := nilClient.FinishRecording(context.Background(), hooks.RecordingArtifact{}); err == nil {
		t.Error("nil client")
	}
	var r hooks.Registry = c.Registry()
	r.Lifecycle.OnRinging(inbound)
	if !r.Recording.BeginRecording(inbound, 8000, "pcma") {
		t.Error("BeginRecording")
	}
	r.Recording.AppendPCM("a@gw", hooks.ChannelAgent, []byte{1, 2})
}

func TestConfigIsCheckedInOnePlace(t *testing.T) {
	ok := Config{URL: "http://127.0.0.1:1", KeyID: "k", Secret: "s", Dir: t.TempDir()}
	for name, mutate := range map[string]func(*Config){
		"url":      func(c *Config) { c.URL = "ftp://x" },
		"secret":   func(c *Config) { c.Secret = "" },
		"dir":      func(c *Config) { c.Dir = "" },
		"batch":    func(c *Config) { c.BatchEvents = 1001 },
		"digits":   func(c *Config) { c.TimeDigits = -1 },
		"prefix":   func(c *Config) { c.EventIDPrefix = "has space" },
		"backoffs": func(c *Config) { c.MinBackoff, c.MaxBackoff = time.Second, time.Millisecond },
	} {
		cfg := ok
		mutate(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRecordingUploadedWithContentLengthAndRetried(t *testing.T) {
	srv := newFakeServer(t)
	srv.recRespond = func(n int, w http.ResponseWriter) bool {
		if n == 1 {
			w.WriteHeader(503)
			return true
		}
		return false
	}
	c := newClient(t, testConfig(t, srv.URL))
	blob := bytes.Repeat([]byte("SN3 frame "), 50000)
	id := "odd call/id %41 @gw#?"
	meta := inbound
	meta.CallID, meta.TenantID = id, 1<<64-2
	c.BeginRecording(meta, 8000, "pcmu")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.FinishRecording(ctx, hooks.RecordingArtifact{CallID: id, Format: hooks.FormatSN3, Payload: blob, Codec: "pcmu", SampleRate: 8000, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv.check(t)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !bytes.Equal(srv.recordings[id], blob) || res.Bytes != int64(len(blob)) || res.ObjectKey == "" {
		t.Fatalf("stored %v, result %+v", srv.recordings, res)
	}
	h := srv.recHeaders[1]
	if h.Get("X-CDR-Tenant-Id") != "18446744073709551614" || h.Get("X-CDR-Format") != "sn3" || h.Get("X-CDR-Codec") != "pcmu" ||
		h.Get("X-CDR-Sample-Rate") != "8000" || h.Get("X-CDR-Channels") != "1" {
		t.Errorf("headers %v", h)
	}
	if st := c.Stats(); st.RecordingsUploaded != 1 || st.RecordingRetries != 1 || st.RecordingsPending != 0 {
		t.Errorf("%+v", st)
	}
	if res, err := c.FinishRecording(ctx, hooks.RecordingArtifact{CallID: "empty"}); err != nil || res != (hooks.RecordingResult{}) {
		t.Error("an empty artifact is nothing to upload")
	}
}

func TestFinishRecordingAnswersWithinItsContextAndUploadsLater(t *testing.T) {
	srv := newFakeServer(t)
	var down sync.Mutex
	down.Lock()
	up := false
	srv.recRespond = func(n int, w http.ResponseWriter) bool {
		if !up {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(503)
			return true
		}
		return false
	}
	cfg := testConfig(t, srv.URL)
	c := newClient(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.FinishRecording(ctx, hooks.RecordingArtifact{CallID: "late@gw", Payload: []byte("SN3...")})
	if err == nil || !strings.Contains(err.Error(), "background") || time.Since(start) > time.Second {
		t.Fatalf("%v after %v", err, time.Since(start))
	}
	srv.mu.Lock()
	up = true
	srv.mu.Unlock()
	flush(t, c)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if string(srv.recordings["late@gw"]) != "SN3..." {
		t.Fatal("not uploaded in the background")
	}
}

// The outbox survives a killed process: a child writes events it cannot deliver, is killed
// with SIGKILL, and a new client on its directory delivers them all, in order, ids unchanged.
func TestOutboxSurvivesAKilledProcess(t *testing.T) {
	if os.Getenv("CDRCLIENT_CHILD_DIR") != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=TestOutboxChild", "-test.v")
	cmd.Env = append(os.Environ(), "CDRCLIENT_CHILD_DIR="+dir, "CDRCLIENT_CHILD_URL=http://"+addr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	var seen strings.Builder
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(seen.String(), "DURABLE") && time.Now().Before(deadline) {
		n, err := out.Read(buf)
		seen.Write(buf[:n])
		if err != nil {
			break
		}
	}
	_ = cmd.Process.Kill() // SIGKILL: no Close, no deferred code
	_ = cmd.Wait()
	if !strings.Contains(seen.String(), "DURABLE") {
		t.Fatalf("child: %s", seen.String())
	}
	left, _ := os.ReadDir(filepath.Join(dir, "outbox"))
	for _, e := range left {
		t.Log(e.Name())
	}

	srv := newFakeServer(t)
	cfg := testConfig(t, srv.URL)
	cfg.Dir = dir
	c := newClient(t, cfg)
	flush(t, c)
	srv.check(t)
	got := srv.events()
	if len(got) != 2500 {
		t.Fatalf("%d of 2500 events after the kill", len(got))
	}
	for i, e := range got {
		if !regexp.MustCompile(`^child-[0-9a-f]{12}-`+strconv.Itoa(i+1)+`$`).MatchString(e["event_id"].(string)) || e["call"].(map[string]any)["call_id"] != fmt.Sprintf("k%d@gw", i) {
			t.Fatalf("event %d: %v", i, e)
		}
	}
	if c.Stats().OutboxBatches != 0 {
		t.Error("outbox not emptied")
	}
}

func TestOutboxChild(t *testing.T) {
	dir := os.Getenv("CDRCLIENT_CHILD_DIR")
	if dir == "" {
		t.Skip("run by TestOutboxSurvivesAKilledProcess")
	}
	c, err := New(Config{URL: os.Getenv("CDRCLIENT_CHILD_URL"), KeyID: testKey, Secret: testSecret, Dir: dir,
		EventIDPrefix: "child", BatchEvents: 300, MinBackoff: time.Hour, MaxBackoff: time.Hour,
		Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2500; i++ {
		m := inbound
		m.CallID = fmt.Sprintf("k%d@gw", i)
		c.OnRinging(m)
	}
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("DURABLE")
	time.Sleep(time.Minute) // killed here
}

// A file of several requests, partly answered when the client stops, is sent whole by the next
// client on the same Dir: every event arrives, the answered part again (the server says duplicate).
func TestAPartlyAnsweredOutboxFileIsSentWholeAfterARestart(t *testing.T) {
	srv := newFakeServer(t)
	srv.respond = func(n int, _ []map[string]any, w http.ResponseWriter) bool {
		if n == 1 {
			// The first request, written alone while the sender was idle, is answered once the
			// others are on disk: requests 2 to 4 share a file.
			time.Sleep(200 * time.Millisecond)
		}
		if n > 2 {
			w.WriteHeader(503)
			return true
		}
		return false
	}
	cfg := testConfig(t, srv.URL)
	cfg.BatchEvents, cfg.FlushInterval, cfg.MinBackoff, cfg.MaxBackoff = 10, time.Hour, time.Hour, time.Hour
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		m := inbound
		m.CallID = fmt.Sprintf("p%d@gw", i)
		c.OnRinging(m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := c.Close(ctx); err == nil {
		t.Fatal("closed with 3 of 5 requests unanswered")
	}
	files, _ := filepath.Glob(filepath.Join(cfg.Dir, "outbox", "*.json"))
	if len(files) == 0 || c.Stats().OutboxBatches != 3 { // one file, or two if a poll fell mid-loop
		t.Fatalf("files %v, %+v", files, c.Stats())
	}
	again := newFakeServer(t)
	cfg.URL = again.URL
	cfg.FlushInterval, cfg.MinBackoff, cfg.MaxBackoff = 5*time.Millisecond, 10*time.Millisecond, 50*time.Millisecond
	flush(t, newClient(t, cfg))
	got := again.events()
	// Request 1 was answered alone; 2 (answered) is sent again with 3 and 4, its file's others.
	if len(got) != 40 || got[0]["call"].(map[string]any)["call_id"] != "p10@gw" || got[39]["call"].(map[string]any)["call_id"] != "p49@gw" {
		t.Fatalf("%d events after the restart", len(got))
	}
	if files, _ := filepath.Glob(filepath.Join(cfg.Dir, "outbox", "*.json")); len(files) != 0 {
		t.Fatalf("left %v", files)
	}
}

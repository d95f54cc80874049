package cdrclient

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/LingByte/lingllm/protocol/sip/hooks"
)

// The wire structs marshalled by encoding/json: the reference appendItem is checked against.
type wireEvent struct {
	Type           string         `json:"type"`
	EventID        string         `json:"event_id"`
	ObservedAt     string         `json:"observed_at"`
	Call           *wireCall      `json:"call,omitempty"`
	Hangup         *wireHangup    `json:"hangup,omitempty"`
	Recording      *wireRecording `json:"recording,omitempty"`
	TargetURI      *string        `json:"target_uri,omitempty"`
	InboundCallID  *string        `json:"inbound_call_id,omitempty"`
	OutboundCallID *string        `json:"outbound_call_id,omitempty"`
}

type wireCall struct {
	CallID        string `json:"call_id"`
	CorrelationID string `json:"correlation_id"`
	Direction     string `json:"direction"`
	Scenario      string `json:"scenario"`
	TenantID      uint64 `json:"tenant_id"`
	RemoteAddr    string `json:"remote_addr"`
	LocalIP       string `json:"local_ip"`
	Codec         string `json:"codec"`
	StartedAt     string `json:"started_at"`
	// Not in hooks.CallMeta: what SetLabels attached to the call before the hook fired.
	Labels map[string]string `json:"labels,omitempty"`
}

type wireHangup struct {
	Initiator  string  `json:"initiator"`
	SIPCode    int     `json:"sip_code"`
	Reason     string  `json:"reason"`
	DurationMs int64   `json:"duration_ms"`
	EndedAt    *string `json:"ended_at"` // null: not known (Go's zero time)
}

// A summary only: the blob itself goes to the recordings endpoint (FinishRecording).
type wireRecording struct {
	Format     string `json:"format"`
	Codec      string `json:"codec"`
	SampleRate int    `json:"sample_rate"`
	Channels   int    `json:"channels"`
	Bytes      int    `json:"bytes"`
	SHA256     string `json:"sha256"`
}

func refEncode(it *item, eventID, layout string) []byte {
	wt := func(t time.Time) string { return wireTime(t, layout) }
	call := func() *wireCall {
		m := &it.meta
		return &wireCall{Labels: it.labels, CallID: m.CallID, CorrelationID: m.CorrelationID,
			Direction: string(m.Direction), Scenario: m.Scenario, TenantID: uint64(m.TenantID),
			RemoteAddr: m.RemoteAddr, LocalIP: m.LocalIP, Codec: m.Codec, StartedAt: wt(m.StartedAt)}
	}
	hangup := func() *wireHangup {
		h := &it.hangup
		w := &wireHangup{Initiator: string(h.Initiator), SIPCode: h.SIPCode, Reason: h.Reason, DurationMs: h.Duration.Milliseconds()}
		if !h.EndedAt.IsZero() {
			s := wt(h.EndedAt)
			w.EndedAt = &s
		}
		return w
	}
	e := wireEvent{Type: kindNames[it.kind], EventID: eventID, ObservedAt: wt(time.Unix(0, it.at))}
	switch it.kind {
	case kindRinging, kindEstablished:
		e.Call = call()
	case kindTransferStarted:
		e.Call, e.TargetURI = call(), &it.s1
	case kindBridgeStarted:
		e.InboundCallID, e.OutboundCallID = &it.s1, &it.s2
	case kindBye:
		e.Call, e.Hangup = call(), hangup()
		if r := &it.rec; len(r.Payload) > 0 {
			sum := sha256.Sum256(r.Payload)
			e.Recording = &wireRecording{Format: string(r.Format), Codec: r.Codec, SampleRate: r.SampleRate,
				Channels: r.Channels, Bytes: len(r.Payload), SHA256: hex.EncodeToString(sum[:])}
		}
	case kindFailed:
		e.Call, e.Hangup = call(), hangup()
	}
	b, err := json.Marshal(&e)
	if err != nil {
		panic(err)
	}
	return b
}

func wireItems() []item {
	at := time.Date(2026, 12, 3, 19, 0, 0, 123456789, time.UTC).UnixNano()
	odd := "a\"b\\c\n\r\t\x00\x1f<>&\u2028\u2029é😀\xff\xfe end"
	meta := hooks.CallMeta{CallID: "c-1@gw " + odd, CorrelationID: "corr", Direction: hooks.DirectionInbound,
		Scenario: odd, TenantID: ^uint(0) - 1, RemoteAddr: "198.51.100.7:5060", LocalIP: "10.0.0.2", Codec: "pcmu",
		StartedAt: time.Date(2026, 12, 3, 18, 59, 0, 987654321, time.FixedZone("x", 3600))}
	hangup := hooks.HangupMeta{Initiator: hooks.HangupRemote, SIPCode: 486, Reason: odd, Duration: 1500 * time.Millisecond,
		EndedAt: time.Date(2026, 12, 3, 19, 0, 0, 1, time.UTC)}
	labels := map[string]string{"to": "+33184000007", "from": "+33612345678", "z": odd, "did": ""}
	return []item{
		{kind: kindRinging, at: at, meta: meta},
		{kind: kindRinging, at: at, meta: hooks.CallMeta{}},
		{kind: kindEstablished, at: at, meta: meta, labels: labels},
		{kind: kindTransferStarted, at: at, meta: meta, s1: "sip:agent@pbx;" + odd},
		{kind: kindBridgeStarted, at: at, s1: "in@gw", s2: odd},
		{kind: kindBye, at: at, meta: meta, hangup: hangup, labels: labels},
		{kind: kindBye, at: at, meta: meta, hangup: hooks.HangupMeta{}, rec: hooks.RecordingArtifact{
			Format: hooks.FormatSN3, Payload: []byte("SN3 blob"), Codec: "pcma", SampleRate: 8000, Channels: 1}},
		{kind: kindFailed, at: at, meta: meta, hangup: hangup},
	}
}

// appendItem writes, byte for byte, what encoding/json writes for the wire structs.
func TestAppendItemIsEncodingJSON(t *testing.T) {
	for _, digits := range []int{1, 6, 9} {
		layout := timeLayout(digits)
		for i, it := range wireItems() {
			it := it
			want := refEncode(&it, "run-1", layout)
			got := appendItem([]byte("prefix,"), &it, "run-1", layout)
			if !bytes.Equal(got[len("prefix,"):], want) {
				t.Errorf("item %d (%s), %d digits:\n got %s\nwant %s", i, kindNames[it.kind], digits, got, want)
			}
		}
	}
	// Every byte value in a string, one at a time.
	for c := 0; c < 256; c++ {
		it := item{kind: kindBridgeStarted, s1: "x" + string([]byte{byte(c)}) + "y", s2: strings.Repeat(string(rune(c)), 2)}
		if got, want := encodeItem(&it, "id", timeLayout(6)), refEncode(&it, "id", timeLayout(6)); !bytes.Equal(got, want) {
			t.Errorf("byte %#x:\n got %s\nwant %s", c, got, want)
		}
	}
}

func BenchmarkEncodeEvent(b *testing.B) {
	items := wireItems()
	it := items[5]
	layout := timeLayout(6)
	b.Run("appendItem", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for i := 0; i < b.N; i++ {
			buf = appendItem(buf[:0], &it, "0123456789ab-12345", layout)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_ = refEncode(&it, "0123456789ab-12345", layout)
		}
	})
}

// countEvents (a batch reloaded from the outbox) counts what encoding/json decodes.
func TestCountEvents(t *testing.T) {
	var evs [][]byte
	for _, it := range wireItems() {
		it := it
		evs = append(evs, encodeItem(&it, `id"[{,`, timeLayout(9)))
	}
	for n := 0; n <= len(evs); n++ {
		body := append([]byte("["), bytes.Join(evs[:n], []byte(","))...)
		body = append(body, ']')
		var raw []json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		if got := countEvents(body); got != n || len(raw) != n {
			t.Errorf("%d events: countEvents %d, encoding/json %d", n, got, len(raw))
		}
	}
}

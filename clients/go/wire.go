package cdrclient

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/LingByte/lingllm/protocol/sip/hooks"
)

// One hook call as the ingestion API takes it (cdr/schemas/lifecycle-event.schema.json), field
// for field what cdr.lifecycle.encode.encode_hook_call gives for the Python sink.
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

const (
	kindRinging uint8 = iota + 1
	kindEstablished
	kindTransferStarted
	kindBridgeStarted
	kindBye
	kindFailed
)

var kindNames = [...]string{"", "ringing", "established", "transfer_started", "bridge_started", "bye", "failed"}

// item is a hook call as the hook leaves it: a copy of its arguments and when it fired. The
// encoding (and the SHA-256 of a bye's recording) happens on the client's goroutine.
type item struct {
	kind   uint8
	at     int64 // unix ns
	meta   hooks.CallMeta
	hangup hooks.HangupMeta
	rec    hooks.RecordingArtifact
	s1, s2 string
	labels map[string]string // SetLabels' labels of meta.CallID when the hook fired (read-only)
}

// zeroTime is how Go writes time.Time{}: the server reads it as "not known" (issue 14).
const zeroTime = "0001-01-01T00:00:00Z"

func timeLayout(digits int) string {
	if digits <= 0 {
		return "2006-01-02T15:04:05Z07:00"
	}
	return "2006-01-02T15:04:05." + strings.Repeat("0", digits) + "Z07:00"
}

// wireTime writes t in UTC with exactly `digits` fractional digits, truncated (the store keeps
// microseconds, so 6 loses nothing it would keep).
func wireTime(t time.Time, layout string) string {
	if t.IsZero() {
		return zeroTime
	}
	return t.UTC().Format(layout)
}

func encodeCall(m *hooks.CallMeta, labels map[string]string, layout string) *wireCall {
	return &wireCall{
		Labels:        labels,
		CallID:        m.CallID,
		CorrelationID: m.CorrelationID,
		Direction:     string(m.Direction),
		Scenario:      m.Scenario,
		TenantID:      uint64(m.TenantID),
		RemoteAddr:    m.RemoteAddr,
		LocalIP:       m.LocalIP,
		Codec:         m.Codec,
		StartedAt:     wireTime(m.StartedAt, layout),
	}
}

func encodeHangup(h *hooks.HangupMeta, layout string) *wireHangup {
	w := &wireHangup{
		Initiator:  string(h.Initiator),
		SIPCode:    h.SIPCode,
		Reason:     h.Reason,
		DurationMs: h.Duration.Milliseconds(),
	}
	if !h.EndedAt.IsZero() {
		s := wireTime(h.EndedAt, layout)
		w.EndedAt = &s
	}
	return w
}

func encodeRecording(r *hooks.RecordingArtifact) *wireRecording {
	if len(r.Payload) == 0 {
		return nil
	}
	sum := sha256.Sum256(r.Payload)
	return &wireRecording{
		Format:     string(r.Format),
		Codec:      r.Codec,
		SampleRate: r.SampleRate,
		Channels:   r.Channels,
		Bytes:      len(r.Payload),
		SHA256:     hex.EncodeToString(sum[:]),
	}
}

// encodeItem gives the JSON of one event (never fails: every value is a string or a number).
func encodeItem(it *item, eventID, layout string) []byte {
	e := wireEvent{
		Type:       kindNames[it.kind],
		EventID:    eventID,
		ObservedAt: wireTime(time.Unix(0, it.at), layout),
	}
	switch it.kind {
	case kindRinging, kindEstablished:
		e.Call = encodeCall(&it.meta, it.labels, layout)
	case kindTransferStarted:
		e.Call = encodeCall(&it.meta, it.labels, layout)
		e.TargetURI = &it.s1
	case kindBridgeStarted:
		e.InboundCallID, e.OutboundCallID = &it.s1, &it.s2
	case kindBye:
		e.Call = encodeCall(&it.meta, it.labels, layout)
		e.Hangup = encodeHangup(&it.hangup, layout)
		e.Recording = encodeRecording(&it.rec)
	case kindFailed:
		e.Call = encodeCall(&it.meta, it.labels, layout)
		e.Hangup = encodeHangup(&it.hangup, layout)
	}
	b, err := json.Marshal(&e)
	if err != nil { // unreachable: kept so a future field cannot panic the client
		b, _ = json.Marshal(map[string]string{"type": e.Type, "event_id": eventID, "observed_at": e.ObservedAt})
	}
	return b
}

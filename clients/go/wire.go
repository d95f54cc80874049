package cdrclient

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/LingByte/lingllm/protocol/sip/hooks"
)

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

// appendItem appends the JSON of one event (cdr/schemas/lifecycle-event.schema.json), field for
// field what cdr.lifecycle.encode.encode_hook_call gives for the Python sink. Written by hand, not
// with encoding/json: the pump encodes every event, and encoding/json's reflection was the pump's
// largest cost in a profile of bench/go_client.py's replay (BenchmarkEncodeEvent: 3.4x the time,
// 20 allocations an event against 2). wire_test.go checks it byte for byte against encoding/json
// on the wire structs.
func appendItem(b []byte, it *item, eventID, layout string) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, kindNames[it.kind])
	b = append(b, `,"event_id":`...)
	b = appendString(b, eventID)
	b = append(b, `,"observed_at":`...)
	b = appendTime(b, time.Unix(0, it.at), layout)
	switch it.kind {
	case kindRinging, kindEstablished, kindFailed:
		b = appendCall(b, &it.meta, it.labels, layout)
	case kindTransferStarted:
		b = appendCall(b, &it.meta, it.labels, layout)
	case kindBye:
		b = appendCall(b, &it.meta, it.labels, layout)
	}
	switch it.kind {
	case kindBye, kindFailed:
		b = appendHangup(b, &it.hangup, layout)
	}
	if it.kind == kindBye && len(it.rec.Payload) > 0 {
		r := &it.rec
		sum := sha256.Sum256(r.Payload)
		b = append(b, `,"recording":{"format":`...)
		b = appendString(b, string(r.Format))
		b = append(b, `,"codec":`...)
		b = appendString(b, r.Codec)
		b = append(b, `,"sample_rate":`...)
		b = strconv.AppendInt(b, int64(r.SampleRate), 10)
		b = append(b, `,"channels":`...)
		b = strconv.AppendInt(b, int64(r.Channels), 10)
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, int64(len(r.Payload)), 10)
		b = append(b, `,"sha256":"`...)
		var hx [64]byte
		hex.Encode(hx[:], sum[:])
		b = append(b, hx[:]...)
		b = append(b, `"}`...)
	}
	switch it.kind {
	case kindTransferStarted:
		b = append(b, `,"target_uri":`...)
		b = appendString(b, it.s1)
	case kindBridgeStarted:
		b = append(b, `,"inbound_call_id":`...)
		b = appendString(b, it.s1)
		b = append(b, `,"outbound_call_id":`...)
		b = appendString(b, it.s2)
	}
	return append(b, '}')
}

func appendCall(b []byte, m *hooks.CallMeta, labels map[string]string, layout string) []byte {
	b = append(b, `,"call":{"call_id":`...)
	b = appendString(b, m.CallID)
	b = append(b, `,"correlation_id":`...)
	b = appendString(b, m.CorrelationID)
	b = append(b, `,"direction":`...)
	b = appendString(b, string(m.Direction))
	b = append(b, `,"scenario":`...)
	b = appendString(b, m.Scenario)
	b = append(b, `,"tenant_id":`...)
	b = strconv.AppendUint(b, uint64(m.TenantID), 10)
	b = append(b, `,"remote_addr":`...)
	b = appendString(b, m.RemoteAddr)
	b = append(b, `,"local_ip":`...)
	b = appendString(b, m.LocalIP)
	b = append(b, `,"codec":`...)
	b = appendString(b, m.Codec)
	b = append(b, `,"started_at":`...)
	b = appendTime(b, m.StartedAt, layout)
	if len(labels) > 0 {
		var keys [MaxLabels]string
		ks := keys[:0]
		for k := range labels {
			ks = append(ks, k)
		}
		sort.Strings(ks) // as encoding/json: the same labels give the same bytes
		b = append(b, `,"labels":{`...)
		for i, k := range ks {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, labels[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendHangup(b []byte, h *hooks.HangupMeta, layout string) []byte {
	b = append(b, `,"hangup":{"initiator":`...)
	b = appendString(b, string(h.Initiator))
	b = append(b, `,"sip_code":`...)
	b = strconv.AppendInt(b, int64(h.SIPCode), 10)
	b = append(b, `,"reason":`...)
	b = appendString(b, h.Reason)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendInt(b, h.Duration.Milliseconds(), 10)
	b = append(b, `,"ended_at":`...)
	if h.EndedAt.IsZero() {
		b = append(b, "null"...) // not known
	} else {
		b = appendTime(b, h.EndedAt, layout)
	}
	return append(b, '}')
}

// appendTime writes t in UTC with exactly the layout's fractional digits, truncated (the store
// keeps microseconds, so 6 loses nothing it would keep); Go's zero time as zeroTime.
func appendTime(b []byte, t time.Time, layout string) []byte {
	b = append(b, '"')
	if t.IsZero() {
		b = append(b, zeroTime...)
	} else {
		b = t.UTC().AppendFormat(b, layout)
	}
	return append(b, '"')
}

// appendString writes s as a JSON string as encoding/json does: invalid UTF-8 becomes U+FFFD;
// control characters, <, >, &, U+2028 and U+2029 are escaped.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// encodeItem is one event on its own (tests; the pump appends into its batch).
func encodeItem(it *item, eventID, layout string) []byte {
	return appendItem(nil, it, eventID, layout)
}

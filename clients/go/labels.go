package cdrclient

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Limits of a call's labels, as the server checks them (cdr/lifecycle/labels.py).
const (
	MaxLabels     = 16  // keys per call
	MaxLabelKey   = 64  // characters of a key: A-Z a-z 0-9 _ . : / -
	MaxLabelValue = 256 // characters (Unicode code points) of a value
)

// Conventional label keys (docs/ingest.md); any other valid key is accepted too.
const (
	LabelFrom     = "from"     // the caller's number
	LabelTo       = "to"       // the callee's number
	LabelDID      = "did"      // the number dialled in (inbound)
	LabelCampaign = "campaign" // the outbound campaign
)

// labelBook holds the labels of the newest `max` labelled calls. The hooks read it without a
// lock (sync.Map); SetLabels, not a hook, takes the mutex.
type labelBook struct {
	calls sync.Map // call id -> map[string]string, never changed once stored
	mu    sync.Mutex
	order []string // call ids by first SetLabels, oldest first
	max   int
	n     int32 // len(order) as the hooks read it: 0 means no lookup at all
}

func checkLabelKey(k string) error {
	if k == "" || len(k) > MaxLabelKey {
		return fmt.Errorf("key %q: expected 1..%d characters of A-Z a-z 0-9 _ . : / -", truncate(k, 40), MaxLabelKey)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.:/-", c) >= 0) {
			return fmt.Errorf("key %q: expected 1..%d characters of A-Z a-z 0-9 _ . : / -", truncate(k, 40), MaxLabelKey)
		}
	}
	return nil
}

func checkLabelValue(k, v string) error {
	switch {
	case !utf8.ValidString(v):
		return fmt.Errorf("labels.%s: not valid UTF-8", k)
	case utf8.RuneCountInString(v) > MaxLabelValue:
		return fmt.Errorf("labels.%s: longer than %d characters", k, MaxLabelValue)
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Errorf("labels.%s: contains NUL, which cannot be stored", k)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// set merges labels into the call's (a key given again takes the new value).
func (b *labelBook) set(callID string, labels map[string]string) error {
	if callID == "" {
		return errors.New("cdrclient: SetLabels: callID: expected a non-empty string")
	}
	if len(labels) > MaxLabels {
		return fmt.Errorf("cdrclient: SetLabels: labels: %d keys, at most %d", len(labels), MaxLabels)
	}
	for k, v := range labels {
		if err := checkLabelKey(k); err != nil {
			return fmt.Errorf("cdrclient: SetLabels: labels: %w", err)
		}
		if err := checkLabelValue(k, v); err != nil {
			return fmt.Errorf("cdrclient: SetLabels: %w", err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	merged := map[string]string{}
	old, known := b.calls.Load(callID)
	if known {
		for k, v := range old.(map[string]string) {
			merged[k] = v
		}
	}
	for k, v := range labels {
		merged[k] = v
	}
	if len(merged) > MaxLabels {
		return fmt.Errorf("cdrclient: SetLabels: labels: the call would have %d keys, at most %d", len(merged), MaxLabels)
	}
	// A new map each time: events already holding the previous one keep it unchanged.
	b.calls.Store(callID, merged)
	if !known {
		b.order = append(b.order, callID)
		for len(b.order) > b.max {
			b.calls.Delete(b.order[0])
			b.order[0] = ""
			b.order = b.order[1:]
		}
		atomicStoreInt32(&b.n, int32(len(b.order)))
	}
	return nil
}

// get is the hooks' lookup: the call's labels, or nil.
func (b *labelBook) get(callID string) map[string]string {
	if atomicLoadInt32(&b.n) == 0 || callID == "" {
		return nil
	}
	if v, ok := b.calls.Load(callID); ok {
		return v.(map[string]string)
	}
	return nil
}

// SetLabels attaches labels to a call: an extension, as hooks.CallMeta has no labels (mirrors
// the Python sink's set_labels). They are merged into the call's (a key given again takes the
// new value) and travel as call.labels on every hook of the call made after this, including a
// BYE or failure. Labels the server would refuse are refused here, with the reason; the call
// keeps what it had. The labels of the newest Config.LabelCalls labelled calls are kept.
func (c *Client) SetLabels(callID string, labels map[string]string) error {
	return c.labels.set(callID, labels)
}

func atomicLoadInt32(p *int32) int32     { return atomic.LoadInt32(p) }
func atomicStoreInt32(p *int32, v int32) { atomic.StoreInt32(p, v) }

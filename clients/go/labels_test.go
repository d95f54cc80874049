package cdrclient

import (
	"reflect"
	"strings"
	"testing"

	"github.com/LingByte/lingllm/protocol/sip/hooks"
)

func TestSetLabelsTravelOnTheCallsLaterHooks(t *testing.T) {
	srv := newFakeServer(t)
	c := newClient(t, testConfig(t, srv.URL))
	c.OnRinging(inbound) // before SetLabels: none
	if err := c.SetLabels("a@gw", map[string]string{LabelFrom: "+33612345678", LabelDID: "+33184000007"}); err != nil {
		t.Fatal(err)
	}
	c.OnEstablished(inbound)
	if err := c.SetLabels("a@gw", map[string]string{LabelDID: "+33184000008", LabelCampaign: "spring"}); err != nil {
		t.Fatal(err)
	}
	c.OnBridgeStarted("a@gw", "b@gw")
	c.OnEstablished(agent) // another call: none
	c.OnBye(inbound, hooks.HangupMeta{Initiator: hooks.HangupRemote}, hooks.RecordingArtifact{})
	flush(t, c)
	srv.check(t)
	got := srv.events()
	var labels []any
	for _, e := range got {
		call, _ := e["call"].(map[string]any)
		labels = append(labels, call["labels"])
	}
	want := []any{
		nil,
		map[string]any{"from": "+33612345678", "did": "+33184000007"},
		nil,
		nil,
		map[string]any{"from": "+33612345678", "did": "+33184000008", "campaign": "spring"},
	}
	if !reflect.DeepEqual(labels, want) {
		t.Fatalf("labels on the wire:\n got %v\nwant %v", labels, want)
	}
}

func TestSetLabelsRefusesWhatTheServerWouldWithTheReason(t *testing.T) {
	c := newClient(t, testConfig(t, newFakeServer(t).URL))
	many := map[string]string{}
	for i := 0; i < 17; i++ {
		many[string(rune('a'+i))] = "v"
	}
	for reason, labels := range map[string]map[string]string{
		"labels: 17 keys, at most 16":           many,
		`labels: key "a b": expected 1..64`:     {"a b": "x"},
		`labels: key "": expected 1..64`:        {"": "x"},
		`labels: key "a=b": expected`:           {"a=b": "x"},
		"labels.to: longer than 256 characters": {"to": strings.Repeat("é", 257)},
		"labels.to: contains NUL":               {"to": "a\x00b"},
		"labels.to: not valid UTF-8":            {"to": "\xff"},
	} {
		if err := c.SetLabels("x@gw", labels); err == nil || !strings.Contains(err.Error(), reason) {
			t.Errorf("%q: got %v", reason, err)
		}
	}
	ok := map[string]string{strings.Repeat("k", 64): strings.Repeat("é", 256)}
	if err := c.SetLabels("x@gw", ok); err != nil {
		t.Fatal(err)
	}
	fifteen := map[string]string{}
	for i := 0; i < 15; i++ {
		fifteen[string(rune('a'+i))] = "v"
	}
	if err := c.SetLabels("x@gw", map[string]string{"z": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetLabels("x@gw", fifteen); err == nil || !strings.Contains(err.Error(), "the call would have 17 keys") {
		t.Fatalf("merged past the limit: %v", err)
	}
	if got := c.labels.get("x@gw"); len(got) != 2 {
		t.Fatalf("a refused SetLabels changed the call's labels: %v", got)
	}
	if err := c.SetLabels("", ok); err == nil {
		t.Fatal("empty call id accepted")
	}
}

func TestOnlyTheNewestLabelledCallsAreKept(t *testing.T) {
	cfg := testConfig(t, newFakeServer(t).URL)
	cfg.LabelCalls = 2
	c := newClient(t, cfg)
	for _, id := range []string{"1", "2", "1", "3"} {
		if err := c.SetLabels(id, map[string]string{"k": id}); err != nil {
			t.Fatal(err)
		}
	}
	if c.labels.get("1") != nil || c.labels.get("2")["k"] != "2" || c.labels.get("3")["k"] != "3" {
		t.Fatalf("kept: %v %v %v", c.labels.get("1"), c.labels.get("2"), c.labels.get("3"))
	}
	cfg.LabelCalls = -1
	if _, err := New(cfg); err == nil {
		t.Fatal("LabelCalls -1 accepted")
	}
}

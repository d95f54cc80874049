// Command cdr-callshapes drives the hooks of real call shapes through the client against a cdr
// server, the way a gateway fires them: an answered call with its SN3 recording, a rejected
// one, a cancelled one, a transfer whose agent leg has tenant 0 and whose BYEs cross, recorded
// from the bridge's live PCM taps (CDR_TAPS_CALLER, CDR_TAPS_AGENT: mono PCM16 LE files). It prints
// what it did (call ids, times, the client's Stats) as JSON. tests/e2e/test_go_client.py runs it;
// it is also a smoke test for a new deployment:
//
//	CDR_URL=https://cdr.example.com CDR_KEY_ID=... CDR_SECRET=... go run ./cmd/cdr-callshapes
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/LingByte/lingllm/protocol/sip/hooks"

	cdrclient "github.com/cdr-voice/cdr/clients/go"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	digits, _ := strconv.Atoi(env("CDR_TIME_DIGITS", "6"))
	step, _ := time.ParseDuration(env("CDR_STEP", "20ms"))
	tenant, _ := strconv.ParseUint(env("CDR_TENANT", "7"), 10, 64)
	bigTenant, _ := strconv.ParseUint(env("CDR_BIG_TENANT", "18446744073709551614"), 10, 64)
	dir := env("CDR_DIR", "")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "cdr-callshapes-"); err != nil {
			log.Fatal(err)
		}
	}
	var blob []byte
	if path := os.Getenv("CDR_SN3"); path != "" {
		var err error
		if blob, err = os.ReadFile(path); err != nil {
			log.Fatal(err)
		}
	}
	var taps [2][]byte
	for ch, name := range []string{"CDR_TAPS_CALLER", "CDR_TAPS_AGENT"} {
		if path := os.Getenv(name); path != "" {
			var err error
			if taps[ch], err = os.ReadFile(path); err != nil {
				log.Fatal(err)
			}
		}
	}
	// How late a tap may be and still follow on: the test feeds them faster than real time and
	// wants them contiguous whatever the machine's load (80 ms by default, as a gateway's).
	gap, _ := time.ParseDuration(env("CDR_TAP_GAP", "0"))
	c, err := cdrclient.New(cdrclient.Config{
		URL: env("CDR_URL", "http://127.0.0.1:8000"), KeyID: os.Getenv("CDR_KEY_ID"), Secret: os.Getenv("CDR_SECRET"),
		Dir: dir, TimeDigits: digits, FlushInterval: 20 * time.Millisecond, TapGapTolerance: gap,
	})
	if err != nil {
		log.Fatal(err)
	}
	hooks.DefaultRegistry = c.Registry()
	life, rec := hooks.DefaultRegistry.Lifecycle, hooks.DefaultRegistry.Recording

	// The calls happen now, a step apart; their times carry nanoseconds (...789 ns), which the
	// store truncates to microseconds. times[name] is every time handed to a hook, for the test.
	times := map[string]string{}
	stamp := func(name string) time.Time {
		time.Sleep(step)
		t := time.Now().UTC().Truncate(time.Microsecond).Add(789)
		times[name] = t.Format(time.RFC3339Nano)
		return t
	}
	leg := func(id string, t uint64, start time.Time) hooks.CallMeta {
		return hooks.CallMeta{CallID: id, Direction: hooks.DirectionInbound, TenantID: uint(t),
			RemoteAddr: "198.51.100.7:5060", LocalIP: "10.0.0.2", Codec: "pcmu", StartedAt: start}
	}
	out := map[string]any{"times": times, "dir": dir}

	// Answered, recorded, ended by the caller.
	answered := leg("go-answered@gw", tenant, stamp("answered.started"))
	// Labels: an extension of the client (CallMeta has none), set before the call's first hook.
	if err := c.SetLabels(answered.CallID, map[string]string{cdrclient.LabelFrom: "+33612345678",
		cdrclient.LabelTo: "+33184000007", cdrclient.LabelDID: "+33184000007"}); err != nil {
		log.Fatal(err)
	}
	life.OnRinging(answered)
	if err := c.SetLabels(answered.CallID, map[string]string{cdrclient.LabelCampaign: "spring"}); err != nil {
		log.Fatal(err)
	}
	stamp("answered.before_established")
	life.OnEstablished(answered)
	rec.BeginRecording(answered, 8000, "pcmu")
	artifact := hooks.RecordingArtifact{CallID: answered.CallID, Format: hooks.FormatSN3, Payload: blob,
		Codec: "pcmu", SampleRate: 8000, Channels: 1}
	ended := stamp("answered.ended")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	result, err := rec.FinishRecording(ctx, artifact)
	cancel()
	out["recording"] = map[string]any{"url": result.URL, "object_key": result.ObjectKey, "bytes": result.Bytes, "error": errString(err)}
	life.OnBye(answered, hooks.HangupMeta{Initiator: hooks.HangupRemote, SIPCode: 200, Reason: "Normal Clearing",
		Duration: ended.Sub(answered.StartedAt), EndedAt: ended}, artifact)

	// Rejected while ringing (a Call-ID with "/", "%" and a space).
	rejected := leg("go-rejected/486 %41@gw", tenant, stamp("rejected.started"))
	life.OnRinging(rejected)
	life.OnFailed(rejected, hooks.HangupMeta{Initiator: hooks.HangupLocal, SIPCode: 486, Reason: "Busy Here", EndedAt: stamp("rejected.ended")})

	// Cancelled by the caller while ringing.
	cancelled := leg("go-cancelled@gw", tenant, stamp("cancelled.started"))
	life.OnRinging(cancelled)
	life.OnFailed(cancelled, hooks.HangupMeta{Initiator: hooks.HangupRemote, SIPCode: 487, Reason: "Request Terminated", EndedAt: stamp("cancelled.ended")})

	// Transfer at tenant 2^64-2: a first agent who does not answer, a second whose leg
	// (tenant 0, found through its CorrelationID) is bridged; the inbound call's BYEs cross.
	inbound := leg("go-xfer@gw", bigTenant, stamp("xfer.started"))
	life.OnRinging(inbound)
	stamp("xfer.before_established")
	life.OnEstablished(inbound)
	agentLeg := func(id string, start time.Time) hooks.CallMeta {
		return hooks.CallMeta{CallID: id, CorrelationID: inbound.CallID, Direction: hooks.DirectionOutbound,
			Scenario: "transfer_agent", RemoteAddr: "10.0.0.9:5060", LocalIP: "10.0.0.2", Codec: "pcmu", StartedAt: start}
	}
	life.OnTransferStarted(inbound, "sip:agent-1@pbx")
	first := agentLeg("go-agent-1@gw", stamp("agent1.started"))
	life.OnFailed(first, hooks.HangupMeta{Initiator: hooks.HangupRemote, SIPCode: 480, Reason: "Temporarily Unavailable", EndedAt: stamp("agent1.ended")})
	life.OnTransferStarted(inbound, "sip:agent-2@pbx")
	second := agentLeg("go-agent-2@gw", stamp("agent2.started"))
	stamp("agent2.before_established")
	life.OnEstablished(second)
	life.OnBridgeStarted(inbound.CallID, second.CallID)
	// The bridge is recorded from its live taps, in 20 ms chunks of 8 kHz PCM16, both directions in turn.
	rec.BeginRecording(inbound, 8000, "pcmu")
	for i := 0; i < len(taps[0]) || i < len(taps[1]); i += 320 {
		for ch := range taps {
			if i < len(taps[ch]) {
				rec.AppendPCM(inbound.CallID, hooks.RecordingChannel(ch), taps[ch][i:min(i+320, len(taps[ch]))])
			}
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	result, err = rec.FinishRecording(ctx, hooks.RecordingArtifact{CallID: inbound.CallID})
	cancel()
	out["taps"] = map[string]any{"object_key": result.ObjectKey, "bytes": result.Bytes, "error": errString(err)}
	local := stamp("xfer.ended")
	remote := stamp("xfer.ended_remote")
	var wg sync.WaitGroup // the session timer's BYE and the caller's cross, each on its goroutine
	wg.Add(2)
	go func() {
		defer wg.Done()
		life.OnBye(inbound, hooks.HangupMeta{Initiator: hooks.HangupLocal, Reason: "session timer", EndedAt: local}, hooks.RecordingArtifact{})
	}()
	time.Sleep(time.Millisecond)
	go func() {
		defer wg.Done()
		life.OnBye(inbound, hooks.HangupMeta{Initiator: hooks.HangupRemote, SIPCode: 200, EndedAt: remote}, hooks.RecordingArtifact{})
	}()
	wg.Wait()
	life.OnBye(second, hooks.HangupMeta{Initiator: hooks.HangupRemote, SIPCode: 200, Reason: "Normal Clearing", EndedAt: stamp("agent2.ended")}, hooks.RecordingArtifact{})

	ctx, cancel = context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out["close_error"] = errString(c.Close(ctx))
	out["stats"] = c.Stats()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

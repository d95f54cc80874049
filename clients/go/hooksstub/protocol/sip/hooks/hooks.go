// Package hooks defines optional callbacks for call lifecycle and recording delivery.
//
// Stand-in written from the package doc of github.com/LingByte/lingllm v1.4.2
// (shared/reference/go-hooks-package-doc.txt); tests/unit/clients/test_go_hooks_stub.py checks it
// name for name against that doc.
package hooks

import (
	"context"
	"time"
)

// DefaultRegistry uses nop sinks until the application replaces them.
var DefaultRegistry = Registry{
	Lifecycle: NopLifecycle{},
	Recording: NopRecording{},
}

// CallMeta is the minimal call context passed to lifecycle sinks.
type CallMeta struct {
	CallID        string
	CorrelationID string // inbound Call-ID for outbound transfer legs
	Direction     Direction
	Scenario      string // e.g. outbound.ScenarioTransferAgent — opaque string avoids import cycles
	TenantID      uint
	RemoteAddr    string
	LocalIP       string
	Codec         string
	StartedAt     time.Time
}

// Direction classifies a SIP media leg.
type Direction string

const (
	DirectionInbound  Direction = "inbound"
	DirectionOutbound Direction = "outbound"
)

// HangupInitiator identifies who ended the dialog.
type HangupInitiator string

const (
	HangupLocal   HangupInitiator = "local"
	HangupRemote  HangupInitiator = "remote"
	HangupUnknown HangupInitiator = "unknown"
)

// HangupMeta accompanies OnBye / OnFailed.
type HangupMeta struct {
	Initiator HangupInitiator
	SIPCode   int    // final SIP status when known (0 if N/A)
	Reason    string // SIP phrase or internal reason
	Duration  time.Duration
	EndedAt   time.Time
}

// LifecycleSink receives call state transitions. All methods must be non-blocking or fast;
// heavy work should be queued by the implementation.
type LifecycleSink interface {
	// OnRinging is an optional early hook (180/183). No-op default: use NopLifecycle.
	OnRinging(meta CallMeta)

	// OnEstablished fires after ACK (inbound UAS) or outbound 200+ACK.
	OnEstablished(meta CallMeta)

	// OnTransferStarted fires when a B2BUA transfer dial begins (REFER or AI transfer).
	OnTransferStarted(inbound CallMeta, targetURI string)

	// OnBridgeStarted fires when two-leg media bridge is active.
	OnBridgeStarted(inboundCallID, outboundCallID string)

	// OnBye fires when a dialog ends cleanly (BYE completed or local teardown).
	OnBye(meta CallMeta, hangup HangupMeta, recording RecordingArtifact)

	// OnFailed fires when setup or transfer fails before a stable bridge.
	OnFailed(meta CallMeta, hangup HangupMeta)
}

// NopLifecycle is a sink that ignores all events.
type NopLifecycle struct{}

func (NopLifecycle) OnBridgeStarted(string, string)                {}
func (NopLifecycle) OnBye(CallMeta, HangupMeta, RecordingArtifact) {}
func (NopLifecycle) OnEstablished(CallMeta)                        {}
func (NopLifecycle) OnFailed(CallMeta, HangupMeta)                 {}
func (NopLifecycle) OnRinging(CallMeta)                            {}
func (NopLifecycle) OnTransferStarted(CallMeta, string)            {}

// NopRecording ignores all recording hooks.
type NopRecording struct{}

func (NopRecording) AppendPCM(string, RecordingChannel, []byte) {}
func (NopRecording) BeginRecording(CallMeta, int, string) bool  { return false }
func (NopRecording) FinishRecording(context.Context, RecordingArtifact) (RecordingResult, error) {
	return RecordingResult{}, nil
}

// RecordingArtifact is what the SIP stack can hand off at hangup without knowing storage backend.
type RecordingArtifact struct {
	CallID     string
	Format     RecordingFormat
	Payload    []byte // SN3 blob or app-defined PCM container
	Codec      string
	SampleRate int
	Channels   int // 1 mono taps, 2 when stereo PCM sink merged
}

// RecordingChannel separates caller vs agent/AI halves in stereo PCM taps.
type RecordingChannel int

const (
	ChannelCaller RecordingChannel = iota
	ChannelAgent
)

// RecordingFormat identifies in-memory capture encodings produced by the SIP stack.
type RecordingFormat string

const (
	// FormatSN3 is the session-layer RTP blob (magic "SN3", dir/seq/ts/wallNs/payload frames).
	FormatSN3 RecordingFormat = "sn3"
	// FormatStereoPCM is optional live stereo PCM from WriteCallerPCM / WriteAIPCM taps.
	FormatStereoPCM RecordingFormat = "stereo_pcm"
)

// RecordingResult is an opaque durable handle returned by RecordingSink.
type RecordingResult struct {
	URL       string
	ObjectKey string
	Bytes     int64
}

// RecordingSink receives live PCM taps and/or the final SN3 blob at call end.
type RecordingSink interface {
	// BeginRecording returns false to disable taps for this call (SN3 capture may still run in session).
	BeginRecording(meta CallMeta, sampleRate int, codec string) bool

	// AppendPCM delivers mono PCM16 LE frames during the call (transfer bridge / voice pipeline).
	// Implementations must copy pcm if retained beyond the call.
	AppendPCM(callID string, ch RecordingChannel, pcm []byte)

	// FinishRecording is invoked once at hangup with the SN3 artifact (may be nil/empty).
	// Return a durable reference (URL, object key) for LifecycleSink.OnBye if needed.
	FinishRecording(ctx context.Context, artifact RecordingArtifact) (RecordingResult, error)
}

// Registry holds optional sinks wired once at process startup.
type Registry struct {
	Lifecycle LifecycleSink
	Recording RecordingSink
}

package cdrclient

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/LingByte/lingllm/protocol/sip/hooks"
)

// pcm16 is n mono PCM16 LE samples counting up from first.
func pcm16(first, n int) []byte {
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(first+i)))
	}
	return b
}

// stereo interleaves two channels of whole samples (the shorter padded with silence).
func stereo(left, right []byte) []byte {
	n := len(left)
	if len(right) > n {
		n = len(right)
	}
	out := make([]byte, 2*n)
	for i := 0; i < n/2; i++ {
		if 2*i < len(left) {
			copy(out[4*i:], left[2*i:2*i+2])
		}
		if 2*i < len(right) {
			copy(out[4*i+2:], right[2*i:2*i+2])
		}
	}
	return out
}

func finish(t *testing.T, c *Client, art hooks.RecordingArtifact) hooks.RecordingResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.FinishRecording(ctx, art)
	if err != nil {
		t.Fatalf("%v; %+v", err, c.Stats())
	}
	return res
}

// The taps of both channels come out as one stereo_pcm upload: caller left, agent right, on
// one clock from the first chunk; its headers signed; the tap files gone.
func TestPCMTapsAreUploadedAsStereoPCM(t *testing.T) {
	srv := newFakeServer(t)
	cfg := testConfig(t, srv.URL)
	cfg.TapGapTolerance = time.Minute // every chunk follows on: the expected stream does not depend on timing
	c := newClient(t, cfg)
	meta := inbound
	meta.CallID = "taps/1 %@gw"
	if !c.BeginRecording(meta, 16000, "g722") {
		t.Fatal("BeginRecording: false")
	}
	c.AppendPCM(meta.CallID, hooks.ChannelCaller, pcm16(0, 160))
	c.AppendPCM(meta.CallID, hooks.ChannelAgent, pcm16(1000, 100))
	c.AppendPCM(meta.CallID, hooks.ChannelCaller, append(pcm16(160, 160), 0x7f)) // an odd byte: cut
	c.AppendPCM(meta.CallID, hooks.ChannelAgent, pcm16(1100, 400))
	c.AppendPCM("not begun@gw", hooks.ChannelCaller, pcm16(0, 160))
	res := finish(t, c, hooks.RecordingArtifact{CallID: meta.CallID})
	c.AppendPCM(meta.CallID, hooks.ChannelCaller, pcm16(0, 160)) // after the hangup: ignored
	srv.check(t)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	want := stereo(pcm16(0, 320), pcm16(1000, 500))
	if len(srv.recBodies) != 1 || !bytes.Equal(srv.recBodies[0], want) {
		t.Fatalf("%d uploads; got %d bytes, want %d", len(srv.recBodies), len(srv.recBodies[0]), len(want))
	}
	h := srv.recHeaders[0]
	if h.Get("X-CDR-Format") != "stereo_pcm" || h.Get("X-CDR-Channels") != "2" || h.Get("X-CDR-Sample-Rate") != "16000" ||
		h.Get("X-CDR-Tenant-Id") != "7" || h.Get("X-CDR-Codec") != "g722" {
		t.Errorf("headers %v", h)
	}
	if res.Bytes != int64(len(want)) || res.ObjectKey == "" {
		t.Errorf("result %+v", res)
	}
	if st := c.Stats(); st.TapsDropped != 0 || st.TapBytes != 2*(320+500) || st.RecordingsUploaded != 1 || st.RecordingsPending != 0 {
		t.Errorf("%+v", st)
	}
	if left, _ := filepath.Glob(filepath.Join(cfg.Dir, "taps", "*")); len(left) != 0 {
		t.Errorf("tap files left: %v", left)
	}
}

// A chunk later than its channel's end by more than the tolerance starts at its arrival: the
// gap is silence, as cdr.media.taps.TapRecorder places it.
func TestALateTapStartsAtItsArrival(t *testing.T) {
	srv := newFakeServer(t)
	cfg := testConfig(t, srv.URL)
	cfg.TapGapTolerance = 20 * time.Millisecond
	c := newClient(t, cfg)
	c.BeginRecording(inbound, 8000, "pcma")
	c.AppendPCM(inbound.CallID, hooks.ChannelCaller, pcm16(1, 80)) // 10 ms
	time.Sleep(200 * time.Millisecond)
	c.AppendPCM(inbound.CallID, hooks.ChannelCaller, pcm16(1, 80))
	finish(t, c, hooks.RecordingArtifact{CallID: inbound.CallID})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	body := srv.recBodies[0]
	frames := len(body) / 4
	// The second chunk starts at least 200 ms (1,600 samples) after the first.
	if frames < 1600+80 || !bytes.Equal(body[:4], stereo(pcm16(1, 1), nil)) {
		t.Fatalf("%d frames", frames)
	}
	second := frames - 80
	for i := 80; i < second; i++ {
		if binary.LittleEndian.Uint32(body[4*i:]) != 0 {
			t.Fatalf("frame %d of the gap is not silence", i)
		}
	}
	if !bytes.Equal(body[4*second:], stereo(pcm16(1, 80), nil)) {
		t.Fatal("the late chunk is not at the end")
	}
}

// Over its bounds a tap is dropped and counted, never waited for; a bad channel too.
func TestTapsOverTheirBoundsAreDroppedAndCounted(t *testing.T) {
	srv := newFakeServer(t)
	cfg := testConfig(t, srv.URL)
	cfg.TapQueueBytes, cfg.TapSpoolMaxBytes, cfg.TapGapTolerance = 1700, 1500, time.Minute
	c := newClient(t, cfg)
	c.BeginRecording(inbound, 8000, "pcma")
	c.AppendPCM(inbound.CallID, hooks.ChannelCaller, pcm16(0, 900)) // 1,800 bytes: over TapQueueBytes
	c.AppendPCM(inbound.CallID, hooks.RecordingChannel(2), pcm16(0, 10))
	c.AppendPCM(inbound.CallID, hooks.ChannelCaller, pcm16(0, 400)) // 800 bytes on disk
	c.AppendPCM(inbound.CallID, hooks.ChannelAgent, pcm16(0, 400))  // 1,600 on disk > TapSpoolMaxBytes
	finish(t, c, hooks.RecordingArtifact{CallID: inbound.CallID})
	if st := c.Stats(); st.TapsDropped != 3 || st.TapBytes != 800 {
		t.Errorf("%+v", st)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !bytes.Equal(srv.recBodies[0], stereo(pcm16(0, 400), nil)) {
		t.Errorf("uploaded %d bytes", len(srv.recBodies[0]))
	}
}

// A call with an SN3 blob and taps: both uploaded, the result is the blob's.
func TestSN3AndTapsOfOneCallAreBothUploaded(t *testing.T) {
	srv := newFakeServer(t)
	srv.recRespond = func(n int, w http.ResponseWriter) bool { return false }
	c := newClient(t, testConfig(t, srv.URL))
	c.BeginRecording(inbound, 8000, "pcma")
	c.AppendPCM(inbound.CallID, hooks.ChannelAgent, pcm16(5, 160))
	blob := []byte("SN3 blob")
	res := finish(t, c, hooks.RecordingArtifact{CallID: inbound.CallID, Format: hooks.FormatSN3, Payload: blob, Codec: "pcma", SampleRate: 8000, Channels: 1})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	formats := map[string][]byte{}
	for i, h := range srv.recHeaders {
		formats[h.Get("X-CDR-Format")] = srv.recBodies[i]
	}
	if len(formats) != 2 || !bytes.Equal(formats["sn3"], blob) || !bytes.Equal(formats["stereo_pcm"], stereo(nil, pcm16(5, 160))) {
		t.Fatalf("uploads %v", srv.recHeaders)
	}
	if res.Bytes != int64(len(blob)) {
		t.Errorf("result %+v: not the blob's", res)
	}
}

// A tap writer killed mid-call leaves tap files; the next client on the Dir removes them.
func TestTapFilesOfAKilledProcessAreRemoved(t *testing.T) {
	cfg := testConfig(t, "http://127.0.0.1:1")
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "taps"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Dir, "taps", "3.0.pcm"), pcm16(0, 10), 0o600); err != nil {
		t.Fatal(err)
	}
	newClient(t, cfg)
	if left, _ := filepath.Glob(filepath.Join(cfg.Dir, "taps", "*")); len(left) != 0 {
		t.Errorf("left %v", left)
	}
}

// Taps of a call BeginRecording started and FinishRecording never ended are discarded after
// TapCallMaxAge: their files do not stay open and on disk for ever.
func TestTapsOfACallNeverFinishedExpire(t *testing.T) {
	srv := newFakeServer(t)
	cfg := testConfig(t, srv.URL)
	cfg.TapCallMaxAge = 40 * time.Millisecond
	c := newClient(t, cfg)
	c.BeginRecording(inbound, 8000, "pcma")
	c.AppendPCM(inbound.CallID, hooks.ChannelCaller, pcm16(0, 160))
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().TapExpired == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := c.Stats(); st.TapExpired != 1 {
		t.Fatalf("%+v", st)
	}
	if left, _ := filepath.Glob(filepath.Join(cfg.Dir, "taps", "*")); len(left) != 0 {
		t.Errorf("tap files left: %v", left)
	}
	c.AppendPCM(inbound.CallID, hooks.ChannelCaller, pcm16(0, 160)) // ignored: the call is forgotten
	finish(t, c, hooks.RecordingArtifact{CallID: inbound.CallID})
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.recBodies) != 0 {
		t.Errorf("%d uploads of an expired call's taps", len(srv.recBodies))
	}
}

// FinishRecording after Close does not wait for a tap writer that is gone.
func TestFinishRecordingAfterCloseDoesNotWaitForTheTapWriter(t *testing.T) {
	srv := newFakeServer(t)
	c := newClient(t, testConfig(t, srv.URL))
	c.BeginRecording(inbound, 8000, "pcma")
	c.AppendPCM(inbound.CallID, hooks.ChannelCaller, pcm16(0, 160))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.FinishRecording(ctx, hooks.RecordingArtifact{CallID: inbound.CallID}); err != nil {
		t.Fatalf("%v; %+v", err, c.Stats())
	}
	if st := c.Stats(); st.RecordingsPending != 0 {
		t.Errorf("%+v", st)
	}
}

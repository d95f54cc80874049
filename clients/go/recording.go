package cdrclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/LingByte/lingllm/protocol/sip/hooks"
)

// recordingSpool holds blobs waiting for upload: SEQ.blob, then SEQ.meta.json written last,
// so a meta file means a whole blob beside it.
type recordingSpool struct {
	dir string
	mu  sync.Mutex
	seq uint64
}

type recordingMeta struct {
	CallID     string `json:"call_id"`
	TenantID   uint64 `json:"tenant_id"`
	Format     string `json:"format"`
	Codec      string `json:"codec"`
	SampleRate int    `json:"sample_rate"`
	Channels   int    `json:"channels"`
	Bytes      int64  `json:"bytes"`
	SHA256     string `json:"sha256"`
}

type recordingJob struct {
	stem string // path without extension
	meta recordingMeta
}

type uploadResult struct {
	res hooks.RecordingResult
	err error
}

func openRecordingSpool(dir string) (*recordingSpool, error) {
	if err := os.MkdirAll(filepath.Join(dir, "refused"), 0o700); err != nil {
		return nil, fmt.Errorf("cdrclient: recordings spool: %w", err)
	}
	return &recordingSpool{dir: dir}, nil
}

// leftovers are the uploads a previous process did not finish, oldest first.
func (s *recordingSpool) leftovers() []recordingJob {
	entries, _ := os.ReadDir(s.dir)
	var jobs []recordingJob
	metas := map[string]bool{}
	for _, e := range entries {
		if stem := strings.TrimSuffix(e.Name(), ".meta.json"); stem != e.Name() {
			metas[stem] = true
		}
	}
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(s.dir, name)
		switch {
		case strings.HasSuffix(name, ".tmp"):
			_ = os.Remove(path)
		case strings.HasSuffix(name, ".blob"):
			stem := strings.TrimSuffix(name, ".blob")
			if !metas[stem] {
				_ = os.Remove(path) // killed before its meta was written: FinishRecording failed
			}
		case strings.HasSuffix(name, ".meta.json"):
			stem := strings.TrimSuffix(name, ".meta.json")
			if n, err := strconv.ParseUint(stem, 10, 64); err == nil && n > s.seq {
				s.seq = n
			}
			var m recordingMeta
			data, err := os.ReadFile(path)
			if err == nil && json.Unmarshal(data, &m) == nil {
				jobs = append(jobs, recordingJob{stem: filepath.Join(s.dir, stem), meta: m})
			}
		}
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].stem < jobs[j].stem })
	return jobs
}

func (s *recordingSpool) add(art *hooks.RecordingArtifact, tenant uint64) (recordingJob, error) {
	s.mu.Lock()
	s.seq++
	stem := fmt.Sprintf("%020d", s.seq)
	s.mu.Unlock()
	sum := sha256.Sum256(art.Payload)
	format := string(art.Format)
	if format == "" {
		format = string(hooks.FormatSN3)
	}
	m := recordingMeta{
		CallID: art.CallID, TenantID: tenant, Format: format, Codec: art.Codec,
		SampleRate: art.SampleRate, Channels: art.Channels,
		Bytes: int64(len(art.Payload)), SHA256: hex.EncodeToString(sum[:]),
	}
	if err := writeDurably(s.dir, stem+".blob", art.Payload); err != nil {
		return recordingJob{}, err
	}
	meta, _ := json.Marshal(&m)
	if err := writeDurably(s.dir, stem+".meta.json", meta); err != nil {
		_ = os.Remove(filepath.Join(s.dir, stem+".blob"))
		return recordingJob{}, err
	}
	return recordingJob{stem: filepath.Join(s.dir, stem), meta: m}, nil
}

func (s *recordingSpool) finish(job recordingJob, refused bool) {
	for _, ext := range []string{".blob", ".meta.json"} {
		if refused {
			_ = os.Rename(job.stem+ext, filepath.Join(s.dir, "refused", filepath.Base(job.stem)+ext))
		} else {
			_ = os.Remove(job.stem + ext)
		}
	}
}

// FinishRecording mirrors hooks.RecordingSink.FinishRecording. The SN3 blob, if any, is spooled
// to disk (fsync'd) and uploaded with its Content-Length; the call's PCM taps, if BeginRecording
// started them, become one stereo_pcm recording spooled and uploaded the same way (taps.go). Both
// are retried with backoff. It answers when the server stored or refused them, or when ctx ends:
// then the uploads go on in the background (and after a restart) and the error wraps ctx.Err().
// The result is the SN3 blob's, or the taps' when there is no blob.
func (c *Client) FinishRecording(ctx context.Context, artifact hooks.RecordingArtifact) (res hooks.RecordingResult, err error) {
	if c == nil {
		return res, errors.New("cdrclient: nil client")
	}
	defer func() {
		if r := recover(); r != nil {
			c.hookPanics.Add(1)
			err = fmt.Errorf("cdrclient: FinishRecording: %v", r)
		}
	}()
	var tenant uint64
	if t, ok := c.tenants.LoadAndDelete(artifact.CallID); ok {
		tenant = t.(uint64)
	}
	var blob, taps chan uploadResult
	if v, ok := c.tapCalls.LoadAndDelete(artifact.CallID); ok {
		taps = make(chan uploadResult, 1)
		c.recPending.Add(1) // from now: Flush waits for the taps to be spooled and uploaded
		spooled := c.finishTaps(v.(*tapCall))
		go func() {
			var job *recordingJob
			select {
			case job = <-spooled:
			case <-c.taps.done: // closed: the writer will not spool them (a job it did is replayed at the next start)
			}
			if job == nil {
				c.recPending.Add(-1)
				taps <- uploadResult{}
				return
			}
			c.uploadLoop(*job, taps)
		}()
	}
	if len(artifact.Payload) > 0 {
		job, err := c.spool.add(&artifact, tenant)
		if err != nil {
			c.setError("recording spool: " + err.Error())
			return res, fmt.Errorf("cdrclient: recording %q not spooled: %w", artifact.CallID, err)
		}
		c.recPending.Add(1)
		blob = make(chan uploadResult, 1)
		go c.uploadLoop(job, blob)
	}
	var first error
	for _, done := range []chan uploadResult{blob, taps} {
		if done == nil {
			continue
		}
		select {
		case r := <-done:
			if res == (hooks.RecordingResult{}) {
				res = r.res
			}
			if first == nil {
				first = r.err
			}
		case <-ctx.Done():
			if res == (hooks.RecordingResult{}) {
				res.Bytes = int64(len(artifact.Payload))
			}
			return res, fmt.Errorf("cdrclient: recording of %q spooled, upload goes on in the background: %w", artifact.CallID, ctx.Err())
		}
	}
	return res, first
}

func (c *Client) uploadLoop(job recordingJob, done chan<- uploadResult) {
	for attempt := 1; ; attempt++ {
		select {
		case c.uploads <- struct{}{}:
		case <-c.stop:
			return // stays spooled for the next client
		}
		res, out, wait, err := c.uploadOnce(job)
		<-c.uploads
		switch out {
		case delivered, refusedWhole:
			c.spool.finish(job, out == refusedWhole)
			if out == delivered {
				c.recUploaded.Add(1)
			} else {
				c.recRefused.Add(1)
			}
			c.recPending.Add(-1)
			if done != nil {
				done <- uploadResult{res, err}
			}
			return
		}
		c.recRetries.Add(1)
		if !c.sleep(c.backoff(attempt, wait)) {
			return
		}
	}
}

type recordingAnswer struct {
	ObjectKey string `json:"object_key"`
	URL       string `json:"url"`
	Bytes     int64  `json:"bytes"`
}

func (c *Client) uploadOnce(job recordingJob) (hooks.RecordingResult, outcome, time.Duration, error) {
	m := job.meta
	f, err := os.Open(job.stem + ".blob")
	if err != nil {
		c.setError(err.Error())
		return hooks.RecordingResult{}, refusedWhole, 0, fmt.Errorf("cdrclient: recording %q: %w", m.CallID, err)
	}
	defer f.Close()
	path := c.base.Path + "/ingest/v1/recordings/" + m.CallID
	u := *c.base
	u.Path = path
	u.RawPath = c.base.EscapedPath() + "/ingest/v1/recordings/" + url.PathEscape(m.CallID)
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.RequestTimeout+time.Duration(m.Bytes/(1<<20))*time.Second)
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), f)
	if err != nil {
		return hooks.RecordingResult{}, refusedWhole, 0, err
	}
	// A known length: the server cannot read a chunked body (issue 14) and caps by it.
	req.ContentLength = m.Bytes
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-CDR-Tenant-Id", strconv.FormatUint(m.TenantID, 10))
	req.Header.Set("X-CDR-Format", m.Format)
	if m.Codec != "" {
		req.Header.Set("X-CDR-Codec", m.Codec)
	}
	if m.SampleRate > 0 {
		req.Header.Set("X-CDR-Sample-Rate", strconv.Itoa(m.SampleRate))
	}
	if m.Channels > 0 {
		req.Header.Set("X-CDR-Channels", strconv.Itoa(m.Channels))
	}
	c.sign(req, path, m.SHA256) // last: the signature covers the metadata headers
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		c.setError(err.Error())
		return hooks.RecordingResult{}, tryAgain, 0, err
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	drain(resp.Body)
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
		var a recordingAnswer
		_ = json.Unmarshal(data, &a)
		if a.Bytes == 0 {
			a.Bytes = m.Bytes
		}
		return hooks.RecordingResult{URL: a.URL, ObjectKey: a.ObjectKey, Bytes: a.Bytes}, delivered, 0, nil
	case retryable(resp.StatusCode):
		msg := fmt.Sprintf("POST recording %q: HTTP %d: %s", m.CallID, resp.StatusCode, snippet(data))
		c.setError(msg)
		return hooks.RecordingResult{}, tryAgain, retryAfter(resp.Header), errors.New(msg)
	default:
		msg := fmt.Sprintf("POST recording %q: HTTP %d: %s", m.CallID, resp.StatusCode, snippet(data))
		c.setError(msg)
		c.cfg.Logger.Printf("cdrclient: %s (set aside in recordings/refused/)", msg)
		return hooks.RecordingResult{}, refusedWhole, 0, errors.New("cdrclient: " + msg)
	}
}

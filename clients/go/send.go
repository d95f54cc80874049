package cdrclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// batchAnswer is the 200 answer of POST /ingest/v1/events.
type batchAnswer struct {
	Accepted  int `json:"accepted"`
	Duplicate int `json:"duplicate"`
	Rejected  int `json:"rejected"`
	Results   []struct {
		Index   int    `json:"index"`
		EventID string `json:"event_id"`
		Status  string `json:"status"`
		Code    int    `json:"code"`
		Reason  string `json:"reason"`
	} `json:"results"`
}

type outcome int

const (
	delivered outcome = iota
	refusedWhole
	tryAgain
)

// sender posts outbox batches, oldest first, each until the server answers for it.
func (c *Client) sender() {
	defer c.wg.Done()
	for {
		u, body, n, ok := c.box.take()
		if !ok {
			return
		}
		sha := SHA256Hex(body)
		for attempt := 1; ; attempt++ {
			result, wait := c.postBatch(body, sha, n)
			if result == delivered {
				c.box.finish(u, false)
				break
			}
			if result == refusedWhole {
				c.refused.Add(uint64(n))
				c.box.finish(u, true)
				break
			}
			c.retries.Add(1)
			if !c.sleep(c.backoff(attempt, wait)) {
				c.box.release(u)
				return
			}
		}
	}
}

// postBatch is one attempt: what became of the batch, and the server's Retry-After.
func (c *Client) postBatch(body []byte, sha string, n int) (outcome, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.RequestTimeout)
	defer cancel()
	go func() { // Close stops an attempt in flight
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.eventsURL, bytes.NewReader(body))
	if err != nil {
		c.setError(err.Error())
		return refusedWhole, 0
	}
	req.Header.Set("Content-Type", "application/json")
	c.sign(req, c.eventsPath, sha)
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		c.setError(err.Error())
		return tryAgain, 0
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	drain(resp.Body)
	if err != nil {
		c.setError(err.Error())
		return tryAgain, 0
	}
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("POST %s: HTTP %d: %s", c.eventsPath, resp.StatusCode, snippet(data))
		c.setError(msg)
		if retryable(resp.StatusCode) {
			return tryAgain, retryAfter(resp.Header)
		}
		// The same body would be refused again (bad credentials, revoked gateway, too large...).
		c.cfg.Logger.Printf("cdrclient: %s: %d events set aside in outbox/refused/", msg, n)
		return refusedWhole, 0
	}
	var answer batchAnswer
	if err := json.Unmarshal(data, &answer); err != nil {
		c.setError("events answer: " + err.Error())
		return tryAgain, 0
	}
	c.posted.Add(uint64(n))
	c.accepted.Add(uint64(answer.Accepted))
	c.duplicate.Add(uint64(answer.Duplicate))
	c.rejected.Add(uint64(answer.Rejected))
	logged := 0
	for _, r := range answer.Results {
		if r.Status == "rejected" {
			if logged < 5 {
				c.cfg.Logger.Printf("cdrclient: event %s rejected (%d): %s", r.EventID, r.Code, r.Reason)
			}
			logged++
			c.setError("event " + r.EventID + " rejected: " + r.Reason)
		}
	}
	if logged > 5 {
		c.cfg.Logger.Printf("cdrclient: ... and %d more rejected events in that batch", logged-5)
	}
	return delivered, 0
}

// sign signs req v2, once every header it sends is set (the signature covers them).
func (c *Client) sign(req *http.Request, path, sha string) {
	SignRequest(req, c.cfg.KeyID, c.cfg.Secret, path, time.Now().Unix(), sha)
}

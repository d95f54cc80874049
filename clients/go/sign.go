package cdrclient

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Header names of a signed request (cdr/ingest/signing.py).
const (
	HeaderKey       = "X-CDR-Key"
	HeaderTimestamp = "X-CDR-Timestamp"
	HeaderSignature = "X-CDR-Signature"
	HeaderSHA256    = "X-CDR-Content-SHA256"
)

// Signature is the hex HMAC-SHA256, keyed by the gateway's secret, over
// "METHOD\nPATH\nTIMESTAMP\nhex SHA-256 of the body", PATH being the percent-decoded URL path
// without the query string: what cdr.ingest.signing.signature computes.
func Signature(secret, method, path string, timestamp int64, bodySHA256 string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strings.ToUpper(method) + "\n" + path + "\n" + strconv.FormatInt(timestamp, 10) + "\n" + strings.ToLower(bodySHA256)))
	return hex.EncodeToString(mac.Sum(nil))
}

// SHA256Hex is the hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

package cdrclient

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Header names of a signed request (cdr/ingest/signing.py).
const (
	HeaderKey           = "X-CDR-Key"
	HeaderTimestamp     = "X-CDR-Timestamp"
	HeaderSignature     = "X-CDR-Signature"
	HeaderSignedHeaders = "X-CDR-Signed-Headers"
	HeaderSHA256        = "X-CDR-Content-SHA256"
)

// V2 is the version marker before the hex of a v2 X-CDR-Signature; V2Algorithm is the first line
// of its canonical string.
const (
	V2          = "v2="
	V2Algorithm = "CDR-HMAC-SHA256-V2"
)

// SignedHeader is one header a v2 signature covers: its lowercase name and its value.
type SignedHeader struct {
	Name, Value string
}

// MustSign reports whether a v2 request that sends the header name must sign it: the server acts
// on Content-Type and on every X-CDR-* header but the signature's own four (cdr.ingest.signing.must_sign).
func MustSign(name string) bool {
	low := strings.ToLower(name)
	switch low {
	case "x-cdr-key", "x-cdr-timestamp", "x-cdr-signature", "x-cdr-signed-headers":
		return false
	}
	return low == "content-type" || strings.HasPrefix(low, "x-cdr-")
}

// SignatureV2 is the hex HMAC-SHA256, keyed by the gateway's secret, over
//
//	CDR-HMAC-SHA256-V2\nMETHOD\nPATH\nTIMESTAMP\nNAMES\nname:value\n...\nhex SHA-256 of the body
//
// NAMES being the signed headers' names joined by ";" and one "name:value" line per signed header
// (headers sorted by name, names lowercase, values without outer spaces and tabs), PATH the
// percent-decoded URL path without the query string: what cdr.ingest.signing.signature_v2 computes.
func SignatureV2(secret, method, path string, timestamp int64, headers []SignedHeader, bodySHA256 string) string {
	names := make([]string, len(headers))
	lines := []string{V2Algorithm, strings.ToUpper(method), path, strconv.FormatInt(timestamp, 10), ""}
	for i, h := range headers {
		names[i] = h.Name
		lines = append(lines, h.Name+":"+strings.Trim(h.Value, " \t"))
	}
	lines[4] = strings.Join(names, ";")
	lines = append(lines, strings.ToLower(bodySHA256))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(mac.Sum(nil))
}

// SignRequest signs req v2 (path: its percent-decoded URL path), once every other header is set:
// it sets X-CDR-Content-SHA256, then signs Content-Type and every X-CDR-* header req carries,
// and sets X-CDR-Key, X-CDR-Timestamp, X-CDR-Signed-Headers and X-CDR-Signature.
func SignRequest(req *http.Request, keyID, secret, path string, timestamp int64, bodySHA256 string) {
	req.Header.Set(HeaderSHA256, strings.ToLower(bodySHA256))
	var signed []SignedHeader
	for name, values := range req.Header {
		if MustSign(name) {
			// Several lines of one header reach the server joined by "," (gunicorn, wsgiref).
			signed = append(signed, SignedHeader{strings.ToLower(name), strings.Join(values, ",")})
		}
	}
	sort.Slice(signed, func(i, j int) bool { return signed[i].Name < signed[j].Name })
	names := make([]string, len(signed))
	for i, h := range signed {
		names[i] = h.Name
	}
	req.Header.Set(HeaderKey, keyID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(timestamp, 10))
	req.Header.Set(HeaderSignedHeaders, strings.Join(names, ";"))
	req.Header.Set(HeaderSignature, V2+SignatureV2(secret, req.Method, path, timestamp, signed, bodySHA256))
}

// Signature is the v1 signature: the hex HMAC-SHA256 over "METHOD\nPATH\nTIMESTAMP\nhex SHA-256
// of the body", which covers no header.
//
// Deprecated: the server accepts v1 only until its CDR_INGEST_SIGNATURE_V1_UNTIL; sign with
// SignRequest (v2), as the Client does.
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

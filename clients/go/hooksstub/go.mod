// A stand-in for github.com/LingByte/lingllm v1.4.2, holding only protocol/sip/hooks as its
// package doc describes it (no module proxy is reachable here). clients/go/go.mod replaces the
// real module with this directory; a replace is ignored when clients/go is someone's
// dependency, so gateways compile against the real package.
module github.com/LingByte/lingllm

go 1.19

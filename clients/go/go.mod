module github.com/cdr-voice/cdr/clients/go

go 1.19

require github.com/LingByte/lingllm v1.4.2

// This repository builds offline against a stand-in written from the package doc. A replace
// applies only when this module is the main module: a gateway that requires this module
// compiles against the real github.com/LingByte/lingllm v1.4.2.
replace github.com/LingByte/lingllm => ./hooksstub

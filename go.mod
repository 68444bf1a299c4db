module github.com/mosaikgo/mosaik

go 1.26.8

require (
	google.golang.org/protobuf v1.36.12
	lukechampine.com/blake3 v1.4.1
)

require github.com/klauspost/cpuid/v2 v2.0.9 // indirect

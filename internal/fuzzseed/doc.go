// Package fuzzseed keeps the seed corpora of mosaik's fuzz targets.
//
// Each fuzz target reads, besides its f.Add seeds, every file in
// testdata/fuzz/<target>/ of its package, written in the "go test fuzz v1"
// format. Those files are committed, and they come from code: a package's
// TestFuzzCorpus test lists the meaningful inputs of each target (valid
// encodings made by the real encoders, their truncations, oversized length
// prefixes and the like) and calls [Sync], which fails when a committed
// file is missing or differs. With MOSAIK_FUZZ_SEEDS=write in the
// environment, Sync writes the files instead:
//
//	MOSAIK_FUZZ_SEEDS=write go test -run TestFuzzCorpus ./discovery
//
// Sync leaves other files in those directories alone: they are crashers
// the fuzzer found and saved, kept as regression inputs once the decoder
// is fixed. docs/fuzzing.md lists the targets and how to run them.
package fuzzseed

// Package messages holds every protobuf message mosaik sends: on the wire
// between nodes and between actors inside a node.
//
// The .proto files in this folder are the source of truth; the *.pb.go files
// are generated from them and committed. Regenerate after editing a .proto
// file with
//
//	go generate ./messages/...
//
// which runs internal/protogen: protoc and protoc-gen-go in pure Go, pinned
// by go.mod, so a machine with Go needs nothing else. CI regenerates into a
// scratch folder and fails if the committed code differs.
//
// Field numbers are part of the wire format: never reuse or renumber one.
package messages

//go:generate bash generate.sh

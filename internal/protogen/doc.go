// Command protogen generates the Go code for mosaik's protobuf messages:
// it turns messages/*.proto into messages/*.pb.go without protoc.
//
// It does what `protoc --go_out=. --go_opt=paths=source_relative` does, in
// one Go program pinned by go.mod: github.com/bufbuild/protocompile parses
// and links the .proto files, and the code generator of protoc-gen-go
// (google.golang.org/protobuf's compiler/protogen and internal_gengo, at
// the module's google.golang.org/protobuf version) runs as a library on the
// request protoc would have sent it. So a machine with Go and nothing else
// can regenerate the code, and CI can check that the committed code is
// what the .proto files give:
//
//	go run ./internal/protogen                   # messages/*.proto -> messages/*.pb.go
//	go run ./internal/protogen -out /some/dir    # write there instead
//
// messages/generate.sh (and so `go generate ./messages/...`) runs it.
//
// The output is deterministic: the same .proto files give the same bytes
// on every run and machine. The header of each generated file names the
// protoc version as "(unknown)", since there is no protoc.
package main

package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/bufbuild/protocompile"
	gengo "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// generatedFile is one file of Go code, named relative to the output folder.
type generatedFile struct {
	name    string
	content []byte
}

// generate compiles every .proto file in protoDir and returns the Go code
// protoc-gen-go makes of them with paths=source_relative.
func generate(ctx context.Context, protoDir string) ([]generatedFile, error) {
	names, err := protoFiles(protoDir)
	if err != nil {
		return nil, err
	}
	req, err := compile(ctx, protoDir, names)
	if err != nil {
		return nil, err
	}
	return runGengo(req)
}

// protoFiles lists the .proto files in dir, sorted, as paths relative to it:
// the names they import each other by.
func protoFiles(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.proto"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no .proto files in %s", dir)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	slices.Sort(names)
	return names, nil
}

// compile parses and links the named files and builds the request protoc
// would send its plugin: every file and its imports, dependencies first,
// with source info (the comments gengo copies into the code).
func compile(ctx context.Context, protoDir string, names []string) (*pluginpb.CodeGeneratorRequest, error) {
	compiler := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			ImportPaths: []string{protoDir},
		}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	linked, err := compiler.Compile(ctx, names...)
	if err != nil {
		return nil, err
	}

	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: names,
		Parameter:      proto.String("paths=source_relative"),
		// No protoc ran: the header says "protoc (unknown)" on every machine.
		CompilerVersion: nil,
	}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := range imports.Len() {
			add(imports.Get(i).FileDescriptor)
		}
		req.ProtoFile = append(req.ProtoFile, fileProto(fd))
	}
	for _, fd := range linked {
		add(fd)
	}
	return req, nil
}

// fileProto returns the descriptor proto of a file: as compiled, with its
// source info, for a file protocompile parsed, or rebuilt from the
// descriptor for a standard import it took from the Go runtime.
func fileProto(fd protoreflect.FileDescriptor) *descriptorpb.FileDescriptorProto {
	if parsed, ok := fd.(interface {
		FileDescriptorProto() *descriptorpb.FileDescriptorProto
	}); ok {
		return parsed.FileDescriptorProto()
	}
	return protodesc.ToFileDescriptorProto(fd)
}

// runGengo runs protoc-gen-go's generator on req, as its main function does.
func runGengo(req *pluginpb.CodeGeneratorRequest) ([]generatedFile, error) {
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		return nil, err
	}
	for _, f := range gen.Files {
		if f.Generate {
			gengo.GenerateFile(gen, f)
		}
	}
	resp := gen.Response()
	if resp.Error != nil {
		return nil, errors.New(resp.GetError())
	}
	files := make([]generatedFile, len(resp.File))
	for i, f := range resp.File {
		files[i] = generatedFile{name: f.GetName(), content: []byte(f.GetContent())}
	}
	return files, nil
}

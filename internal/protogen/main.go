package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	protoDir := flag.String("proto", "messages", "folder of the .proto files; every *.proto in it is compiled")
	out := flag.String("out", "", "folder the .pb.go files are written to (default: the -proto folder)")
	flag.Parse()
	if *out == "" {
		*out = *protoDir
	}
	if err := run(context.Background(), *protoDir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "protogen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, protoDir, out string) error {
	files, err := generate(ctx, protoDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(out, f.name), f.content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

#!/usr/bin/env bash
# Regenerates the Go code for every .proto file in this folder.
# Installs what a fresh machine lacks: protoc from Debian's protobuf-compiler
# and protoc-gen-go at the version pinned below (it must match the
# google.golang.org/protobuf version in go.mod).
#
#   go generate ./messages/...      (or: bash messages/generate.sh)
#   OUT=/some/dir bash messages/generate.sh   writes there instead (CI's drift check)
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12

here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here}

if ! command -v protoc >/dev/null 2>&1; then
  echo "generate.sh: installing protobuf-compiler" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq >/dev/null
  $sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
fi

gobin=$(go env GOPATH)/bin
plugin=$gobin/protoc-gen-go
if ! [ -x "$plugin" ] || ! "$plugin" --version 2>/dev/null | grep -q "$PROTOC_GEN_GO_VERSION"; then
  echo "generate.sh: installing protoc-gen-go $PROTOC_GEN_GO_VERSION" >&2
  GOBIN=$gobin go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
fi

mkdir -p "$out"
cd "$here"
protoc --plugin=protoc-gen-go="$plugin" \
  --go_out="$out" --go_opt=paths=source_relative \
  -I . ./*.proto

#!/usr/bin/env bash
# Builds the mosaik image (mosaik:dev) from a static binary of the CLI:
# see deploy/Dockerfile and docs/operations.md ("A cluster in containers").
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p deploy/bin
CGO_ENABLED=0 go build -trimpath -o deploy/bin/mosaik ./cmd/mosaik
docker build -q -t "${MOSAIK_IMAGE:-mosaik:dev}" deploy >/dev/null
echo "${MOSAIK_IMAGE:-mosaik:dev}"

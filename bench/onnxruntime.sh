#!/usr/bin/env bash
# Fetches ONNX Runtime's shared library from PyPI's onnxruntime wheel (MIT) into DIR as
# DIR/libonnxruntime.so, for the optional `ort` detector backend (loaded at run time through
# ORT_DYLIB_PATH; the build never downloads it). Used by .ci/run and bench/detectors.sh.
#
#   bench/onnxruntime.sh DIR
set -euo pipefail
DIR=$1
VERSION=1.32.0
[ -e "$DIR/libonnxruntime.so" ] && exit 0
mkdir -p "$DIR/wheels"
pip download --quiet --no-deps --only-binary=:all: --dest "$DIR/wheels" "onnxruntime==$VERSION"
python3 -c 'import glob, sys, zipfile
wheel = zipfile.ZipFile(glob.glob(sys.argv[1] + "/wheels/onnxruntime-" + sys.argv[2] + "-*.whl")[0])
name = next(n for n in wheel.namelist() if "/capi/libonnxruntime.so" in n)
open(sys.argv[1] + "/libonnxruntime.so", "wb").write(wheel.read(name))' "$DIR" "$VERSION"

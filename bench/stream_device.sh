#!/usr/bin/env bash
# bench/stream_device.sh - the streaming device tier's figures
# (docs/PERFORMANCE.md, "Streaming device tier (H100)", "Session 3"):
# a disk probe and, in the same run (the disk bound is only meaningful
# with a probe of the same machine), synth xl at 8 GiB VRAM / 16 GiB host
# (NVMe) with the plan's bytes and disk bound, synth xl / medium and vm
# 2^20 streamed with the host holding everything, and their resident
# baselines. Needs a GPU with the card's memory for the baselines, ~64 GiB
# of free disk in DIR and ~100 GiB of RAM. Not part of `make check`.
#   bench/stream_device.sh [-b SPILLWAY] [-d DIR] [-o OUT]
set -uo pipefail
bin=./spillway dir=${TMPDIR:-/tmp} out=$(mktemp -d)
while getopts b:d:o: o; do
  case $o in
    b) bin=$OPTARG ;; d) dir=$OPTARG ;; o) out=$OPTARG ;;
    *) echo "usage: $0 [-b SPILLWAY] [-d DIR] [-o OUT]" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
"$bin" probe --spill-dir "$dir" --size 4G --save "$out/probe.txt" >/dev/null || exit 1
grep -E '^(write|read)_gbs' "$out/probe.txt"
export SPW_PROBE_FILE=$out/probe.txt SPW_LOG=info
prove() { # name, args...
  local name=$1; shift
  echo "== $name: spillway prove $*"
  "$bin" prove "$@" --spill-dir "$dir" --stats "$out/$name.json" -o "$out/$name.proof" 2>&1 |
    grep -E 'stream prover|^trace setup|^backend|host->device|rror'
  md5sum "$out/$name.proof" | cut -d' ' -f1
}
xl="--workload synth --preset xl --blowup 4"
# the plan of the streamed run (the device tier's 4 MiB tiles)
SPW_TILE_BYTES=4194304 "$bin" plan $xl --host-budget 16G --mode spilled --spill-dir "$dir" |
  grep -E 'bytes per link|tiers:'
prove xl-8g-16g $xl --backend cuda --vram-budget 8G --host-budget 16G
"$bin" verify --workload synth "$out/xl-8g-16g.proof" | tail -1
prove xl-resident $xl --backend cuda --vram-budget 76G --host-budget 100G
prove xl-8g-all $xl --backend cuda --vram-budget 8G --host-budget 100G
med="--workload synth --preset medium --blowup 4"
prove medium-resident $med --backend cuda
prove medium-8g-all $med --backend cuda --vram-budget 8G --host-budget 40G
prove vm20-resident --workload vm --log-rows 20 --backend cuda
prove vm20-2g --workload vm --log-rows 20 --backend cuda --vram-budget 2G --mode spilled
rm -f "$out"/*.proof
echo "stats and probe in $out"

#!/usr/bin/env bash
# bench/stream_device.sh - the streaming device tier's figures
# (docs/PERFORMANCE.md, "Streaming device tier (H100)", "Session 3",
# "Session 5"): a disk probe and, in the same run (the disk bound is only
# meaningful with a probe of the same machine), synth xl at 8 GiB VRAM /
# 16 GiB host with the device plan's figures, synth xl / medium and vm
# 2^20 streamed with the host holding everything, and their resident
# baselines; then the memory-cost target: PAIRS back-to-back pairs of synth
# xl at 8 GiB against the whole card (after a warm-up run), each pair's
# ratio of the prover times and of the commands' wall times, and their
# medians. Needs a GPU with the card's memory for the baselines, ~64 GiB
# of free disk in DIR and ~100 GiB of RAM. Not part of `make check`.
#   bench/stream_device.sh [-b SPILLWAY] [-d DIR] [-o OUT] [-p PAIRS]
set -uo pipefail
bin=./spillway dir=${TMPDIR:-/tmp} out=$(mktemp -d) pairs=5
while getopts b:d:o:p: o; do
  case $o in
    b) bin=$OPTARG ;; d) dir=$OPTARG ;; o) out=$OPTARG ;; p) pairs=$OPTARG ;;
    *) echo "usage: $0 [-b SPILLWAY] [-d DIR] [-o OUT] [-p PAIRS]" >&2; exit 2 ;;
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
# the device tier's plan of the scale run (recompute choice, store, links)
"$bin" plan $xl --backend cuda --vram-budget 8G --host-budget 16G --spill-dir "$dir" |
  grep -E '^device|^host tier|^store:|bytes per link'
prove xl-8g-16g $xl --backend cuda --vram-budget 8G --host-budget 16G
"$bin" verify --workload synth "$out/xl-8g-16g.proof" | tail -1
prove xl-resident $xl --backend cuda --vram-budget 76G --host-budget 100G
prove xl-8g-all $xl --backend cuda --vram-budget 8G --host-budget 100G
med="--workload synth --preset medium --blowup 4"
prove medium-resident $med --backend cuda
prove medium-8g-all $med --backend cuda --vram-budget 8G --host-budget 40G
prove vm20-resident --workload vm --log-rows 20 --backend cuda
prove vm20-2g --workload vm --log-rows 20 --backend cuda --vram-budget 2G --mode spilled
# memory cost: "prover S" of the trace setup line and the wall seconds of
# /usr/bin/time, 8 GiB then the whole card, PAIRS times
timed() { # args... -> "prover wall"
  local log=$out/timed.log
  /usr/bin/time -f 'wall %e' "$bin" prove "$@" --spill-dir "$dir" -o "$out/t.proof" >"$log" 2>&1
  awk '/^trace setup/ { for (i = 1; i < NF; i++) if ($i == "prover") p = $(i + 1) }
       /^wall/ { w = $2 } END { print p + 0, w + 0 }' "$log"
}
echo "== memory cost: $pairs pairs of synth xl, --vram-budget 8G vs 76G, --host-budget 100G"
timed $xl --backend cuda --vram-budget 8G --host-budget 100G >/dev/null # warm-up
for i in $(seq "$pairs"); do
  read -r p8 w8 < <(timed $xl --backend cuda --vram-budget 8G --host-budget 100G)
  read -r pw ww < <(timed $xl --backend cuda --vram-budget 76G --host-budget 100G)
  echo "$p8 $w8 $pw $ww" | awk '{ printf "pair: 8G %.3f / %.2f s, whole card %.3f / %.2f s, ratio %.2f / %.2f\n", $1, $2, $3, $4, $1 / $3, $2 / $4 }'
done | tee "$out/pairs.txt"
median() { sort -n | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); print NR % 2 ? v[m] : (v[m] + v[m + 1]) / 2 }'; }
echo "median ratio: prover $(sed 's/.*ratio \([0-9.]*\) .*/\1/' "$out/pairs.txt" | median)," \
  "wall $(sed 's/.* \/ \([0-9.]*\)$/\1/' "$out/pairs.txt" | median) (of $pairs pairs)"
rm -f "$out"/*.proof
echo "stats and probe in $out"

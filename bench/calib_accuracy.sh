#!/usr/bin/env bash
# bench/calib_accuracy.sh - accuracy of the planner's compute model
# (docs/OUT_OF_CORE.md, "Per-round calibration"): proves synth small, vm
# 2^16, vm 2^18 and fib 2^20 in memory (--backend cpu, all threads) and one
# streamed CPU run, with --stats, and prints the plan's predicted seconds
# (the stats JSON's predicted_seconds, priced from the probe file) against
# the measured ones per round and in total, with model/measured.
# Slow (tens of seconds): not part of `make check`.
#   bench/calib_accuracy.sh [-b SPILLWAY] [-p PROBE_FILE] [-o DIR] [-s "STREAMED ARGS"]
# Without -p it runs `spillway probe --save` first (into DIR).
set -euo pipefail
bin=./spillway probe= out=$(mktemp -d) streamed="--workload vm --log-rows 18 --host-budget 256M"
while getopts b:p:o:s: o; do
  case $o in
    b) bin=$OPTARG ;; p) probe=$OPTARG ;; o) out=$OPTARG ;; s) streamed=$OPTARG ;;
    *) echo "usage: $0 [-b SPILLWAY] [-p PROBE] [-o DIR] [-s STREAMED_ARGS]" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
if [ -z "$probe" ]; then
  probe=$out/probe.txt
  "$bin" probe --spill-dir "${TMPDIR:-/tmp}" --size 256M --save "$probe" >/dev/null
fi
export SPW_PROBE_FILE=$probe
runs=(
  "synth_small|--workload synth --preset small --mode resident"
  "vm16|--workload vm --log-rows 16 --mode resident"
  "vm18|--workload vm --log-rows 18 --mode resident"
  "fib20|--workload fib --log-rows 20 --mode resident"
  "streamed|$streamed --mode spilled --spill-dir ${TMPDIR:-/tmp}"
)
for r in "${runs[@]}"; do
  name=${r%%|*} args=${r#*|}
  # shellcheck disable=SC2086
  "$bin" prove $args --backend cpu -q -o "$out/$name.proof" --stats "$out/$name.json"
  rm -f "$out/$name.proof"
done
python3 - "$out" "$probe" <<'EOF'
import json, sys
out, probe = sys.argv[1], sys.argv[2]
print(f"probe file {probe}")
rows = []
for name in ["synth_small", "vm16", "vm18", "fib20", "streamed"]:
    d = json.load(open(f"{out}/{name}.json"))
    print(f"\n{name} ({d['mode']}, {d['threads']} threads)")
    print(f"  {'round':22s} {'measured':>9s} {'predicted':>9s} {'model/meas':>10s}")
    for r in d["rounds"]:
        p = r.get("predicted_seconds")
        ratio = f"{p / r['seconds']:.2f}" if p is not None and r["seconds"] > 0.005 else "-"
        ps = f"{p:.3f}" if p is not None else "-"
        print(f"  {r['name']:22s} {r['seconds']:9.3f} {ps:>9s} {ratio:>10s}")
    m, p = d["total_seconds"], d["predicted_total_seconds"]
    print(f"  {'total':22s} {m:9.3f} {p:9.3f} {p / m:10.2f}")
    rows.append((name, m, p))
print("\nsummary: workload measured predicted model/measured")
for name, m, p in rows:
    print(f"  {name:12s} {m:8.3f} s {p:8.3f} s {p / m:6.2f}")
EOF

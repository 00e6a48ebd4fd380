#!/bin/sh
# test_bench.sh - `spillway bench --matrix tiny` and `spillway prove --stats`
# write documents that tests/check_stats_json.py accepts against
# docs/stats-schema.json; the checker rejects broken documents; the bench
# leaves results.csv and, when gnuplot is installed, at least 4 PNG plots;
# --vram-budgets multiplies only the cuda points; with a GPU, a --backend
# cuda --stats document has its PCIe links and device tier, a streamed cuda
# point its vram tier and links, and the progress line is drawn under the
# CUDA backend too.
# Skips (77) without python3 or the spillway binary.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${SPW_BIN:-./spillway}
command -v python3 >/dev/null 2>&1 || { echo "no python3: skipping"; exit 77; }
[ -x "$BIN" ] || { echo "no spillway binary at $BIN: skipping"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/spw_bench_test.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
CHECK="python3 $SRC/tests/check_stats_json.py $SRC/docs/stats-schema.json"
fail() { echo "FAIL: $*"; exit 1; }

"$BIN" bench --matrix tiny --repeat 2 --threads 2 --out "$T/b" >"$T/b.log" 2>&1 || { cat "$T/b.log"; fail "bench exited $?"; }
grep -q "gnuplot failed" "$T/b.log" && { cat "$T/b.log"; fail "gnuplot failed"; }
[ -s "$T/b/results.json" ] || fail "no results.json"
[ -s "$T/b/results.csv" ] || fail "no results.csv"
$CHECK bench "$T/b/results.json" || fail "results.json does not match the schema"
# one CSV line per JSON point
np=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["points"]))' "$T/b/results.json")
nl=$(($(wc -l < "$T/b/results.csv") - 1))
[ "$np" = "$nl" ] || fail "results.csv has $nl lines for $np points"
if command -v gnuplot >/dev/null 2>&1; then
  n=$(ls "$T/b"/*.png 2>/dev/null | wc -l)
  [ "$n" -ge 4 ] || fail "only $n PNG plots"
  for f in "$T/b"/*.png; do
    head -c 8 "$f" | od -An -tx1 | grep -q "89 50 4e 47 0d 0a 1a 0a" || fail "$f is not a PNG"
  done
fi

# --vram-budgets multiplies the cuda points only: cpu points ignore it
"$BIN" bench --matrix tiny --backend cpu --repeat 1 --vram-budgets 0,512M -q --out "$T/v" >"$T/v.log" 2>&1 || { cat "$T/v.log"; fail "bench --vram-budgets exited $?"; }
$CHECK bench "$T/v/results.json" || fail "results.json (--vram-budgets, cpu) does not match the schema"
python3 - "$T/v/results.json" "$T/b/results.json" <<'PY' || fail "cpu points were multiplied by --vram-budgets"
import json, sys
v = json.load(open(sys.argv[1]))["points"]; b = json.load(open(sys.argv[2]))["points"]
cpu = [p["id"] for p in b if p["backend"] == "cpu"]
assert [p["id"] for p in v] == cpu, ([p["id"] for p in v], cpu)
assert all(p["vram_budget_bytes"] is None for p in v), v
PY
head -1 "$T/v/results.csv" | grep -q ",host_budget_bytes,vram_budget_bytes," || fail "results.csv has no vram_budget_bytes column"

# without gnuplot: JSON and CSV still written, plots skipped with a message
PATH=/nonexistent "$BIN" bench --matrix tiny --repeat 1 --out "$T/n" >"$T/n.log" 2>&1 || { cat "$T/n.log"; fail "bench without gnuplot exited $?"; }
[ -s "$T/n/results.json" ] && [ -s "$T/n/results.csv" ] || fail "no results without gnuplot"
grep -q "plots skipped" "$T/n.log" || fail "no message about skipped plots"
ls "$T/n"/*.png >/dev/null 2>&1 && fail "PNGs without gnuplot?"
$CHECK bench "$T/n/results.json" || fail "results.json (no gnuplot) does not match the schema"

"$BIN" prove --workload fib --log-rows 10 -q --stats "$T/s.json" -o "$T/p" || fail "prove --stats"
$CHECK stats "$T/s.json" || fail "prove --stats output does not match the schema"
"$BIN" verify --workload fib "$T/p" >/dev/null || fail "the proof made with --stats does not verify"

# the checker must reject broken documents
python3 - "$T/s.json" "$T/b/results.json" "$T" <<'PY' || fail "cannot write broken documents"
import json, sys
s = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2])); d = sys.argv[3]
def dump(name, doc): json.dump(doc, open(d + "/" + name, "w"))
x = dict(s); del x["links"]; dump("bad1.json", x)
x = json.loads(json.dumps(s)); x["rounds"][1]["seconds"] += 100; dump("bad2.json", x)
x = json.loads(json.dumps(s)); x["tables"][0]["rows"] += 1; dump("bad3.json", x)
x = json.loads(json.dumps(s)); x["blowup"] = 3; dump("bad4.json", x)
y = json.loads(json.dumps(b)); y["points"][0]["median_seconds"] = y["points"][0]["max_seconds"] + 1; dump("bad5.json", y)
y = json.loads(json.dumps(b)); y["points"][0]["extra"] = 1; dump("bad6.json", y)
y = json.loads(json.dumps(b)); y["points"][0]["vram_budget_bytes"] = 1 << 29; dump("bad7.json", y)
y = json.loads(json.dumps(b)); del y["points"][0]["vram_budget_bytes"]; dump("bad8.json", y)
PY
for k in 1 2 3 4; do $CHECK stats "$T/bad$k.json" >/dev/null && fail "checker accepted bad$k.json"; done
for k in 5 6 7 8; do $CHECK bench "$T/bad$k.json" >/dev/null && fail "checker accepted bad$k.json"; done

# with a GPU: the CUDA backend's --stats document (link traffic, device
# tier, per-table times that add up) and its progress line
GPU=0
"$BIN" --version 2>/dev/null | grep -q "no usable GPU\|not compiled" || GPU=1
if [ "$GPU" = 1 ]; then
  "$BIN" prove --backend cuda --workload vm --log-rows 14 -q --stats "$T/g.json" -o "$T/pg" || fail "prove --backend cuda --stats"
  $CHECK stats "$T/g.json" || fail "the cuda --stats output does not match the schema"
  python3 - "$T/g.json" <<'PY' || fail "the cuda --stats output lacks its links or device tier"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["backend"] == "cuda", d["backend"]
L = {l["name"]: l for l in d["links"]}
for n in ("host->device", "device->host"):
    assert L[n]["bytes"] > 0 and L[n]["achieved_gbps"] is not None and L[n]["achieved_gbps"] > 0, L
assert "host memory" not in L
T = {t["name"]: t for t in d["tiers"]}
assert 0 < T["device"]["peak_bytes"] <= T["device"]["budget_bytes"], T
PY
  "$BIN" verify --workload vm "$T/pg" >/dev/null || fail "the cuda proof made with --stats does not verify"
  # cuda points under two VRAM budgets; the spilled point streams through
  # the device: tier vram at the point's budget, host<->device bytes counted
  "$BIN" bench --matrix tiny --backend cuda --repeat 1 --vram-budgets 0,512M -q --out "$T/gv" >"$T/gv.log" 2>&1 || { cat "$T/gv.log"; fail "bench --backend cuda --vram-budgets exited $?"; }
  $CHECK bench "$T/gv/results.json" || fail "results.json (cuda, --vram-budgets) does not match the schema"
  python3 - "$T/gv/results.json" <<'PY' || fail "cuda --vram-budgets points"
import json, sys
P = json.load(open(sys.argv[1]))["points"]
assert len(P) == 8 and all(p["ok"] and p["backend"] == "cuda" for p in P), [p["id"] for p in P]
assert sorted(set(p["vram_budget_bytes"] for p in P), key=str) == [512 << 20, None], P
for p in P:
    if p["mode"] != "spilled":
        continue
    s = p["stats"]
    T = {t["name"]: t for t in s["tiers"]}
    L = {l["name"]: l for l in s["links"]}
    assert s["backend"] == "cuda" and s["mode"] == "spilled", (p["id"], s["backend"], s["mode"])
    assert "vram" in T and 0 < T["vram"]["peak_bytes"] <= T["vram"]["budget_bytes"], (p["id"], T)
    assert L["host->device"]["bytes"] > 0 and L["device->host"]["bytes"] > 0, (p["id"], L)
PY
  grep -q "vram" "$T/gv/memory.dat" || fail "memory.dat has no vram tier"
  grep -q "host->device" "$T/gv/links.dat" || fail "links.dat has no host->device link"
fi

# the live progress line, drawn only on a terminal (script(1) gives one),
# under the CPU backend and, with a GPU, under the CUDA backend
if command -v script >/dev/null 2>&1; then
  if [ "$GPU" = 1 ]; then
    script -qc "$BIN prove --backend cuda --workload vm --log-rows 14 -o $T/p1" /dev/null >"$T/tty" 2>&1 || fail "prove --backend cuda under script"
    for w in ETA "main commit" composition DEEP; do
      grep -q "$w" "$T/tty" || { cat "$T/tty"; fail "no '$w' in the cuda progress line"; }
    done
  fi
  script -qc "$BIN prove --backend cpu --workload fib --log-rows 12 -o $T/p2" /dev/null >"$T/tty" 2>&1 || fail "prove under script"
  grep -q "ETA" "$T/tty" || { cat "$T/tty"; fail "no progress line on a terminal"; }
  grep -q "main commit" "$T/tty" || fail "the progress line does not name the round"
  script -qc "$BIN prove --backend cpu -q --workload fib --log-rows 12 -o $T/p3" /dev/null >"$T/tty" 2>&1 || fail "prove -q under script"
  [ ! -s "$T/tty" ] || { cat "$T/tty"; fail "prove -q printed something"; }
fi
"$BIN" prove --workload fib --log-rows 12 -o "$T/p4" 2>"$T/e" >/dev/null || fail "prove"
grep -q "ETA" "$T/e" && fail "progress line drawn although stderr is not a terminal"

# -v shows info messages; a budget below the minimum says what to do
"$BIN" prove -v --workload fib --log-rows 12 --mode spilled --host-budget 80M -o "$T/p5" 2>"$T/e" >/dev/null || { cat "$T/e"; fail "spilled prove"; }
grep -q "info" "$T/e" || { cat "$T/e"; fail "-v printed no info message"; }
"$BIN" prove -q --workload vm --log-rows 14 --mode spilled --host-budget 1M -o "$T/p6" 2>"$T/e" && fail "a 1 MiB budget was accepted"
grep -q "host-budget" "$T/e" || { cat "$T/e"; fail "the budget error does not say what to do"; }

# bad options say what to do
"$BIN" bench --matrix nope --out "$T/x" 2>"$T/e" && fail "bench accepted --matrix nope"
grep -q "tiny, quick or full" "$T/e" || fail "no hint for a bad --matrix"
"$BIN" bench --vram-budgets 1X --out "$T/x" 2>"$T/e" && fail "bench accepted --vram-budgets 1X"
grep -q "sizes like" "$T/e" || fail "no hint for a bad --vram-budgets"
echo "PASS: bench tiny matrix, prove --stats, schema checks"
exit 0

#!/bin/sh
# prover_perf.sh - the CPU prover performance matrix of docs/PERFORMANCE.md
# ("## CPU prover"). Run from the build directory: sh tests/prover_perf.sh
B=${SPW:-./spillway}
T=${THREADS:-2}
O=${OUT:-/tmp}
echo "== vm by rows (blowup 4, $T threads)"
for n in 14 15 16 17 18; do
  /usr/bin/time -f "wall %e s, user %U s, max RSS %M KB" $B prove --workload vm --log-rows $n --threads $T -o $O/vm$n.proof 2>&1 | grep -E "prover|proof:|wall"
  $B verify --workload vm $O/vm$n.proof
done
echo "== proof size by blowup"
for b in 2 4 8; do for n in 14 16; do
  $B prove --workload vm --log-rows $n --blowup $b --threads $T -o $O/vmb.proof | grep -E "prover|proof:"
done; done
for b in 2 4 8; do for n in 10 14 18; do
  $B prove --workload fib --log-rows $n --blowup $b --threads $T -o $O/fib.proof | grep -E "proof:"
done; done

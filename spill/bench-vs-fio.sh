#!/bin/sh
# bench-vs-fio.sh - sequential write/read of the spill engine (`spillway
# probe`) against fio with the same request size, queue depth, O_DIRECT
# and io_uring, on the same directory, alternating REPS times; prints the
# median of each (GB/s = 1e9 B/s). Deletes what it creates.
# usage: spill/bench-vs-fio.sh [DIR] [SIZE=1G] [BS=4M] [QD=8] [REPS=5] [ENGINE=uring]
set -eu
dir=${1:-/var/tmp}; size=${2:-1G}; bs=${3:-4M}; qd=${4:-8}; reps=${5:-5}; eng=${6:-uring}
spw=${SPW_BIN:-./spillway}
work=$(mktemp -d "$dir/spw-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
fio_gbs() { # rw -> GB/s
  fio --name=spw --directory="$work" --size="$size" --bs="$bs" --iodepth="$qd" --direct=1 \
      --ioengine=io_uring --rw="$1" --output-format=json 2>/dev/null |
  python3 -c "import json,sys; j=json.load(sys.stdin)['jobs'][0]; print('%.3f' % (j['$2']['bw_bytes']/1e9))"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$work/.fw"; : > "$work/.fr"; : > "$work/.sw"; : > "$work/.sr"
i=0
while [ $i -lt "$reps" ]; do
  fio_gbs write write >> "$work/.fw"
  fio_gbs read read >> "$work/.fr"
  rm -f "$work"/spw.*
  out=$("$spw" probe --spill-dir "$work" --size "$size" --request-size "$bs" --queue-depth "$qd" --engine "$eng")
  echo "$out" | sed -n 's/^write_gbs=//p' >> "$work/.sw"
  echo "$out" | sed -n 's/^read_gbs=//p' >> "$work/.sr"
  i=$((i + 1))
done
echo "fio    write $(median < "$work/.fw") GB/s  read $(median < "$work/.fr") GB/s  (all: $(tr '\n' ' ' < "$work/.fw")/ $(tr '\n' ' ' < "$work/.fr"))"
echo "engine write $(median < "$work/.sw") GB/s  read $(median < "$work/.sr") GB/s  (all: $(tr '\n' ' ' < "$work/.sw")/ $(tr '\n' ' ' < "$work/.sr"))"

#!/usr/bin/env bash
# bench/archive.sh - how fast `mfb archive create` turns a MariaDB data
# directory into a ZIP, next to the tools people would use instead.
#
# Data: a sysbench datadir (8 tables x 1,000,000 rows, about 2.4 GB; set
# BENCH_TABLES / BENCH_ROWS to change), made once by the throwaway-MariaDB
# harness and cached in bench/data/ (git-ignored), the server stopped, as in
# a cold backup. Every tool reads the same files in the same run.
#
# Method: the page cache is warmed once with a full read (dropping caches
# needs privileges and a quiet machine we may not have), so every tool reads
# from memory and the figures compare compression, not the disk. Wall time
# and peak RSS come from GNU time (%e, %M; for a pipeline the largest
# process), and so does CPU time (%U + %S, all processes): on a machine that
# other work shares, wall time swells but CPU time mostly does not, so the
# CPU column tells whether a slow run was the tool or the neighbours.
# BENCH_RUNS=N repeats each tool and keeps its fastest run.
# Outputs go to bench/out/archive/ and are deleted after they are measured.
#
# Goals (docs/archive.md, performance), for mfb at its default level on this machine:
#   >= 12x the throughput of `zip -r` at its default level
#   output <= 1.03x the size of zip's
#   >= 1.7x the throughput of ISA-L `igzip -3` on one thread
#   peak RSS < 64 MiB
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
MFB=${MFB:-$ROOT/build/mfb}
TABLES=${BENCH_TABLES:-8}
ROWS=${BENCH_ROWS:-1000000}
RUNS=${BENCH_RUNS:-1}
DATA=$ROOT/bench/data/sysbench-${TABLES}x${ROWS}
OUT=$ROOT/bench/out/archive
export MFB_TEST_TMP=${MFB_TEST_TMP:-$ROOT/bench/out/tmp}

for tool in "$MFB" zip pigz igzip tar /usr/bin/time sysbench mariadbd; do
  command -v "$tool" >/dev/null || { echo "bench/archive.sh: $tool is missing (run make deps)" >&2; exit 1; }
done

# -- the data ------------------------------------------------------------------
bench_sysbench_data "$DATA" "$TABLES" "$ROWS"
rm -rf "$OUT"
mkdir -p "$OUT"
trap 'rm -rf "$OUT"' EXIT

input_bytes=$(du -sb --apparent-size "$DATA" | cut -f1)
input_files=$(find "$DATA" -type f | wc -l)
echo "data:    $DATA"
echo "         $((input_bytes / 1000000)) MB in $input_files files"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"

# -- measuring -------------------------------------------------------------------
declare -a LABELS SECS CPUS RSS SIZES

# measure LABEL OUTPUT COMMAND: runs COMMAND (a bash string) RUNS times,
# records the fastest wall time, that run's peak RSS, and OUTPUT's size.
measure() {
  local label=$1 output=$2 cmd=$3 best="" best_cpu=0 best_rss=0 size=0 run secs usr sys rss
  for ((run = 0; run < RUNS; run++)); do
    [ "$output" = /dev/null ] || rm -f "$output" # never rm /dev/null (as root it is recreated as a plain file)
    /usr/bin/time -f '%e %U %S %M' -o "$OUT/time" bash -c "set -o pipefail; $cmd"
    read -r secs usr sys rss <"$OUT/time"
    if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$secs
      best_cpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
      best_rss=$rss
    fi
    [ "$output" = /dev/null ] || size=$(stat -c %s "$output")
  done
  LABELS+=("$label")
  SECS+=("$best")
  CPUS+=("$best_cpu")
  RSS+=("$best_rss")
  SIZES+=("$size")
  printf '  %-34s %7.2f s  (cpu %.2f s)\n' "$label" "$best" "$best_cpu" >&2
}

echo
echo "warming the page cache (tar cf - > /dev/null) ..." >&2
tar cf - -C "$DATA" . >/dev/null
echo "running (each tool $RUNS time(s)) ..." >&2
measure "read: tar cf - > /dev/null" /dev/null "tar cf - -C '$DATA' . >/dev/null"
measure "mfb archive create (default)" "$OUT/mfb.zip" "'$MFB' archive create --log-level warn '$DATA' '$OUT/mfb.zip' >/dev/null"
"$MFB" archive test "$OUT/mfb.zip" >/dev/null || { echo "mfb archive test failed on its own output" >&2; exit 1; }
mfb_default_size=$(stat -c %s "$OUT/mfb.zip")
rm -f "$OUT/mfb.zip"
measure "mfb archive create --level 1" "$OUT/mfb1.zip" "'$MFB' archive create --log-level warn '$DATA' '$OUT/mfb1.zip' --level 1 >/dev/null"
rm -f "$OUT/mfb1.zip"
measure "zip -r (default, -6)" "$OUT/zip.zip" "cd '$DATA' && zip -q -r '$OUT/zip.zip' ."
rm -f "$OUT/zip.zip"
measure "zip -r -1" "$OUT/zip1.zip" "cd '$DATA' && zip -q -r -1 '$OUT/zip1.zip' ."
rm -f "$OUT/zip1.zip"
measure "tar | pigz -1 ($(nproc) threads)" "$OUT/pigz.tgz" "tar cf - -C '$DATA' . | pigz -1 > '$OUT/pigz.tgz'"
rm -f "$OUT/pigz.tgz"
measure "tar | igzip -3 -T 1 (1 thread)" "$OUT/igzip.tgz" "tar cf - -C '$DATA' . | igzip -3 -T 1 -c > '$OUT/igzip.tgz'"
rm -f "$OUT/igzip.tgz"

# -- the table -------------------------------------------------------------------
zip_i=3 igzip_i=6 mfb_i=1
echo
printf '%-32s %8s %7s %8s %7s %8s %8s %8s\n' tool seconds "cpu s" "MB/s" "out/in" "RSS MiB" "speed vs" "size vs"
printf '%-32s %8s %7s %8s %7s %8s %8s %8s\n' "" wall "" "of input" "" peak "zip -r" "zip -r"
for i in "${!LABELS[@]}"; do
  awk -v l="${LABELS[$i]}" -v s="${SECS[$i]}" -v c="${CPUS[$i]}" -v r="${RSS[$i]}" -v o="${SIZES[$i]}" \
      -v in_="$input_bytes" -v zs="${SECS[$zip_i]}" -v zo="${SIZES[$zip_i]}" 'BEGIN {
    s = (s < 0.01) ? 0.01 : s
    if (o > 0) printf "%-32s %8.2f %7.2f %8.0f %7.3f %8.1f %7.1fx %7.3fx\n", l, s, c, in_ / 1e6 / s, o / in_, r / 1024, zs / s, o / zo
    else       printf "%-32s %8.2f %7.2f %8.0f %7s %8.1f %7.1fx %8s\n", l, s, c, in_ / 1e6 / s, "-", r / 1024, zs / s, "-"
  }'
done

# -- the goals ---------------------------------------------------------------------
echo
echo "goals for mfb at the default level:"
awk -v ms="${SECS[$mfb_i]}" -v mo="$mfb_default_size" -v mr="${RSS[$mfb_i]}" \
    -v zs="${SECS[$zip_i]}" -v zo="${SIZES[$zip_i]}" -v is="${SECS[$igzip_i]}" \
    -v mc="${CPUS[$mfb_i]}" -v zc="${CPUS[$zip_i]}" -v ic="${CPUS[$igzip_i]}" 'BEGIN {
  ms = (ms < 0.01) ? 0.01 : ms
  verdict(zs / ms >= 12,      sprintf("throughput >= 12x zip -r default    %6.1fx", zs / ms))
  verdict(mo / zo <= 1.03,    sprintf("size <= 1.03x zip -r default        %6.3fx", mo / zo))
  verdict(is / ms >= 1.7,     sprintf("throughput >= 1.7x igzip -3 -T 1    %6.2fx", is / ms))
  verdict(mr < 64 * 1024,     sprintf("peak RSS < 64 MiB                   %6.1f MiB", mr / 1024))
  printf "  (by CPU time instead of wall time: %.1fx zip -r; igzip -3 -T 1 used %.2fx the CPU of mfb)\n", zc / mc, ic / mc
}
function verdict(ok, text) { printf "  %s  %s\n", ok ? "met    " : "NOT MET", text }'
echo
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at end; a load above $(nproc) means other work shared the cores"

#!/usr/bin/env bash
# Saturation throughput of every routing algorithm under the classic traffic patterns:
# for each (topology, pattern, algorithm) a sweep of the offered load, and the peak
# accepted load (flits/node/cycle) over the sweep. Prints a Markdown table.
#
#   scripts/routing-study.sh [TORSIM] [SHAPE...]
#
# All variants use 4 VCs per port, 8-flit buffers and 1-flit packets, so they differ in
# routing only: deterministic routing with 2 dateline classes of 2 VCs; adaptive with a
# dateline escape (2 VCs) and 2 adaptive VCs, or a bubble escape (1 VC) and 3 adaptive.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/torsim}
shift || true
SHAPES=("$@")
[ ${#SHAPES[@]} -gt 0 ] || SHAPES=("[8,8]" "[4,4,4,4]")
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

declare -a NAMES=(dimension-order direction-order table "adaptive, DOR escape" "adaptive, dir.-order escape" "adaptive, bubble escape")
declare -a SETS=(
  'routing.algorithm="dimension-order"'
  'routing.algorithm="direction-order"'
  'routing.algorithm="table"'
  'routing.algorithm="adaptive";routing.escape="dimension-order"'
  'routing.algorithm="adaptive";routing.escape="direction-order"'
  'routing.algorithm="adaptive";routing.escape="dimension-order";routing.deadlock_avoidance="bubble"'
)
PATTERNS=(uniform transpose bit-complement tornado random-permutation)

for shape in "${SHAPES[@]}"; do
  echo
  echo "Saturation throughput (peak accepted flits/node/cycle), torus $shape:"
  echo
  printf '| algorithm |'; for p in "${PATTERNS[@]}"; do printf ' %s |' "$p"; done; echo
  printf '| --- |'; for p in "${PATTERNS[@]}"; do printf ' --- |'; done; echo
  for i in "${!NAMES[@]}"; do
    printf '| %s |' "${NAMES[$i]}"
    for p in "${PATTERNS[@]}"; do
      args=(--set "topology.shape=$shape" --set router.virtual_channels=4 --set "traffic.pattern=\"$p\""
            --set simulation.warmup_cycles=1000 --set simulation.measure_cycles=3000
            --set simulation.max_drain_cycles=3000)
      IFS=';' read -ra extra <<< "${SETS[$i]}"
      for e in "${extra[@]}"; do args+=(--set "$e"); done
      "$BIN" sweep configs/torus-8x8.toml --param traffic.injection_rate=0.1:1.0:0.1 \
        --keep-going --out-dir "$OUT" --name s "${args[@]}" >/dev/null 2>&1 || { printf ' error |'; continue; }
      peak=$(awk -F, 'NR > 1 && $3 > m { m = $3 } END { printf "%.3f", m }' "$OUT/s.csv")
      printf ' %s |' "$peak"
    done
    echo
  done
done

#!/usr/bin/env bash
# Faults on the planned 4D ASIC network (configs/asic-4d.toml, 2048 nodes): accepted
# uniform throughput at overload (offered 1.0 flits/node/cycle) and mean latency at 0.1,
# for table and adaptive routing with 0, 1, 8 and 32 random failed links and 1 and 4
# random failed nodes. Every run checks exactly-once delivery (--check). Prints Markdown.
#
#   scripts/fault-study.sh [TORSIM]
#
# Environment: CASES (space-separated "ALGORITHM:FAULT" pairs, FAULT a faults.* setting
# or "none") to run only some rows; WARMUP and MEASURE (cycles) to shorten the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/torsim}
CFG=configs/asic-4d.toml
# 128-byte payloads: 24-byte header + 128 bytes = 10 flits of 16 bytes.
COMMON=(--check --json --set traffic.packet_flits=10 --set "simulation.warmup_cycles=${WARMUP:-2000}"
        --set "simulation.measure_cycles=${MEASURE:-4000}" --set simulation.max_drain_cycles=20000)
FAULTS=("" "faults.random_links=1" "faults.random_links=8" "faults.random_links=32"
        "faults.random_nodes=1" "faults.random_nodes=4")
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
echo "| routing | faults | accepted at 1.0 | mean latency at 0.1 (cycles) | mean hops at 0.1 | first/last-step hops at 0.1 | delivered at 0.1 |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
if [ -z "${CASES:-}" ]; then
  CASES=""
  for a in table adaptive; do
    for f in "${FAULTS[@]}"; do CASES+=" $a:${f:-none}"; done
  done
fi
for case in $CASES; do
  a="routing.algorithm=\"${case%%:*}\""
  f="${case#*:}"
  [ "$f" = none ] && f=""
  extra=(--set "$a")
  [ -n "$f" ] && extra+=(--set "$f")
  over=$("$BIN" run "$CFG" "${COMMON[@]}" "${extra[@]}" --set traffic.injection_rate=1.0 2>&1 \
    | field "round(d['traffic']['accepted_flits_per_node_cycle'], 3)" 2>/dev/null || echo error)
  low=$("$BIN" run "$CFG" "${COMMON[@]}" "${extra[@]}" --set traffic.injection_rate=0.1 2>/dev/null || true)
  if [ -z "$low" ]; then
    echo "| ${case%%:*} | ${f:-none} | $over | error | | | |"
    continue
  fi
  lat=$(echo "$low" | field "round(d['latency_cycles']['mean'], 1)")
  hops=$(echo "$low" | field "round(d['avg_hops'], 3)")
  steps=$(echo "$low" | field "str(d['routing']['first_step_hops']) + '/' + str(d['routing']['last_step_hops'])")
  deliv=$(echo "$low" | field "str(d['packets']['packets_delivered']) + ' of ' + str(d['packets']['packets_injected'])")
  echo "| ${case%%:*} | ${f:-none} | $over | $lat | $hops | $steps | $deliv |"
done

#!/usr/bin/env bash
# Sensitivity of the SpMV alltoall exchange to the parameters the 2012 paper does not
# publish: element encoding, packet payload, put completion (posted or blocking) and the
# PCIe data rate, one at a time and in a few combinations, on the 3D ASIC config
# (n = 10,240,000, d = 10, 100 iterations). For each case and node count it prints the
# time of 100 alltoall exchanges beside the paper's (2.3 s on 8 nodes, 0.1 s on 1024)
# and whether it is within 25 % of it. Prints Markdown.
#
#   scripts/spmv-sensitivity.sh [TORSIM]
#
# Environment: CASES (space-separated case names from the list below) to run only some
# rows; NODES (comma-separated, default 8,1024) for the node counts; OUT (default
# out/spmv-sensitivity) for each case's JSON, CSV and plots. One 1024-node exchange
# takes minutes (see README.md, "The paper's study reproduced"); runs are one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/torsim}
NODES=${NODES:-8,1024}
OUT=${OUT:-out/spmv-sensitivity}
mkdir -p "$OUT"
# The PCIe link with only its data rate changed (gen2 x16 is 64 Gbit/s after 8b/10b;
# the TLP and DLLP overheads and the 128-byte TLP payload stay at their defaults, which
# are those of the config).
pcie() { echo "node.pcie={rate = \"$1\", latency = \"150 ns\"}"; }
# The cases: a name is made of the tokens describe and case_args know.
ALL="base enc12 enc16 pay64 pay256 injected pcie75 pcie50 pcie35
pay64-injected pay64-pcie75 injected-pcie75 pay64-injected-pcie75
enc12-pcie50 enc16-injected enc16-pay64 enc12-pcie50-injected pay64-pcie50-injected"
describe() {
  local d=()
  [[ $1 == *enc12* ]] && d+=("8+4-byte elements")
  [[ $1 == *enc16* ]] && d+=("8+8-byte elements")
  [[ $1 == *pay64* ]] && d+=("64-byte payload")
  [[ $1 == *pay256* ]] && d+=("256-byte payload")
  [[ $1 == *injected* ]] && d+=("injected puts")
  [[ $1 == *pcie75* ]] && d+=("PCIe at 75 %")
  [[ $1 == *pcie50* ]] && d+=("PCIe at 50 %")
  [[ $1 == *pcie35* ]] && d+=("PCIe at 35 %")
  [ ${#d[@]} -eq 0 ] && d=("as shipped (8-byte elements, 128-byte payload, posted puts, PCIe gen2 x16)")
  local out=${d[0]} x
  for x in "${d[@]:1}"; do out+=", $x"; done
  echo "$out"
}
case_args() {
  ARGS=()
  [[ $1 == *enc12* ]] && ARGS+=(--index-bytes 4)
  [[ $1 == *enc16* ]] && ARGS+=(--index-bytes 8)
  [[ $1 == *pay64* ]] && ARGS+=(--set node.max_payload_bytes=64)
  [[ $1 == *pay256* ]] && ARGS+=(--set node.max_payload_bytes=256)
  [[ $1 == *injected* ]] && ARGS+=(--set node.put_completion=injected)
  [[ $1 == *pcie75* ]] && ARGS+=(--set "$(pcie "48 Gbit/s")")
  [[ $1 == *pcie50* ]] && ARGS+=(--set "$(pcie "32 Gbit/s")")
  [[ $1 == *pcie35* ]] && ARGS+=(--set "$(pcie "22.4 Gbit/s")")
  return 0
}
# Paper figures: 100 alltoall exchanges on the 3D torus model.
paper() { case $1 in 8) echo 2.3 ;; 1024) echo 0.1 ;; *) echo "" ;; esac; }
IFS=, read -r -a NS <<< "$NODES"
header="| case |"
rule="| --- |"
for n in "${NS[@]}"; do
  p=$(paper "$n")
  header+=" $n nodes${p:+ (paper $p s)} |"
  rule+=" --- |"
done
echo "$header within 25 % of the paper at both |"
echo "$rule --- |"
for c in ${CASES:-$ALL}; do
  case_args "$c"
  json="$OUT/$c.json"
  if ! "$BIN" spmv configs/asic-3d.toml --nodes "$NODES" --algorithm alltoall \
      --out "$json" --out-dir "$OUT" --name "$c" "${ARGS[@]}" > "$OUT/$c.txt" 2>&1; then
    echo "| $(describe "$c") | error: see $OUT/$c.txt |"
    continue
  fi
  row=$(python3 - "$json" "$NODES" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
paper = {8: 2.3, 1024: 0.1}
cells, ok = [], True
for n in [int(x) for x in sys.argv[2].split(",")]:
    pt = [p for p in doc["points"] if p["nodes"] == n][0]
    t = pt["comm_seconds_for_iterations"]
    if n in paper:
        dev = (t - paper[n]) / paper[n]
        ok = ok and abs(dev) <= 0.25
        cells.append(f"{t:.3f} s ({dev:+.0%})")
    else:
        cells.append(f"{t:.3f} s")
print(" | ".join(cells) + " | " + ("yes" if ok else "no"))
EOF
)
  echo "| $(describe "$c") | $row |"
done

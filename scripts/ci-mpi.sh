#!/usr/bin/env bash
# Builds torsim with the `mpi` feature and runs the multi-process tests (tests/mpi.rs):
# results under `mpirun -n 1|2|3` (and with --threads) must match the serial run, and
# failures must end every rank without hanging.
#
# Installs Open MPI and libclang (needed by the MPI bindings' build) from Debian
# packages if they are missing, so it needs root (or the packages preinstalled).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(libopenmpi-dev openmpi-bin libclang-dev)
installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}
missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "ci-mpi: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y libopenmpi-dev openmpi-bin libclang-dev
fi

# Open MPI refuses to run as root unless told that it is intended (CI containers).
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

cargo test --release --features mpi --test mpi

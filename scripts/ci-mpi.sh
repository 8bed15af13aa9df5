#!/usr/bin/env bash
# Builds torsim with the `mpi` feature and runs the multi-process tests (tests/mpi.rs):
# results under `mpirun -n 1|2|3` (and with --threads) must match the serial run, and
# failures must end every rank without hanging.
#
# Installs Open MPI and libclang (needed by the MPI bindings' build) from Debian
# packages if they are missing, so it needs root (or the packages preinstalled).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/apt-ensure.sh libopenmpi-dev openmpi-bin libclang-dev

# Open MPI refuses to run as root unless told that it is intended (CI containers).
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

cargo test --release --features mpi --test mpi

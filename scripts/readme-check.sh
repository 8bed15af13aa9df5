#!/usr/bin/env bash
# The README check: runs every command of README.md as the README shows it (long ones
# with the reduced sizes their `# long (check: ...)` mark gives), and fails when a
# command fails, prints something else than the README shows, leaves out a file the
# README says it writes, overwrites an earlier command's file, or when a documented
# JSON key is missing. tests/readme.rs holds the check; it takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --release --test readme -- --include-ignored "$@"

#!/usr/bin/env bash
# The whole test suite: prepares the services it needs (scripts/services.sh),
# then formatting, lints, and every test (unit, integration, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets

#!/usr/bin/env bash
# The whole test suite: prepares the services it needs (scripts/services.sh),
# then formatting, lints, the Debian package, and every test (unit,
# integration, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
# The real OpenStack services of tests/openstack_provider.rs: reused when
# already running, left running for the next run (scripts/openstack.sh stop).
scripts/openstack.sh start
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
# The Debian package: release build with cargo-deb, contents checked (a few
# minutes; SCALER_SKIP_PACKAGE=1 skips it locally, CI always builds it).
[ "${SCALER_SKIP_PACKAGE:-0}" = 1 ] || scripts/package.sh
# Unit, integration and end-to-end tests (benchmarks are run apart:
# `cargo bench --bench probes`, scripts/bench-*.sh). Every test binary runs
# even when one fails, so a run shows all failures at once.
cargo test --no-fail-fast --lib --bins --tests
# The examples in doc comments compile and run.
cargo test --doc

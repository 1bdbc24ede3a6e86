#!/usr/bin/env bash
# Regenerates the committed files that are rendered from the code: the man
# page man/scaler.1 (clap definition, exit status table, README's key table)
# and the shell completions under completions/. tests/generated.rs fails when
# they are stale. Usage: scripts/generate.sh (then commit man/ and completions/).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet -- generate all .

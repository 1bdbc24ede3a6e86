#!/bin/sh
# A misbehaving "cloud" for tests/command_provider.rs; $1 picks the fault.
#   empty          list: no instances
#   slow           sleeps 30 s (a child of ours holds stdout too)
#   badjson        prints broken JSON
#   fail FILE      saves stdin to FILE, complains on stderr, exits 4
case "$1" in
  empty) echo '{"instances": []}' ;;
  slow) sleep 30 & sleep 30; echo '{"instances": []}' ;;
  badjson) echo '{"instances": [ {"id": "x", oops'; ;;
  fail) cat > "$2"; echo "quota exceeded for this instance type" >&2; exit 4 ;;
  *) echo "faulty.sh: unknown mode $1" >&2; exit 64 ;;
esac

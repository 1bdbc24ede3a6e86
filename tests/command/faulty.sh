#!/bin/sh
# A misbehaving "cloud" for tests/command_provider.rs; $1 picks the fault.
#   empty          list: no instances
#   slow FILE      writes "<its pid> <its child's pid>" to FILE, then sleeps
#                  30 s, as does the child (holding stdout too); each writes
#                  FILE.done-<pid> if it finishes its sleep (was not killed)
#   badjson        prints broken JSON
#   fail FILE      saves stdin to FILE, complains on stderr, exits 4
case "$1" in
  empty) echo '{"instances": []}' ;;
  slow)
    ( sleep 30; echo > "$2.done-child" ) &
    echo "$$ $!" > "$2.tmp" && mv "$2.tmp" "$2"
    sleep 30; echo > "$2.done-$$"; echo '{"instances": []}' ;;
  badjson) echo '{"instances": [ {"id": "x", oops'; ;;
  fail) cat > "$2"; echo "quota exceeded for this instance type" >&2; exit 4 ;;
  *) echo "faulty.sh: unknown mode $1" >&2; exit 64 ;;
esac

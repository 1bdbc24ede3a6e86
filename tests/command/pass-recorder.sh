#!/bin/sh
# A `command` provider for tests/container.rs (`run --every`): each `list`
# appends "start N <time>" to the file pass-record in its working directory
# (N: the how-manieth listing), waits until the test creates `release-N`,
# then appends "end N <time>" and lists no instance. Overlapping passes
# would show as a start between another pass's start and end.
set -eu
n=$(( $(grep -c '^start' pass-record || true) + 1 ))
echo "start $n $(date +%s.%N)" >> pass-record
while [ ! -e "release-$n" ]; do sleep 0.05; done
echo "end $n $(date +%s.%N)" >> pass-record
echo '{"instances": []}'

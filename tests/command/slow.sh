#!/bin/sh
# Runs the sample cloud (examples/command-cloud.py) for ACTION, but when a
# file `slow-ACTION-N` exists in the working directory, the Nth call of that
# action first writes its process id to `waiting-ACTION-N` and sleeps; when
# `slow-after-ACTION-N` exists, the call does the action, then writes
# `waiting-after-ACTION-N` and sleeps before it answers; when `hold-ACTION-N`
# exists, it writes `waiting-ACTION-N` and waits for `release-ACTION-N` (at
# most 60 s). A test can then kill the pass in the middle of that action, or
# just after the cloud did it, or change something while the pass waits.
# Used by tests/convergence.rs.
action=$1
count_file=".count-$action"
n=$(( $(cat "$count_file" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$count_file"
if [ -e "slow-$action-$n" ]; then
  echo $$ > "waiting-$action-$n.tmp" && mv "waiting-$action-$n.tmp" "waiting-$action-$n"
  sleep 60
fi
if [ -e "hold-$action-$n" ]; then
  echo $$ > "waiting-$action-$n.tmp" && mv "waiting-$action-$n.tmp" "waiting-$action-$n"
  tries=0
  while [ ! -e "release-$action-$n" ] && [ $tries -lt 1200 ]; do sleep 0.05; tries=$((tries + 1)); done
fi
if [ -e "slow-after-$action-$n" ]; then
  python3 "$SAMPLE_CLOUD" "$action" > "answer-$action-$n"
  status=$?
  echo $$ > "waiting-after-$action-$n.tmp" && mv "waiting-after-$action-$n.tmp" "waiting-after-$action-$n"
  sleep 60
  cat "answer-$action-$n"
  exit $status
fi
exec python3 "$SAMPLE_CLOUD" "$action"

#!/usr/bin/env python3
"""A sample "cloud" for scaler's `command` provider (examples/command.toml).

It keeps its instances in a JSON file and speaks the provider's JSON contract
(README, "Provider `command`"); replace the three functions' bodies with
calls to your cloud's CLI or API to drive a real one:

    command-cloud.py list     prints {"instances": [INSTANCE, ...]}
    command-cloud.py create   reads {"pool", "name", "instance_type", "vcpus", "user_data"?}
                              on stdin, prints the created INSTANCE
    command-cloud.py destroy  reads the INSTANCE on stdin

INSTANCE = {"id", "name", "state": "building"|"active"|"error", "private_ip",
"public_ip", "vcpus", "created_at" (RFC 3339), "instance_type"}.

Exit status 0 means success; on failure print why on stderr and exit non-zero.
scaler sets SCALER_POOL and SCALER_ACTION and runs the command in the
configuration file's directory. This sample also reads:
    COMMAND_CLOUD_STATE       the state file (default: command-cloud.json)
    COMMAND_CLOUD_BOOT_DELAY  seconds from building to active (default: 60)
Addresses are handed out from 127.0.2.0/24, so nothing leaves this machine.
"""

import datetime
import fcntl
import json
import os
import sys

STATE = os.environ.get("COMMAND_CLOUD_STATE", "command-cloud.json")
BOOT_DELAY = float(os.environ.get("COMMAND_CLOUD_BOOT_DELAY", "60"))


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def load(handle):
    handle.seek(0)
    text = handle.read()
    return json.loads(text) if text.strip() else {"next_id": 0, "instances": []}


def save(handle, state):
    handle.seek(0)
    handle.truncate()
    json.dump(state, handle, indent=2)
    handle.flush()
    os.fsync(handle.fileno())


def view(stored):
    """The instance as the contract wants it (building turns active after the boot delay)."""
    instance = dict(stored)
    age = now() - datetime.datetime.fromisoformat(stored["created_at"])
    if stored["state"] == "building" and age.total_seconds() >= BOOT_DELAY:
        instance["state"] = "active"
    return instance


def list_instances(state, pool):
    return {"instances": [view(i) for i in state["instances"] if i["pool"] == pool]}


def create(state, pool, request):
    used = {i["private_ip"] for i in state["instances"]}
    free = [f"127.0.2.{n}" for n in range(1, 255) if f"127.0.2.{n}" not in used]
    if not free:
        raise RuntimeError("no free address left in 127.0.2.0/24")
    instance = {
        "id": f"cmd-{state['next_id']}",
        "name": request["name"],
        "pool": pool,
        "state": "building",
        "private_ip": free[0],
        "public_ip": free[0],
        "vcpus": request["vcpus"],
        "instance_type": request["instance_type"],
        "created_at": now().isoformat(timespec="seconds"),
    }
    state["next_id"] += 1
    state["instances"].append(instance)
    return view(instance)


def destroy(state, pool, instance):
    before = len(state["instances"])
    state["instances"] = [
        i for i in state["instances"] if not (i["id"] == instance["id"] and i["pool"] == pool)
    ]
    if len(state["instances"]) == before:
        raise RuntimeError(f"no instance {instance['id']} in pool {pool}")


def main():
    action = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SCALER_ACTION", "")
    pool = os.environ["SCALER_POOL"]
    with open(STATE, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        state = load(handle)
        if action == "list":
            print(json.dumps(list_instances(state, pool)))
        elif action == "create":
            print(json.dumps(create(state, pool, json.load(sys.stdin))))
            save(handle, state)
        elif action == "destroy":
            destroy(state, pool, json.load(sys.stdin))
            save(handle, state)
        else:
            raise RuntimeError(f"unknown action {action!r} (list, create or destroy)")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # the message goes to scaler's report
        print(f"command-cloud: {error}", file=sys.stderr)
        sys.exit(1)

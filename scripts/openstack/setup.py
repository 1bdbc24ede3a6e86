"""Set-up steps of scripts/openstack.sh, run with the stack's virtualenv.

    setup.py catalog RUN     services and endpoints in Keystone
    setup.py ready RUN       uploads the tiny image to Glance, creates the
                             flavors, then waits until nova-compute is up,
                             Nova lists its host (nova-scheduler maps it)
                             and Placement holds its inventory

Every step is idempotent and every wait bounded. Endpoints: RegionOne's
public and internal URLs are the services'; the `admin` interface of
compute, network and image, and all of RegionTwo, point at the closed port
127.0.0.1:9, so a test can tell which region and interface a client used.
"""

import configparser
import os
import sys
import time

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

CLOSED = "http://127.0.0.1:9"


def conf(run):
    parser = configparser.RawConfigParser(strict=False)
    parser.read(os.path.join(run, "etc", "nova", "nova.conf"))
    return parser["keystone_authtoken"]


def session(run):
    section = conf(run)
    auth = v3.Password(
        auth_url=section["auth_url"], username="admin", password=section["password"],
        project_name="admin", user_domain_name="Default", project_domain_name="Default")
    return ks_session.Session(auth=auth, timeout=60)


def ports():
    """The ports scripts/openstack.sh exports."""
    return {k: os.environ["SCALER_OS_" + k] for k in
            ("KEYSTONE_PORT", "PLACEMENT_PORT", "NOVA_PORT", "GLANCE_PORT", "NEUTRON_PORT")}


def catalog(run):
    s = session(run)
    ks = "http://127.0.0.1:%s/v3" % ports()["KEYSTONE_PORT"]
    p = ports()
    wanted = {
        "placement": ("placement", "http://127.0.0.1:%s" % p["PLACEMENT_PORT"], "http://127.0.0.1:%s" % p["PLACEMENT_PORT"]),
        "nova": ("compute", "http://127.0.0.1:%s/v2.1" % p["NOVA_PORT"], CLOSED + "/admin-interface/compute"),
        "glance": ("image", "http://127.0.0.1:%s" % p["GLANCE_PORT"], CLOSED + "/admin-interface/image"),
        "neutron": ("network", "http://127.0.0.1:%s" % p["NEUTRON_PORT"], CLOSED + "/admin-interface/network"),
    }
    # Services send their own token as X-Service-Token; keystonemiddleware
    # accepts it only with the `service` role.
    roles = {r["name"]: r["id"] for r in s.get(ks + "/roles").json()["roles"]}
    if "service" not in roles:
        roles["service"] = s.post(ks + "/roles", json={"role": {"name": "service"}}).json()["role"]["id"]
    me = s.get_user_id()
    project = s.get_project_id()
    s.put(ks + "/projects/%s/users/%s/roles/%s" % (project, me, roles["service"]))
    regions = [r["id"] for r in s.get(ks + "/regions").json()["regions"]]
    if "RegionTwo" not in regions:
        s.post(ks + "/regions", json={"region": {"id": "RegionTwo"}})
    services = {x["type"]: x["id"] for x in s.get(ks + "/services").json()["services"]}
    endpoints = s.get(ks + "/endpoints").json()["endpoints"]
    for name, (kind, url, admin_url) in wanted.items():
        if kind not in services:
            created = s.post(ks + "/services", json={"service": {"name": name, "type": kind, "enabled": True}})
            services[kind] = created.json()["service"]["id"]
        sid = services[kind]
        plan = [("RegionOne", "public", url), ("RegionOne", "internal", url), ("RegionOne", "admin", admin_url)]
        if kind != "placement":
            plan.append(("RegionTwo", "public", CLOSED + "/region-two/" + kind))
        for region, interface, where in plan:
            if any(e["service_id"] == sid and e["region_id"] == region and e["interface"] == interface for e in endpoints):
                continue
            s.post(ks + "/endpoints", json={"endpoint": {
                "service_id": sid, "region_id": region, "interface": interface, "url": where, "enabled": True}})


def nova(s, path, **kw):
    url = "http://127.0.0.1:%s/v2.1%s" % (ports()["NOVA_PORT"], path)
    headers = {"OpenStack-API-Version": "compute 2.1"}
    return s.request(url, kw.pop("method", "GET"), headers=headers, raise_exc=False, **kw)


def flavors(s):
    have = {f["name"] for f in nova(s, "/flavors").json()["flavors"]}
    for name, vcpus, ram, disk in [("scaler.tiny", 1, 64, 1), ("scaler.small", 2, 128, 1),
                                   ("scaler.huge", 1, 16384, 1)]:
        if name in have:  # sizes fixed here; a cold start recreates them
            continue
        answer = nova(s, "/flavors", method="POST", json={"flavor": {
            "name": name, "vcpus": vcpus, "ram": ram, "disk": disk, "os-flavor-access:is_public": True}})
        if answer.status_code != 200:
            sys.exit("flavor %s: %s %s" % (name, answer.status_code, answer.text[:300]))


def until(what, seconds, check):
    """Polls check() (None when ready, else what it saw) every 0.5 s."""
    deadline = time.time() + seconds
    while True:
        seen = check()
        if seen is None:
            return
        if time.time() > deadline:
            sys.exit("%s within %d s (last: %s)" % (what, seconds, seen))
        time.sleep(0.5)


def compute_up(s):
    answer = nova(s, "/os-services?binary=nova-compute")
    if answer.status_code == 200 and any(x["state"] == "up" for x in answer.json()["services"]):
        return None
    return "%s %s" % (answer.status_code, answer.text[:300])


def host_listed(s):
    answer = nova(s, "/os-hypervisors")
    if answer.status_code == 200 and answer.json()["hypervisors"]:
        return None
    return "%s %s" % (answer.status_code, answer.text[:300])


def inventory(s):
    base = "http://127.0.0.1:%s" % ports()["PLACEMENT_PORT"]
    providers = s.get(base + "/resource_providers", raise_exc=False)
    if providers.status_code != 200:
        return "%s %s" % (providers.status_code, providers.text[:300])
    for rp in providers.json()["resource_providers"]:
        found = s.get(base + "/resource_providers/%s/inventories" % rp["uuid"], raise_exc=False)
        if found.status_code == 200 and "VCPU" in found.json()["inventories"]:
            return None
    return "no resource provider with VCPU inventory"


def ready(run):
    s = session(run)
    image(s)
    flavors(s)
    until("nova-compute did not report up", 180, lambda: compute_up(s))
    until("Nova listed no hypervisor", 120, lambda: host_listed(s))
    until("Placement had no compute inventory", 120, lambda: inventory(s))


def image(s):
    base = "http://127.0.0.1:%s/v2" % ports()["GLANCE_PORT"]
    found = s.get(base + "/images?name=scaler-os-image").json()["images"]
    if found and found[0]["status"] == "active":
        return
    for old in found:
        s.delete(base + "/images/" + old["id"])
    created = s.post(base + "/images", json={
        "name": "scaler-os-image", "disk_format": "raw", "container_format": "bare",
        "visibility": "public"}).json()
    s.put(base + "/images/%s/file" % created["id"], data=b"\0" * 1024,
          headers={"Content-Type": "application/octet-stream"})
    deadline = time.time() + 60
    while s.get(base + "/images/" + created["id"]).json()["status"] != "active":
        if time.time() > deadline:
            sys.exit("the image did not become active within 60 s")
        time.sleep(0.5)


if __name__ == "__main__":
    {"catalog": catalog, "ready": ready}[sys.argv[1]](sys.argv[2])

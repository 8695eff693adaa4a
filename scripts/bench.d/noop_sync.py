#!/usr/bin/env python3
"""Signs a demo account in, syncs it to the head (following every page), and writes the CBOR body
of a no-op sync (no changes, the device's cursor at the head, its reference and scope versions
current) plus a wrk script that posts it. Usage: noop_sync.py BASE_URL USERNAME PASSWORD OUT_DIR"""

import gzip
import json
import sys
import urllib.request

import cbor2

CONTENT_TYPE = "application/vnd.huifang.sync+cbor"  # gzip-compressed CBOR, both ways


def post(url, body, headers):
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.read()


def main():
    base, username, password, out = sys.argv[1:5]
    login = json.loads(
        post(
            f"{base}/api/v1/auth/login",
            json.dumps({"username": username, "password": password, "device_name": "bench"}).encode(),
            {"content-type": "application/json"},
        )
    )
    token = login["token"]
    request = {
        "version": 1,
        "cursor": 0,
        "changes": [],
        "page_size": 500,
        "reference_version": None,
        "scope_version": None,
    }
    headers = {"content-type": CONTENT_TYPE, "accept": CONTENT_TYPE, "authorization": f"Bearer {token}"}
    documents = 0
    while True:
        answer = cbor2.loads(
            gzip.decompress(post(f"{base}/api/v1/sync", gzip.compress(cbor2.dumps(request)), headers))
        )
        documents += len(answer.get("documents") or [])
        request["cursor"] = answer["cursor"]
        request["scope_version"] = answer.get("scope_version")
        if answer.get("reference"):
            request["reference_version"] = answer["reference"]["version"]
        if not answer["more"]:
            break
    body = gzip.compress(cbor2.dumps(request))
    with open(f"{out}/noop.cbor", "wb") as f:
        f.write(body)
    with open(f"{out}/noop.lua", "w") as f:
        f.write(
            'local f = io.open("%s/noop.cbor", "rb")\n'
            "wrk.method = \"POST\"\n"
            "wrk.body = f:read(\"*all\")\n"
            'wrk.headers["Content-Type"] = "%s"\n'
            'wrk.headers["Accept"] = "%s"\n'
            'wrk.headers["Authorization"] = "Bearer %s"\n' % (out, CONTENT_TYPE, CONTENT_TYPE, token)
        )
    with open(f"{out}/token", "w") as f:
        f.write(token)
    print(f"{username}: {documents} documents in scope, cursor {request['cursor']}")


if __name__ == "__main__":
    main()

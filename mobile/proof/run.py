"""Proves the generated bindings against a live server: starts `huifang demo` on a free port,
gives each proof (Python, then Kotlin on the JVM) an open follow-up of a demo staff member and a
survey follow-up of a form sent to that member's community, and
fails if either proof fails. Called by scripts/mobile-proof.

Usage: run.py BINDINGS_DIR LIBRARY_DIR HUIFANG_BINARY [--kotlin KOTLINC --jna JNA_JAR]
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
USER = "ch.csc.01"
PASSWORD = "huifang-demo"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url, path, body=None, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, headers=headers)
    return json.load(urllib.request.urlopen(request))


def open_follow_up(url, token, index):
    """Accepts and handles a repair sheet; the rules give its follow-up to the service centre."""
    households = call(url, f"/api/v1/households?limit=1&offset={index}", token=token)
    customer = households["items"][0]["customers"][0]
    sheet = call(
        url,
        "/api/v1/sheets",
        {
            "level": "ordinary",
            "category": "repair",
            "source": "phone",
            "customer_id": customer["id"],
            "items": ["厨房水管漏水"],
        },
        token,
    )
    handled = call(url, f"/api/v1/sheets/{sheet['id']}/handled", {"result": "已更换水管"}, token)
    return handled["follow_up"]["id"]


# The annual opinion survey the proofs answer on the phone (R-SUR-1, D-SUR-1).
SURVEY_FORM = {
    "title": "年度客户意见调查表",
    "year": 2026,
    "questions": [
        {"id": "overall", "text": "您对物业服务的总体评价", "kind": "rating", "required": True},
        {
            "id": "improve",
            "text": "希望改进的方面",
            "kind": "multiple_choice",
            "options": [{"id": "clean", "text": "保洁"}, {"id": "green", "text": "绿化"}],
        },
        {"id": "advice", "text": "其他意见或建议", "kind": "free_text"},
    ],
}


def survey_follow_ups(url, token):
    """The development department drafts a form, the general manager approves the version they
    read, and it is sent to the staff member's community: two of its survey follow-ups."""
    login = lambda user: call(url, "/api/v1/auth/login", {"username": user, "password": PASSWORD})["token"]
    dev, gm = login("dev.head"), login("gm")
    form = call(url, "/api/v1/surveys", SURVEY_FORM, dev)
    path = f"/api/v1/surveys/{form['id']}"
    submitted = call(url, f"{path}/submit", {}, dev)
    call(url, f"{path}/approve", {"content_sha256": submitted["content_sha256"]}, gm)
    community = call(url, "/api/v1/households?limit=1", token=token)["items"][0]["community_id"]
    call(url, f"{path}/distribute", {"community_ids": [community]}, dev)
    listed = call(url, "/api/v1/followups?view=unit&kind=survey&limit=2", token=token)
    return [f["id"] for f in listed["items"]]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bindings")
    parser.add_argument("library_dir")
    parser.add_argument("huifang")
    parser.add_argument("--kotlinc")
    parser.add_argument("--jna")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="huifang-proof-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [args.huifang, "--data-dir", data_dir, "demo", "--no-history", "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    failures = []
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url + "/readyz")
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("the demo server did not start")
        token = call(url, "/api/v1/auth/login", {"username": USER, "password": PASSWORD})["token"]
        env = dict(os.environ, HUIFANG_URL=url, HUIFANG_USER=USER, HUIFANG_PASSWORD=PASSWORD)
        surveys = survey_follow_ups(url, token)

        python_env = dict(
            env,
            HUIFANG_FOLLOW_UP=open_follow_up(url, token, 0),
            HUIFANG_SURVEY=surveys[0],
            PYTHONPATH=os.path.join(args.bindings, "python"),
        )
        # The Python bindings load the library from their own folder.
        for name in os.listdir(args.library_dir):
            if name.startswith("libhuifang_mobile.") and name.endswith((".so", ".dylib")):
                shutil.copy(
                    os.path.join(args.library_dir, name),
                    os.path.join(args.bindings, "python", "huifang_mobile"),
                )
        if subprocess.call([sys.executable, os.path.join(HERE, "proof.py")], env=python_env) != 0:
            failures.append("python")

        if args.kotlinc:
            build = tempfile.mkdtemp(prefix="huifang-kotlin-")
            jar = os.path.join(build, "proof.jar")
            sources = [os.path.join(HERE, "Proof.kt")]
            for root, _, files in os.walk(os.path.join(args.bindings, "kotlin")):
                sources += [os.path.join(root, f) for f in files if f.endswith(".kt")]
            compiled = subprocess.call(
                [args.kotlinc, "-nowarn", "-include-runtime", "-cp", args.jna, "-d", jar] + sources
            )
            if compiled != 0:
                failures.append("kotlin (compile)")
            else:
                kotlin_env = dict(
                    env, HUIFANG_FOLLOW_UP=open_follow_up(url, token, 1), HUIFANG_SURVEY=surveys[1]
                )
                ran = subprocess.call(
                    [
                        "java",
                        f"-Djna.library.path={args.library_dir}",
                        "-cp",
                        f"{jar}{os.pathsep}{args.jna}",
                        "ProofKt",
                    ],
                    env=kotlin_env,
                )
                if ran != 0:
                    failures.append("kotlin")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    if failures:
        sys.exit("mobile proofs failed: " + ", ".join(failures))
    print("mobile proofs: ok")


if __name__ == "__main__":
    main()

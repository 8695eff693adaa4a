"""The field scenario through the generated Python bindings (ctypes only).

Run by run.py with the bindings on PYTHONPATH and a live server:
HUIFANG_URL, HUIFANG_USER, HUIFANG_PASSWORD, HUIFANG_FOLLOW_UP (an open follow-up of that user),
HUIFANG_SURVEY (a survey follow-up of that user's unit).
"""

import json
import os
import sys
import tempfile
import urllib.request

from huifang_mobile import huifang as hf
from huifang_mobile import huifang_client as hc
from huifang_mobile import huifang_protocol as hp

URL = os.environ["HUIFANG_URL"]
USER = os.environ["HUIFANG_USER"]
PASSWORD = os.environ["HUIFANG_PASSWORD"]
FOLLOW_UP = os.environ["HUIFANG_FOLLOW_UP"]
SURVEY = os.environ["HUIFANG_SURVEY"]


def expect_error(kind, call):
    try:
        call()
    except kind as error:
        assert str(error), "an error carries a message"
        return str(error)
    raise AssertionError(f"expected {kind.__name__}")


def token_of(username):
    login = urllib.request.Request(
        f"{URL}/api/v1/auth/login",
        data=json.dumps({"username": username, "password": PASSWORD}).encode(),
        headers={"content-type": "application/json"},
    )
    return json.load(urllib.request.urlopen(login))


def api(token, path, body=None):
    request = urllib.request.Request(
        f"{URL}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    return json.load(urllib.request.urlopen(request))


def server_follow_up():
    token = token_of(USER)["token"]
    request = urllib.request.Request(
        f"{URL}/api/v1/followups/{FOLLOW_UP}", headers={"authorization": f"Bearer {token}"}
    )
    return json.load(urllib.request.urlopen(request))["follow_up"]


class Progress(hf.SyncObserver):
    def __init__(self):
        self.pages = 0

    def on_progress(self, progress):
        self.pages = progress.pages


def on_disk(path):
    """Every byte the store keeps on disk: the database, its log and its shared memory."""
    data = b""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            with open(path + suffix, "rb") as file:
                data += file.read()
    return data


def png(width=4, height=3):
    """A real (tiny) PNG picture, as a camera app would hand over."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + bytes([200, 40, 40]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def main():
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "phone.db")
    # The app keeps this key in Android Keystore / the iOS Keychain.
    key = hf.generate_store_key()
    assert len(key) == 32 and key != hf.generate_store_key()
    expect_error(hf.MobileError.InvalidInput, lambda: hf.FieldStore.open(path, b"short", "1.0.0", None))
    store = hf.FieldStore.open(path, key, "1.0.0", None)
    assert store.signed_in() is None
    expect_error(hf.MobileError.WrongKey, lambda: hf.FieldStore.open(path, hf.generate_store_key(), "1.0.0", None))
    message = expect_error(
        hf.MobileError.Unauthorized,
        lambda: store.log_in(URL, USER, "not the password", "python proof"),
    )
    assert "wrong username or password" in message, message
    expect_error(hf.MobileError.InvalidInput, lambda: store.log_in("ftp://x", USER, PASSWORD, "p"))
    expect_error(hf.MobileError.NotSignedIn, lambda: store.tasks_due())

    me = store.log_in(URL, USER, PASSWORD, "python proof")
    assert me.username == USER and me.role == hp.Role.STAFF, me
    progress = Progress()
    report = store.sync_now(progress)
    assert report.received >= 1 and progress.pages >= 1, report

    # The follow-up is on the task list.
    open_tasks = [t for b in store.tasks_by_building() for t in b.tasks]
    task = next(t for t in open_tasks if t.follow_up_id == FOLLOW_UP)
    assert task.status == "open", task
    assert store.search(task.customer_name).households, "the household is on the phone"
    # Read byte by byte, the file gives away no customer, no user, and not even that it is SQLite.
    stored = on_disk(path)
    for secret in (task.customer_name.encode(), task.contact_phone.encode(), USER.encode(), b"SQLite format 3"):
        assert secret not in stored, secret

    # Bad input is an error of its own kind, and changes nothing.
    bad = hc.OutcomeInput(
        method=hp.FollowUpMethod.HOME_VISIT,
        ratings=hp.Ratings(handling=6, efficiency=5, quality=5, attitude=5, overall=5),
        opinions="",
        done_at=None,
    )
    expect_error(hf.MobileError.InvalidInput, lambda: store.record_outcome(FOLLOW_UP, bad))
    expect_error(hf.MobileError.NotFound, lambda: store.task("0" * 32))
    assert store.badge_counts().unsynced == 0

    # Offline: a photo of the leak before the repair; the library judges it by its content.
    photo = store.attach_photo(
        FOLLOW_UP, hc.PhotoInput(bytes=png(), purpose=hp.PhotoPurpose.BEFORE, caption="漏水处")
    )
    assert photo.format == hp.PhotoFormat.PNG and len(photo.blob_sha256) == 64, photo
    expect_error(
        hf.MobileError.InvalidInput,
        lambda: store.attach_photo(FOLLOW_UP, hc.PhotoInput(bytes=b"GIF89a...", purpose=hp.PhotoPurpose.AFTER, caption="")),
    )

    # Offline: the customer signs on the phone.
    strokes = [
        hc.Stroke(points=[hc.StrokePoint(x=10.0 + i, y=20.0 + s, t_ms=s * 1000 + i * 10, pressure=None) for i in range(30)])
        for s in range(3)
    ]
    signature = hc.SignatureInput(strokes=strokes, width=300, height=120, signer_name=task.customer_name)
    ratings = hp.Ratings(handling=5, efficiency=4, quality=5, attitude=5, overall=5)
    done = store.complete_with_signature(FOLLOW_UP, signature, ratings, "修好了")
    assert done.status == "completed", done
    assert store.verify_signature(FOLLOW_UP).intact
    assert store.badge_counts().unsynced == 2, "the photo and the outcome wait for the server"
    expect_error(hf.MobileError.UnsyncedChanges, lambda: store.sign_out(False))

    # Back online.
    report = store.sync_now(None)
    assert report.committed == 1 and not report.rejected, report
    assert store.badge_counts().unsynced == 0
    seen = server_follow_up()
    assert seen["status"] == "completed", seen
    assert seen["outcome"]["method"] == "on_site_signature", seen
    assert seen["signature"]["signer_name"] == task.customer_name, seen
    assert seen["photos"][0]["blob_sha256"] == photo.blob_sha256, seen
    uploaded = urllib.request.urlopen(
        urllib.request.Request(
            f"{URL}/api/v1/blobs/{photo.blob_sha256}",
            headers={"authorization": f"Bearer {token_of(USER)['token']}"},
        )
    )
    assert uploaded.headers["content-type"] == "image/png"
    assert uploaded.read() == store.photo(photo.blob_sha256), "the photo reached the server as taken"

    # The annual survey, answered with the customer during a visit, offline (R-SUR-2): the form
    # is the approved version that came with the reference rows; the answers are checked here as
    # the server checks them, and travel in the survey follow-up's document.
    form = store.survey_form(SURVEY)
    assert len(form.approved_sha256) == 64 and form.content.questions[0].id == "overall", form
    answer = lambda question, rating=None, choices=(), text=None: hp.SurveyAnswer(
        question_id=question, rating=rating, choices=list(choices), text=text
    )
    message = expect_error(hf.MobileError.InvalidInput, lambda: store.answer_survey(SURVEY, [answer("overall", 9)]))
    assert "ratings are 1 to 5" in message, message
    expect_error(hf.MobileError.InvalidInput, lambda: store.answer_survey(SURVEY, [answer("advice", text="好")]))
    assert store.badge_counts().unsynced == 0
    answered = store.answer_survey(
        SURVEY, [answer("overall", 4), answer("improve", choices=["clean"]), answer("advice", text="绿化再多一些")]
    )
    assert answered.status == "completed", answered
    report = store.sync_now(None)
    assert report.committed == 1 and not report.rejected, report
    seen = api(token_of(USER)["token"], f"/api/v1/followups/{SURVEY}")["follow_up"]
    assert seen["status"] == "completed" and seen["survey_response"]["channel"] == "visit", seen
    assert seen["survey_response"]["answers"][2]["text"] == "绿化再多一些", seen

    # The app rotates the key: the store goes on under the new one; the old opens nothing.
    new_key = hf.generate_store_key()
    store.rekey(new_key)
    assert store.badge_counts().unsynced == 0 and store.signed_in().username == USER
    del store
    expect_error(hf.MobileError.WrongKey, lambda: hf.FieldStore.open(path, key, "1.0.0", None))
    store = hf.FieldStore.open(path, new_key, "1.0.0", None)
    assert store.signed_in().username == USER

    # The phone is lost: an administrator orders its wipe; at its next sync it erases itself.
    staff_id = token_of(USER)["staff"]["id"]
    admin = token_of("admin")["token"]
    phone = next(s for s in api(admin, f"/api/v1/auth/sessions?staff_id={staff_id}")
                 if s["device_name"] == "python proof" and not s["revoked_at"])
    api(admin, f"/api/v1/auth/sessions/{phone['id']}/wipe", {})
    expect_error(hf.MobileError.Wiped, lambda: store.sync_now(None))
    assert not any(os.path.exists(path + suffix) for suffix in ("", "-wal", "-shm")), "store erased"
    expect_error(hf.MobileError.Wiped, lambda: store.tasks_due())
    shown = next(s for s in api(admin, f"/api/v1/auth/sessions?staff_id={staff_id}") if s["id"] == phone["id"])
    assert shown["wipe_confirmed_at"], shown
    print("python proof: ok")


if __name__ == "__main__":
    try:
        main()
    except Exception:
        import traceback

        traceback.print_exc()
        sys.exit(1)

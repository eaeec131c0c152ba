"""Package-to-live: a package uploaded into PrepIncoming as SFTP does, and
the time from its rename into place to the first response of
json/main.json carrying its corte (X-PREP-Corte, polled every 10 ms), then
to the first gzip response of it (the corte complete: a corte with much to
compress goes live before its new variants are made); the loader's phases
from the corte history in /prep-status."""

import datetime as dt
import http.client
import json
import os
import shutil
import time

from .common import FEED, PORT, PREFIX, die, say
from .machine import Others
from .servers import get


def same_instant(a, b):
    try:
        return dt.datetime.fromisoformat(a) == dt.datetime.fromisoformat(b)
    except (TypeError, ValueError):
        return False


def upload(pkg, incoming):
    """As SFTP does: NAME.part written, then renamed.  Returns the time of
    the rename (the upload is complete)."""
    part = os.path.join(incoming, pkg["name"] + ".part")
    final = os.path.join(incoming, pkg["name"])
    shutil.copyfile(pkg["path"], part)
    os.chmod(part, 0o644)
    renamed = time.time()
    os.rename(part, final)
    return renamed


def corte_header(conn):
    """X-PREP-Corte and Content-Encoding of json/main.json over a
    kept-alive connection."""
    conn.request("GET", PREFIX + "json/main.json", headers={"Accept-Encoding": "gzip"})
    r = conn.getresponse()
    r.read()
    return r.getheader("X-PREP-Corte"), r.getheader("Content-Encoding")


def wait_live(pkg, incoming, timeout=120):
    """Polls json/main.json every 10 ms until it carries the package's corte
    time, then until it comes gzip; returns the times it first did each."""
    end = time.time() + timeout
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
    live = None
    while time.time() < end:
        try:
            h, ce = corte_header(conn)
            if same_instant(h, pkg["corte"]):
                now = time.time()
                live = live or now
                if ce == "gzip":
                    conn.close()
                    return live, now
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
        if os.path.exists(os.path.join(incoming, "rejected", pkg["name"] + ".reason")):
            with open(os.path.join(incoming, "rejected", pkg["name"] + ".reason")) as f:
                die("%s was refused: %s" % (pkg["name"], f.read().strip()))
        time.sleep(0.01)
    die("%s not %s after %d s" % (pkg["name"], "complete" if live else "live", timeout))


def status_feed():
    try:
        st, _h, body = get("/prep-status", timeout=5)
        if st != 200:
            return None
        doc = json.loads(body)
        return next(f for f in doc["feeds"] if f["name"] == FEED)
    except Exception:
        return None


def history_item(name):
    f = status_feed()
    for item in (f or {}).get("history", []):
        if item.get("package") == name:
            return item
    return {}


def measure_live(pkg, incoming):
    time.sleep(1.0)  # the previous load's loader and its reaping are over
    others = Others()
    renamed = upload(pkg, incoming)
    live, complete = wait_live(pkg, incoming)
    time.sleep(0.3)
    item = history_item(pkg["name"])
    return {"after_rename_s": live - renamed, "complete_s": complete - renamed,
            "phases": item.get("phases", {}), "load_ms": item.get("load_ms"),
            "pending": (item.get("variants") or {}).get("pending"),
            "others": others.percent()}


def measure_each(titled, incoming):
    """[(title, package)] -> [(title, package, measure_live's figures)]."""
    rows = []
    for title, pkg in titled:
        say("package-to-live: " + title)
        rows.append((title, pkg, measure_live(pkg, incoming)))
    return rows

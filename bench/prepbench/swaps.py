"""Cortes swapped while the servers work: 10 swaps under load (wrk counts
every status, a client loop checks that X-PREP-Corte names the corte of the
body it came with), and the RSS of httpd's children and the store's size
across BENCH_SWAPS swaps under light load."""

import datetime as dt
import gzip
import http.client
import json
import os
import re
import subprocess
import threading
import time

from .common import PORT, PREFIX, say
from .live import same_instant, upload, wait_live
from .report import fmt_bytes
from .servers import find_listen_inodes, listening
from .wrk import stop, wrk


class Checker(threading.Thread):
    """Fetches json/main.json (identity and gzip alternately) and index.html
    in a loop and checks that X-PREP-Corte names the corte whose body it is:
    main.json's fechaCorte, index.html's banner."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.checked = 0
        self.mixed = []
        self.failed = []

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
        i = 0
        while not self.stop.is_set():
            i += 1
            enc = "gzip" if i % 2 else "identity"
            path = "json/main.json" if i % 3 else "index.html"
            try:
                conn.request("GET", PREFIX + path, headers={"Accept-Encoding": enc})
                r = conn.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException) as e:
                self.failed.append("%s: %s" % (path, e))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
                continue
            if r.status != 200:
                self.failed.append("%s: status %d" % (path, r.status))
                continue
            if r.getheader("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            hdr = r.getheader("X-PREP-Corte")
            if path == "json/main.json":
                ok = same_instant(hdr, json.loads(body)["fechaCorte"])
            else:
                t = dt.datetime.fromisoformat(hdr)
                ok = t.strftime("%d/%m/%Y %H:%M").encode() in body
            self.checked += 1
            if not ok:
                self.mixed.append("%s: header %s" % (path, hdr))


def bench_swaps(pkgs, incoming, lists):
    say("10 swaps under load")
    p = wrk("http://127.0.0.1:%d%s" % (PORT, PREFIX), "check.lua",
            [lists["casillas"], PREFIX], seconds=600, background=True)
    checker = Checker()
    checker.start()
    time.sleep(2)
    t = time.time()
    lives = []
    for pkg in pkgs:
        renamed = upload(pkg, incoming)
        lives.append(wait_live(pkg, incoming)[0] - renamed)
    time.sleep(2)
    elapsed = time.time() - t
    checker.stop.set()
    checker.join(15)
    r = stop(p)
    return r, checker, lives, elapsed


def children_rss(ppid):
    """(RSS of the worker children in KB, RSS of the other children: the
    intake and a loader if one runs) — summed from /proc."""
    workers = other = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent != ppid:
                continue
            with open("/proc/%s/status" % pid) as f:
                rss = int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))
        except (OSError, AttributeError, IndexError, ValueError):
            continue
        # workers have the listening sockets; the intake closed them
        if listening(pid):
            workers += rss
        else:
            other += rss
    return workers, other


def du(path):
    return int(subprocess.check_output(["du", "-sb", path], text=True).split()[0])


def bench_rss(pkgs, incoming, store, httpd_pid, lists):
    say("%d swaps for RSS and store size" % len(pkgs))
    find_listen_inodes()
    p = wrk("http://127.0.0.1:%d%s" % (PORT, PREFIX), "trickle.lua",
            [lists["casillas"], PREFIX], seconds=3600, conns=8, background=True)
    rows = []
    marks = {0, len(pkgs) // 2, len(pkgs)}

    def sample(n):
        time.sleep(1.0)  # the trickle reaches both children
        w, o = children_rss(httpd_pid)
        cortes = len(os.listdir(os.path.join(store, "cortes")))
        rows.append((n, w, o, du(store), cortes))
        say("swap %d: workers %d KB, intake %d KB, store %s, %d cortes" % (
            n, w, o, fmt_bytes(rows[-1][3]), cortes))

    sample(0)
    t = time.time()
    for i, pkg in enumerate(pkgs, 1):
        upload(pkg, incoming)
        wait_live(pkg, incoming)
        if i in marks:
            sample(i)
    elapsed = time.time() - t
    return rows, stop(p), elapsed

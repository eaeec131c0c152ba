"""What every part of the bench shares: the knobs from the environment
(BENCH_*; the report part's own, BENCH_REPORT_*, are in memoria.py), the
paths, the messages on stderr, and the processes started (every one is
stopped at the end, also on Ctrl-C)."""

import datetime as dt
import os
import signal
import subprocess
import sys

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOP = os.path.dirname(BENCH)
WORK = os.path.join(BENCH, "work")
LUA = os.path.join(BENCH, "lua")
PORT = int(os.environ.get("BENCH_PORT", "18080"))
NGINX_PORT = PORT + 1
SECONDS = int(os.environ.get("BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SWAPS = int(os.environ.get("BENCH_SWAPS", "100"))
SIZE_MB = os.environ.get("BENCH_SIZE_MB", "5.1")
BIG_MB = os.environ.get("BENCH_BIG_MB", "32")
BIG2_MB = os.environ.get("BENCH_BIG2_MB", "35")
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(","))) or {
    "serve", "tls", "profile", "live", "swaps", "rss", "big", "report"}
FILES = 8000
HTTPD = os.environ.get("HTTPD", "/usr/sbin/apache2")
SO = os.path.join(TOP, ".libs", "mod_prep.so")
FEED = "ref"
PREFIX = "/prep/ref/"
STOCK = "/stock/"
T0 = dt.datetime.fromisoformat("2024-06-02T20:05:00-06:00")
SETTLE = 1.0

procs = []  # every process started, stopped at the end


def say(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def die(msg):
    say("error: " + msg)
    sys.exit(1)


def run(cmd, **kw):
    kw.setdefault("timeout", 600)
    return subprocess.run(cmd, check=True, **kw)


def stop_all():
    for p in reversed(procs):
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=20)
            except Exception:
                p.kill()
    procs.clear()


def on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)

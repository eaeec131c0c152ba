"""The wrk driver: one run of a bench/lua script (every request with
Accept-Encoding: gzip), in the foreground or in the background, and the
parsing of the BENCHJSON line the scripts print (bench/lua/common.lua)."""

import json
import os
import re
import signal
import subprocess

from .common import LUA, SECONDS, die, procs


def wrk(url, script, args=(), seconds=SECONDS, conns=32, threads=2, timeout="10s",
        background=False):
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds, "--timeout",
           timeout, "-s", os.path.join(LUA, script), "-H", "Accept-Encoding: gzip",
           url]
    if args:
        cmd += ["--"] + [str(a) for a in args]
    if background:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        procs.append(p)
        return p
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, timeout=seconds + 60).stdout
    return parse_wrk(out)


def stop(p):
    """Ends a background run (SIGINT: wrk prints its summary) and parses it."""
    p.send_signal(signal.SIGINT)
    out = p.communicate(timeout=30)[0]
    procs.remove(p)
    return parse_wrk(out)


def parse_wrk(out):
    m = re.search(r"^BENCHJSON (.*)$", out, re.M)
    if not m:
        die("wrk said:\n" + out)
    r = json.loads(m.group(1))
    secs = r["duration_us"] / 1e6
    r["rps"] = r["requests"] / secs if secs else 0
    r["bps"] = r["bytes"] / secs if secs else 0
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"] + r["status"]
    return r


def merge_codes(rs):
    out = {}
    for r in rs:
        for k, v in r["codes"].items():
            out[k] = out.get(k, 0) + v
    return out

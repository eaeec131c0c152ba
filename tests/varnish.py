#!/usr/bin/env python3
"""varnish.py — the HTTP side of tests/varnish.sh (Varnish with prep.vcl).

Subcommands (standard library only; `brotli` on PATH decodes br):

  paths PKG                      the files of a package, one URL path a line
  addfile PKG NAME TEXT          adds NAME (below the top folder) to a .tar.gz
  proxy PORT TARGET MS LOG       a TCP proxy to 127.0.0.1:TARGET that holds each
                                 response MS ms, logging "time corte-id path"
  watch URL OLD_ID               polls URL (20 ms) until X-PREP-Corte-Id (or the
                                 status) is no longer OLD_ID; prints "time id"
  fetch BASE PATHS OUT           every path in br, gzip, identity (warms a cache,
                                 or records what it answers): JSON lines in OUT
  check VARNISH ORIGIN PATHS     every path in br, gzip, identity through
                                 VARNISH equals the origin: status,
                                 X-PREP-Corte-Id, Content-Encoding and bytes
  poll URL PERIOD SECONDS OUT    one client polling URL every PERIOD s (main.json
                                 in case 1): "time status id cache" lines
  swarm URL N PERIOD SECONDS OUT N keep-alive clients polling URL at random
                                 phases: "time id" per poll, binary-safe text
  stream BASE PATHS SECONDS OUT  asks each variant twice in turn (16 at a time)
                                 for SECONDS: "time id cache path enc" in OUT
  origin LOG FROM TO             the origin's access log between two times,
                                 summed: JSON {key: [count, statuses]}
  swarm-report OUT T0 GRACE      what the swarm saw around T0: JSON
"""

import asyncio
import gzip
import http.client
import io
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

ENCODINGS = ("br", "gzip", "identity")


def die(msg):
    print("varnish.py: " + msg, file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------- packages
def package_paths(pkg):
    out = []
    with tarfile.open(pkg) as t:
        for m in t.getmembers():
            if m.isfile():
                parts = m.name.split("/")
                out.append("/".join(parts[1:]) if len(parts) > 1 else parts[0])
    return sorted(out)


def cmd_paths(pkg):
    for p in package_paths(pkg):
        print(urllib.parse.quote(p))


def cmd_addfile(pkg, name, text):
    with tarfile.open(pkg) as t:
        members = [(m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()]
    top = members[0][0].name.split("/")[0]
    data = text.encode()
    tmp = pkg + ".tmp"
    with tarfile.open(tmp, "w:gz") as t:
        for m, content in members:
            t.addfile(m, io.BytesIO(content) if content is not None else None)
        info = tarfile.TarInfo(top + "/" + name)
        info.size = len(data)
        info.mtime = members[0][0].mtime
        info.mode = 0o644
        t.addfile(info, io.BytesIO(data))
    os.replace(tmp, pkg)


# ---------------------------------------------------------------- HTTP helpers
def split(base):
    u = urllib.parse.urlsplit(base)
    return u.hostname, u.port, u.path.rstrip("/")


class Client:
    """One keep-alive connection per thread."""

    def __init__(self, base):
        self.host, self.port, self.prefix = split(base)
        self.local = threading.local()

    def get(self, path, enc, headers=None):
        h = {"Accept-Encoding": enc, "User-Agent": "prep-varnish-test"}
        h.update(headers or {})
        for attempt in range(3):
            c = getattr(self.local, "c", None)
            if c is None:
                c = self.local.c = http.client.HTTPConnection(self.host, self.port, timeout=10)
            try:
                c.request("GET", self.prefix + "/" + path, headers=h)
                r = c.getresponse()
                body = r.read()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, body
            except (OSError, http.client.HTTPException):
                c.close()
                self.local.c = None
                if attempt == 2:
                    raise
        return None


def decode(hdrs, body):
    enc = hdrs.get("content-encoding", "identity")
    if enc == "gzip":
        return gzip.decompress(body)
    if enc == "br":
        r = subprocess.run(["brotli", "-d", "-c"], input=body, capture_output=True, check=False)
        if r.returncode != 0:
            raise ValueError("brotli -d failed: " + r.stderr.decode(errors="replace"))
        return r.stdout
    return body


def read_paths(f):
    return [l.strip() for l in open(f) if l.strip()]


# ---------------------------------------------------------------- proxy
async def proxy_conn(creader, cwriter, target, delay, log):
    try:
        ureader, uwriter = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        cwriter.close()
        return
    paths = []

    async def upstream():
        try:
            while True:
                head = await creader.readuntil(b"\r\n\r\n")
                paths.append(head.split(b" ", 2)[1].decode(errors="replace"))
                uwriter.write(head)
                n = content_length(head)
                if n:
                    uwriter.write(await creader.readexactly(n))
                await uwriter.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            uwriter.close()

    async def downstream():
        try:
            while True:
                head = await ureader.readuntil(b"\r\n\r\n")
                n = content_length(head)
                body = await ureader.readexactly(n) if n else b""
                await asyncio.sleep(delay)
                cwriter.write(head + body)
                await cwriter.drain()
                log.write("%.6f %s %s\n" % (time.time(), header(head, b"x-prep-corte-id") or "-",
                                            paths.pop(0) if paths else "?"))
                log.flush()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            cwriter.close()

    await asyncio.gather(upstream(), downstream())


def header(head, name):
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == name:
            return v.strip().decode(errors="replace")
    return None


def content_length(head):
    first = head.split(b"\r\n", 1)[0]
    if first.startswith(b"HTTP/") and (b" 304 " in first or b" 204 " in first):
        return 0
    v = header(head, b"content-length")
    return int(v) if v else 0


def cmd_proxy(port, target, ms, logfile):
    log = open(logfile, "a")

    async def main():
        srv = await asyncio.start_server(
            lambda r, w: proxy_conn(r, w, int(target), int(ms) / 1000.0, log),
            "127.0.0.1", int(port), limit=1 << 20)
        async with srv:
            await srv.serve_forever()

    asyncio.run(main())


# ---------------------------------------------------------------- watch, fetch, check
def cmd_watch(url, old):
    host, port, path = split(url)
    end = time.time() + 60
    while time.time() < end:
        try:
            c = http.client.HTTPConnection(host, port, timeout=2)
            c.request("GET", path, headers={"User-Agent": "prep-origin-watch"})
            r = c.getresponse()
            r.read()
            cid = r.getheader("X-PREP-Corte-Id") or ("status-%d" % r.status)
            c.close()
            if cid != old:
                print("%.6f %s" % (time.time(), cid))
                return
        except OSError:
            pass
        time.sleep(0.02)
    die("watch: %s still serves %s after 60 s" % (url, old))


def each_variant(base, paths, fn, workers=8):
    cl = Client(base)
    jobs = [(p, e) for p in paths for e in ENCODINGS]
    with ThreadPoolExecutor(workers) as ex:
        return list(ex.map(lambda j: fn(cl, j[0], j[1]), jobs))


def cmd_fetch(base, pathsfile, out):
    def one(cl, p, e):
        st, h, _ = cl.get(p, e)
        return {"path": p, "enc": e, "status": st, "id": h.get("x-prep-corte-id"),
                "cache": h.get("x-cache")}

    with open(out, "w") as f:
        for rec in each_variant(base, read_paths(pathsfile), one):
            f.write(json.dumps(rec) + "\n")


def cmd_check(varnish, origin, pathsfile):
    """Exit 0 if every variant through Varnish is the origin's; prints a
    JSON summary (and the first problems)."""
    paths = read_paths(pathsfile)
    oc = Client(origin)
    t0 = time.time()

    def one(cl, p, e):
        st, h, body = cl.get(p, e)
        ost, oh, obody = oc.get(p, e)
        bad = []
        if st != ost:
            bad.append("status %s, origin %s" % (st, ost))
        if h.get("x-prep-corte-id") != oh.get("x-prep-corte-id"):
            bad.append("X-PREP-Corte-Id %s, origin %s" % (h.get("x-prep-corte-id"),
                                                          oh.get("x-prep-corte-id")))
        if st == 200:
            if h.get("content-encoding") != oh.get("content-encoding"):
                bad.append("Content-Encoding %s, origin %s" % (h.get("content-encoding"),
                                                               oh.get("content-encoding")))
            want = ("br", "gzip") if e != "identity" else ()
            got = h.get("content-encoding")
            if got and got not in want:
                bad.append("a %s client got Content-Encoding %s" % (e, got))
            # each side decoded on its own: the failure says whose body it is
            # (Varnish's or the origin's), with the body's first bytes
            decoded = {}
            for side, hh, bb in (("Varnish", h, body), ("the origin", oh, obody)):
                try:
                    decoded[side] = decode(hh, bb)
                except Exception as ex:  # a body that does not decode is the failure
                    bad.append("%s's body does not decode: %s (%d bytes, %s...)"
                               % (side, ex, len(bb), bb[:16].hex()))
            if len(decoded) == 2 and decoded["Varnish"] != decoded["the origin"]:
                bad.append("bytes differ from the origin's once decoded")
        return {"path": p, "enc": e, "status": st, "cache": h.get("x-cache"),
                "ce": h.get("content-encoding"), "bad": bad}

    res = each_variant(varnish, paths, one)
    bad = [r for r in res if r["bad"]]
    encs = {}
    for r in res:
        if r["status"] == 200:
            encs.setdefault(r["enc"], set()).add(r["ce"] or "identity")
    summary = {"variants": len(res), "bad": len(bad), "seconds": round(time.time() - t0, 2),
               "hits": sum(1 for r in res if r["cache"] == "HIT"),
               "statuses": sorted({r["status"] for r in res}),
               "encodings": {k: sorted(v) for k, v in encs.items()},
               "problems": [r["path"] + " (" + r["enc"] + "): " + "; ".join(r["bad"]) for r in bad[:5]]}
    print(json.dumps(summary))
    sys.exit(1 if bad else 0)


def cmd_poll(url, period, seconds, out):
    host, port, path = split(url)
    c = http.client.HTTPConnection(host, port, timeout=5)
    end = time.time() + float(seconds)
    with open(out, "w") as f:
        while time.time() < end:
            t = time.time()
            c.request("GET", path, headers={"User-Agent": "prep-varnish-test"})
            r = c.getresponse()
            r.read()
            f.write("%.6f %d %s %s %s\n" % (t, r.status, r.getheader("X-PREP-Corte-Id") or "-",
                                           r.getheader("X-Cache") or "-", r.getheader("Age") or "-"))
            time.sleep(max(0.0, float(period) - (time.time() - t)))


def cmd_stream(base, pathsfile, seconds, out):
    """Each variant in turn, 16 at a time at random moments, asked twice (the second answer is
    the object the first one's fetch left in the cache); every answer's
    "time id cache path enc" in OUT."""
    paths = read_paths(pathsfile)
    jobs = [(p, e) for p in paths for e in ENCODINGS]
    random.Random(7).shuffle(jobs)
    cl = Client(base)
    end = time.time() + float(seconds)
    it = iter(jobs)
    lock = threading.Lock()
    seen = []

    def worker():
        time.sleep(random.random() * 0.3)
        while time.time() < end:
            with lock:
                j = next(it, None)
            if j is None:
                return
            for _ in range(2):
                t = time.time()
                try:
                    _, h, _ = cl.get(j[0], j[1])
                except OSError:
                    continue
                seen.append("%.6f %s %s %s %s" % (t, h.get("x-prep-corte-id") or "-",
                                                  h.get("x-cache") or "-", j[0], j[1]))
            # not in step with each other: the fetches reach the origin at
            # any moment, the publish's included
            time.sleep(random.random() * 0.1)

    ts = [threading.Thread(target=worker) for _ in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(out, "w") as f:
        f.write("\n".join(seen) + "\n")


# ---------------------------------------------------------------- swarm
async def swarm_client(host, port, req, period, start, end, out, errors):
    await asyncio.sleep(start - time.time() + random.random() * period)
    reader = writer = None
    t = time.time()
    while t < end:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            n = content_length(head)
            if n:
                await reader.readexactly(n)
            out.append((t, header(head, b"x-prep-corte-id") or "-"))
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            errors.append(t)
            if writer is not None:
                writer.close()
            reader = writer = None
        t += period
        await asyncio.sleep(max(0.0, t - time.time()))
        t = max(t, time.time() - 0.0)
    if writer is not None:
        writer.close()


def cmd_swarm(url, n, period, seconds, outfile):
    host, port, path = split(url)
    req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: prep-swarm\r\n\r\n" % (path, host, port)).encode()
    out, errors = [], []

    async def main():
        start = time.time() + 0.5
        end = start + float(seconds)
        await asyncio.gather(*(swarm_client(host, port, req, float(period), start, end, out, errors)
                               for _ in range(int(n))))

    asyncio.run(main())
    with open(outfile, "w") as f:
        for t, cid in out:
            f.write("%.6f %s\n" % (t, cid))
    print(json.dumps({"polls": len(out), "errors": len(errors)}))


def cmd_swarm_report(outfile, t0, grace, old):
    t0, grace = float(t0), float(grace)
    polls = [l.split() for l in open(outfile)]
    polls = [(float(t), cid) for t, cid in polls]
    late = [(t, cid) for t, cid in polls if t > t0 + grace and cid == old]
    olds = [t - t0 for t, cid in polls if cid == old]
    span = (min(t for t, _ in polls), max(t for t, _ in polls)) if polls else (0, 0)
    print(json.dumps({
        "polls": len(polls),
        "polls_per_s": round(len(polls) / max(1e-9, span[1] - span[0]), 1),
        "old_after_grace": len(late),
        "worst_lag_s": round(max(olds), 3) if olds else None,
        "polls_after_t0": sum(1 for t, _ in polls if t > t0),
        "span": [round(span[0], 3), round(span[1], 3)],
    }))
    sys.exit(1 if late else 0)


# ---------------------------------------------------------------- origin log
def cmd_origin(logfile, t_from, t_to):
    """Lines: TIME STATUS "PATH" "ACCEPT-ENCODING" "CORTE-ID" "USER-AGENT"."""
    t_from, t_to = float(t_from), float(t_to)
    keys = {}
    for line in open(logfile, errors="replace"):
        parts = line.rstrip("\n").split(" ", 2)
        if len(parts) < 3:
            continue
        t = float(parts[0])
        if not (t_from <= t <= t_to):
            continue
        fields = parts[2][1:-1].split('" "')
        if len(fields) < 4:
            continue
        path, ae, _cid, ua = fields[:4]
        if ua == "prep-origin-watch":
            continue
        k = path + " " + (ae if ae != "-" else "identity")
        rec = keys.setdefault(k, [0, {}])
        rec[0] += 1
        rec[1][parts[1]] = rec[1].get(parts[1], 0) + 1
    print(json.dumps(keys))


def main():
    if len(sys.argv) < 2:
        die("usage: see the header of " + sys.argv[0])
    cmd, args = sys.argv[1], sys.argv[2:]
    table = {"paths": cmd_paths, "addfile": cmd_addfile, "proxy": cmd_proxy,
             "watch": cmd_watch, "fetch": cmd_fetch, "check": cmd_check, "poll": cmd_poll,
             "swarm": cmd_swarm, "stream": cmd_stream, "origin": cmd_origin,
             "swarm-report": cmd_swarm_report}
    if cmd not in table:
        die("no command " + cmd)
    table[cmd](*args)


if __name__ == "__main__":
    main()

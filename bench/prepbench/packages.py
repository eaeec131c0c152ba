"""The packages the bench uploads: made by tests/genpackage.py, cached in
bench/work/packages/ under a key of everything genpackage is given (and of
genpackage itself), and the plan of which package each part uses."""

import datetime as dt
import hashlib
import os
import subprocess
import sys
import tarfile
import time

from .common import BIG2_MB, BIG_MB, FILES, ROUNDS, SIZE_MB, SWAPS, T0, TOP, WORK, die, say


def corte(minutes):
    return (T0 + dt.timedelta(minutes=minutes)).isoformat()


def _genpackage_sha():
    with open(os.path.join(TOP, "tests", "genpackage.py"), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


GENPACKAGE_SHA = _genpackage_sha()


def package(name, seed, minutes, size_mb=None, static_from=None):
    """A genpackage package, cached in work/packages/."""
    size_mb = size_mb or SIZE_MB
    # the cache key: everything genpackage is given, and genpackage itself
    key = "s%d-m%d-z%s%s-f%d-g%s" % (seed, minutes, size_mb, "" if static_from is None
                                     else "-d%d" % static_from, FILES, GENPACKAGE_SHA)
    return {"name": name, "seed": seed, "corte": corte(minutes),
            "size_mb": size_mb, "static_from": static_from,
            "path": os.path.join(WORK, "packages", key + ".tar.gz")}


class Plan:
    """Every package of a run, cortes one after the other in time: the
    reference (seed 1); ROUNDS pairs of a full new corte (seed 10r+2: every
    file differs) and a corte where only data changed (seed 10r+3, static
    files of 10r+2); the swaps; the RSS run; the big pair."""

    def __init__(self):
        self.ref = package("ref-s1.tar.gz", 1, 0)
        self.live = []  # (title, package)
        minute = 0
        for r in range(ROUNDS):
            minute += 5
            self.live.append(("full new corte #%d" % (r + 1),
                              package("full-s%d.tar.gz" % (10 * r + 2), 10 * r + 2,
                                      minute)))
            minute += 5
            self.live.append(("only data changed #%d" % (r + 1),
                              package("data-s%d.tar.gz" % (10 * r + 3), 10 * r + 3,
                                      minute, static_from=10 * r + 2)))
        static = 10 * (ROUNDS - 1) + 2
        minute += 5
        self.swaps = [package("swap-%02d.tar.gz" % i, 100 + i, minute + i,
                              static_from=static) for i in range(10)]
        minute += 10
        self.rss = [package("rss-%03d.tar.gz" % i, 1000 + i, minute + i,
                            static_from=static) for i in range(SWAPS)]
        minute += SWAPS + 5
        # the big packages last, so that their cortes are not in the store
        # the RSS run starts from: ROUNDS pairs of each size (BENCH_BIG_MB,
        # the reference package, and BENCH_BIG2_MB)
        self.big = []  # (title, package)
        for k, mb in enumerate(m for m in (BIG_MB, BIG2_MB) if float(m) > 0):
            for r in range(ROUNDS):
                seed = 4000 + 100 * k + 10 * r
                minute += 5
                self.big.append(("big %s MB: full new corte #%d" % (mb, r + 1),
                                 package("big%s-full-%d.tar.gz" % (mb, r), seed, minute,
                                         size_mb=mb)))
                minute += 5
                self.big.append(("big %s MB: only data changed #%d" % (mb, r + 1),
                                 package("big%s-data-%d.tar.gz" % (mb, r), seed + 1, minute,
                                         size_mb=mb, static_from=seed)))

    def needed(self, only):
        """The packages the parts in `only` upload (the reference always)."""
        need = [self.ref]
        if "big" in only:
            need += [p for _, p in self.big]
        if "live" in only or "swaps" in only or "rss" in only or "big" in only:
            need += [p for _, p in self.live]
        if "swaps" in only or "rss" in only:
            need += self.swaps
        if "rss" in only:
            need += self.rss
        return need


def generate(pkgs):
    missing = [p for p in pkgs if not os.path.exists(p["path"])]
    if not missing:
        return
    say("generating %d packages (cached in bench/work/packages)" % len(missing))
    env = dict(os.environ)
    if os.path.isdir("/dev/shm"):
        env["TMPDIR"] = "/dev/shm"
    running = []
    deadline = time.time() + 60 * 60
    for p in missing:
        cmd = [sys.executable, os.path.join(TOP, "tests", "genpackage.py"),
               p["path"] + ".tmp.tar.gz", "--seed", str(p["seed"]), "--corte",
               p["corte"], "--files", str(FILES), "--size-mb", str(p["size_mb"])]
        if p["static_from"] is not None:
            cmd += ["--only-data-changes-from", str(p["static_from"])]
        running.append((p, subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)))
        while len([1 for _, q in running if q.poll() is None]) >= 2:
            if time.time() > deadline:
                die("genpackage takes more than an hour")
            time.sleep(0.05)
    for p, q in running:
        if q.wait(timeout=600) != 0:
            die("genpackage failed for " + p["name"])
        os.rename(p["path"] + ".tmp.tar.gz", p["path"])


def big_csv_size(pkg):
    with tarfile.open(pkg["path"]) as t:
        for m in t.getmembers():
            if m.name.endswith("datos/PRES_2024.csv"):
                return m.size
    return 0

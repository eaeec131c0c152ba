"""The machine the bench runs on: what it is (the lines of the report's
header) and how much of its CPU others use (the machine is shared)."""

import os
import re
import shutil
import subprocess
import time

from .common import HTTPD

HZ = os.sysconf("SC_CLK_TCK")


def describe():
    """(name, value) pairs: CPUs, kernel, and the servers' and wrk's versions."""
    with open("/proc/cpuinfo") as f:
        m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
    httpd_v = subprocess.check_output([HTTPD, "-v"], text=True).splitlines()[0]
    httpd_v = httpd_v.split(":", 1)[1].strip()
    ng = shutil.which("nginx")
    ng_v = (subprocess.run([ng, "-v"], stderr=subprocess.PIPE, text=True).stderr.strip()
            .split(":", 1)[1].strip() if ng else "not installed")
    wrk_v = subprocess.run(["wrk", "-v"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True).stdout.split("\n")[0].strip()
    return [("nproc", str(os.cpu_count())), ("CPU", m.group(1) if m else "?"),
            ("kernel", os.uname().release), ("httpd", httpd_v + ", event MPM"),
            ("nginx", ng_v), ("wrk", wrk_v)]


def proc_table():
    """pid -> (ppid, CPU ticks of the process and its reaped children)."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(pid)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    return out


class Others:
    """CPU time used on the machine by processes that are not the bench's
    (other users of a shared machine): total busy time from /proc/stat less
    the ticks of the bench's own process tree."""

    def __init__(self):
        self.t0 = time.time()
        self.busy0 = self.busy()
        self.ours0 = self.ours()

    @staticmethod
    def busy():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v) - v[3] - v[4]

    @staticmethod
    def ours():
        table = proc_table()
        me = os.getpid()
        total = {}
        for pid, (_pp, ticks) in table.items():
            p, seen = pid, 0
            while p and p in table and seen < 64:
                if p == me:
                    total[pid] = ticks
                    break
                p = table[p][0]
                seen += 1
        return total

    def percent(self):
        """Others' share of the machine's CPU since construction, in %."""
        busy = self.busy() - self.busy0
        ours1 = self.ours()
        ours = sum(t - self.ours0.get(pid, 0) for pid, t in ours1.items())
        wall = (time.time() - self.t0) * HZ * (os.cpu_count() or 1)
        return max(0.0, 100.0 * (busy - ours) / wall) if wall else 0.0


def cpu_busy(seconds=2.0):
    """Share of CPU time not idle over `seconds`, all CPUs, from /proc/stat."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]
    t1, i1 = sample()
    time.sleep(seconds)
    t2, i2 = sample()
    return 100.0 * (1 - (i2 - i1) / float(t2 - t1)) if t2 > t1 else 0.0

#!/usr/bin/env python3
"""tests/staging-watch.py — strikes a load of tests/faults.sh at a moment
seen in the store's staging directory.

  staging-watch.py STAGING groups WHEN PGID...
      SIGKILLs the process groups PGID while a load runs: WHEN is
      "mid-load" (30 MB unpacked) or "swap" (the built corte renamed from
      staging/load-PID to staging/ID, before it is in cortes/).  Prints
      where it struck: mid-load, swap, after-swap (missed it) or timeout.
  staging-watch.py STAGING loader INTAKE JOURNAL
      waits for the intake's loader to have written 10 MB into
      staging/load-PID, stops it (SIGSTOP), checks that it has not swapped
      yet and kills it (SIGKILL), in one go: a loader that ended between a
      check and a kill made a case fail without a word.  Prints "killed PID
      (BYTES JOURNAL_LINES" (the journal's lines at the kill), or why not
      (exit 1).
"""
import os
import signal
import sys
import time


def size(d):
    n = 0
    for root, _, files in os.walk(d):
        for f in files:
            try:
                n += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return n


def names(staging):
    try:
        return os.listdir(staging)
    except OSError:
        return []


def groups(staging, when, pgids):
    end = time.time() + 90
    seen_load = False
    while time.time() < end:
        now = names(staging)
        loads = [n for n in now if n.startswith("load-")]
        seen_load = seen_load or bool(loads)
        hit = None
        if any(not n.startswith("load-") for n in now):
            hit = "swap"
        elif seen_load and not now:
            hit = "after-swap"
        elif when == "mid-load" and loads and size(staging) > 30000000:
            hit = "mid-load"
        if hit:
            for g in pgids:
                try:
                    os.killpg(g, signal.SIGKILL)
                except OSError:
                    pass
            print(hit)
            return 0
        time.sleep(0.002 if when == "swap" else 0.05)
    print("timeout")
    return 0


def children(pid):
    try:
        with open("/proc/%s/task/%s/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def loader(staging, intake, journal):
    end = time.time() + 60
    while time.time() < end:
        pids = children(intake)
        loads = [n for n in names(staging) if n.startswith("load-")]
        if pids and loads and size(staging) > 10000000:
            pid = pids[0]
            os.kill(pid, signal.SIGSTOP)
            if "load-%d" % pid not in names(staging):
                os.kill(pid, signal.SIGCONT)
                print("missed: loader %d was past its load or not the load's (%s)"
                      % (pid, " ".join(names(staging))))
                return 1
            n = size(staging)
            try:
                with open(journal, "rb") as f:
                    lines = f.read().count(b"\n")
            except OSError:
                lines = 0
            os.kill(pid, signal.SIGKILL)
            print("killed %d (%d %d" % (pid, n, lines))
            return 0
        time.sleep(0.02)
    print("no loader mid-load within 60 s")
    return 1


if __name__ == "__main__":
    staging, mode = sys.argv[1], sys.argv[2]
    if mode == "groups":
        sys.exit(groups(staging, sys.argv[3], [int(g) for g in sys.argv[4:]]))
    sys.exit(loader(staging, sys.argv[3], sys.argv[4]))

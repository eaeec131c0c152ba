#!/usr/bin/env python3
"""race.py — fires an action at the moment another process opens a file.

An attacker with write access to a directory (the institute's SFTP account
in PrepIncoming) can watch it with inotify and swap a file while the loader
reads it.  This tool does exactly that, for tests/integrity.sh:

    race.py [--on open,access,close_nowrite] [--nth N] [--timeout S]
            [--also DIR2 NAME2]... [--rename SRC DST]... [--exec CMD] DIR NAME

It watches DIR (inotify, through ctypes: no extra packages), prints
`ready` on stdout once the watch is in place, waits for the Nth event of
the chosen kinds (default: the first IN_OPEN) on DIR/NAME (or on any
DIR2/NAME2 given with --also: the first of them counts), then at once
renames each SRC over its DST (rename(2), so DST is replaced atomically),
runs CMD with sh -c if given, prints `fired EVENT NAME +Tms` (T: the
delay from reading the event to the end of the renames), and exits 0.
Without the event before the timeout it prints `timeout` and exits 2.

inotify does not say which process opened the file: the first open after
the watch starts is taken to be the loader's (nothing else should read a
package in an incoming directory).  Only the Python standard library.
"""

import argparse
import ctypes
import ctypes.util
import errno
import os
import select
import struct
import subprocess
import sys
import time

IN_ACCESS = 0x00000001
IN_CLOSE_NOWRITE = 0x00000010
IN_OPEN = 0x00000020
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
EVENTS = {"open": IN_OPEN, "access": IN_ACCESS, "close_nowrite": IN_CLOSE_NOWRITE}
HEADER = struct.Struct("iIII")  # wd, mask, cookie, len; then the name


def inotify_watch(targets, mask):
    """An inotify descriptor watching each (directory, name) of targets, and
    a map of its watch descriptors to the names wanted in each directory."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, "inotify_init1: " + os.strerror(e))
    wanted = {}
    for directory, name in targets:
        wd = libc.inotify_add_watch(fd, os.fsencode(directory), ctypes.c_uint32(mask))
        if wd < 0:
            e = ctypes.get_errno()
            raise OSError(e, "inotify_add_watch %s: %s" % (directory, os.strerror(e)))
        wanted.setdefault(wd, set()).add(name)
    return fd, wanted


def events(fd, deadline):
    """Yields (wd, mask, name) until the deadline."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return
        try:
            buf = os.read(fd, 65536)
        except BlockingIOError:
            continue
        off = 0
        while off + HEADER.size <= len(buf):
            wd, mask, _cookie, length = HEADER.unpack_from(buf, off)
            off += HEADER.size
            name = buf[off:off + length].rstrip(b"\0")
            off += length
            yield wd, mask, os.fsdecode(name)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir")
    ap.add_argument("name")
    ap.add_argument("--on", default="open",
                    help="comma-separated events: open, access, close_nowrite [open]")
    ap.add_argument("--nth", type=int, default=1, help="act on the Nth matching event [1]")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds [60]")
    ap.add_argument("--also", nargs=2, action="append", default=[], metavar=("DIR2", "NAME2"),
                    help="another file whose event counts as well")
    ap.add_argument("--rename", nargs=2, action="append", default=[], metavar=("SRC", "DST"))
    ap.add_argument("--exec", dest="cmd", default=None, help="shell command run after the renames")
    a = ap.parse_args(argv)

    mask = 0
    for e in a.on.split(","):
        if e not in EVENTS:
            ap.error("unknown event %r" % e)
        mask |= EVENTS[e]
    fd, wanted = inotify_watch([(a.dir, a.name)] + [tuple(t) for t in a.also], mask)
    print("ready", flush=True)
    seen = 0
    for wd, ev_mask, name in events(fd, time.monotonic() + a.timeout):
        if name not in wanted.get(wd, ()) or not ev_mask & mask:
            continue
        seen += 1
        if seen < a.nth:
            continue
        t0 = time.monotonic()
        for src, dst in a.rename:
            try:
                os.rename(src, dst)
            except OSError as e:
                print("rename %s -> %s: %s" % (src, dst, e.strerror), file=sys.stderr, flush=True)
                return 1
        took = (time.monotonic() - t0) * 1000
        kind = ",".join(k for k, v in EVENTS.items() if ev_mask & v)
        if a.cmd:
            subprocess.run(["sh", "-c", a.cmd], check=False)
        print("fired %s %s +%.2fms" % (kind, name, took), flush=True)
        return 0
    print("timeout", flush=True)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except OSError as e:
        if e.errno == errno.ENOSPC:
            print("race.py: no inotify watches left", file=sys.stderr)
        print("race.py: %s" % e, file=sys.stderr)
        sys.exit(1)

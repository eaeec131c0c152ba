"""tests/prep_png.py — the screenshots of headless chromium read back, for
the root tests that look at what a person sees (dashboard.sh, banner.sh,
memoria.sh): an 8-bit RGB or RGBA PNG, not interlaced, decoded with zlib
and struct alone (no image library on a fresh Debian machine).

    sys.path.insert(0, TESTS_DIR); from prep_png import decode
    w, h, rows = decode(path)   # rows[y][x] == (r, g, b)
"""
import struct
import zlib


def decode(path):
    """The PNG's width, height and rows of (r, g, b) pixels."""
    data = open(path, 'rb').read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise SystemExit('%s: not a PNG' % path)
    pos, idat, head = 8, [], None
    while pos + 8 <= len(data):
        size, kind = struct.unpack('>I4s', data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + size]
        if kind == b'IHDR':
            head = struct.unpack('>IIBBBBB', chunk)
        elif kind == b'IDAT':
            idat.append(chunk)
        elif kind == b'IEND':
            break
        pos += 12 + size
    w, h, depth, colour, _, _, interlace = head
    if depth != 8 or colour not in (2, 6) or interlace:
        raise SystemExit('%s: a PNG of kind %r' % (path, head))
    n = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(b''.join(idat)), w * n
    prev, rows = bytes(stride), []
    for y in range(h):
        start = y * (stride + 1)
        kind, line = raw[start], raw[start + 1:start + 1 + stride]
        if kind == 0:
            cur = line
        elif kind == 2 and not any(line):
            cur = prev  # the row above again: most rows of a page
        else:
            cur = bytearray(line)
            for i in range(stride):
                left = cur[i - n] if i >= n else 0
                up = prev[i]
                if kind == 1:
                    cur[i] = (cur[i] + left) & 255
                elif kind == 2:
                    cur[i] = (cur[i] + up) & 255
                elif kind == 3:
                    cur[i] = (cur[i] + (left + up) // 2) & 255
                elif kind == 4:
                    corner = prev[i - n] if i >= n else 0
                    guess = left + up - corner
                    dl, du, dc = abs(guess - left), abs(guess - up), abs(guess - corner)
                    cur[i] = (cur[i] + (left if dl <= du and dl <= dc else up if du <= dc else corner)) & 255
            cur = bytes(cur)
        rows.append([tuple(cur[x * n:x * n + 3]) for x in range(w)])
        prev = cur
    return w, h, rows

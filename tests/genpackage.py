#!/usr/bin/env python3
"""genpackage.py — writes a realistic PREP "paquete de difusión" for tests.

The package looks like what an OPLE pushes to a difusor every corte: an HTML
site, per distrito/municipio/casilla JSON, json/main.json with the corte time,
a CSV database whose second line is the corte time, and static assets.  The
tree is written to a temporary directory and packed with the real `tar -czf`
(or `zip -r`), so the archive is what libarchive will see in production.

Output is deterministic for a given --seed and --corte.  Static files (HTML,
CSS, JS, images, fonts) depend only on the seed (or on
--only-data-changes-from), data files depend on the seed and the corte, so two
cortes of one seed differ only in their data, as real cortes do.

Only the Python standard library is used.
"""

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

PARTIDOS = [
    ("PAN", "Partido Acción Nacional"),
    ("PRI", "Partido Revolucionario Institucional"),
    ("PRD", "Partido de la Revolución Democrática"),
    ("PVEM", "Partido Verde Ecologista de México"),
    ("PT", "Partido del Trabajo"),
    ("MC", "Movimiento Ciudadano"),
    ("MORENA", "Morena"),
    ("QS", "Querétaro Seguro"),
    ("CI", "Candidatura Independiente"),
]

# The 18 municipios of Querétaro: accents and spaces in file names come from
# the real world, not from a test trick.
MUNICIPIOS = [
    "Amealco de Bonfil", "Pinal de Amoles", "Arroyo Seco", "Cadereyta de Montes",
    "Colón", "Corregidora", "Ezequiel Montes", "Huimilpan", "Jalpan de Serra",
    "Landa de Matamoros", "El Marqués", "Pedro Escobedo", "Peñamiller",
    "Querétaro", "San Joaquín", "San Juan del Río", "Tequisquiapan", "Tolimán",
]
DISTRITOS = 15

PAGES = [
    # (path, title, body tag)
    ("index.html", "Inicio", '<body class="prep inicio">'),
    ("ayuntamientos.html", "Ayuntamientos", '<body class="prep ayuntamientos" data-eleccion="AYU">'),
    ("diputaciones.html", "Diputaciones locales", '<body class="prep diputaciones">'),
    ("presidencia.html", "Presidencia de la República", '<body class="prep presidencia">'),
    ("casillas.html", "Detalle por casilla", '<body class="prep casillas">'),
    ("base-de-datos.html", "Base de datos", '<body>'),
    ("acerca.html", "Acerca del PREP", '<body class="prep acerca" id="top">'),
    ("distritos/index.html", "Distritos", '<body class="prep distritos">'),
    ("municipios/index.html", "Municipios", '<body class="prep municipios">'),
]


def parse_corte(text):
    t = dt.datetime.fromisoformat(text)
    if t.tzinfo is None:
        raise SystemExit("genpackage: --corte needs an offset, e.g. 2024-06-02T21:05:00-06:00")
    return t


def offset_label(t):
    """(UTC-6) as PREP CSV files write it."""
    off = int(t.utcoffset().total_seconds())
    sign = "-" if off < 0 else "+"
    off = abs(off)
    h, m = divmod(off // 60, 60)
    return "UTC%s%d" % (sign, h) + (":%02d" % m if m else "")


class Tree:
    """Files of the package in memory, written out at the end."""

    def __init__(self):
        self.files = {}

    def add(self, path, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        if path in self.files:
            raise SystemExit("genpackage: duplicate path " + path)
        self.files[path] = data

    def write(self, root, mtime):
        for path, data in self.files.items():
            full = os.path.join(root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data)
            os.utime(full, (mtime, mtime))
        for dirpath, _dirs, _files in os.walk(root):
            os.utime(dirpath, (mtime, mtime))


# ---------------------------------------------------------------- static files

def html_page(path, title, body_tag, rng, nav):
    depth = path.count("/")
    up = "../" * depth
    rows = []
    for code, name in PARTIDOS:
        rows.append(
            '        <tr><td><img src="%simg/partidos/%s.svg" alt="%s" width="24"></td>'
            '<td>%s</td><td class="votos" data-partido="%s">—</td></tr>'
            % (up, code.lower(), code, name, code))
    links = "\n".join(
        '      <li><a href="%s%s">%s</a></li>' % (up, p, t) for p, t in nav)
    para = " ".join(rng.choice([
        "Los resultados preliminares no son definitivos.",
        "La información se actualiza cada cinco minutos.",
        "Las actas se capturan conforme llegan a los Centros de Acopio.",
        "Consulte la base de datos en formato CSV.",
        "El PREP es un programa de información preliminar.",
    ]) for _ in range(rng.randint(3, 8)))
    return """<!DOCTYPE html>
<html lang="es">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>PREP 2024 · Querétaro · {title}</title>
  <link rel="icon" href="{up}favicon.ico">
  <link rel="preload" href="{up}fonts/Roboto-Regular.woff2" as="font" type="font/woff2" crossorigin>
  <link rel="stylesheet" href="{up}css/bootstrap.min.css">
  <link rel="stylesheet" href="{up}css/prep.css">
</head>
{body}
  <header class="encabezado">
    <img src="{up}img/logo-ieeq.svg" alt="Instituto Electoral del Estado de Querétaro" height="48">
    <h1>Programa de Resultados Electorales Preliminares 2024</h1>
    <p class="corte-oficial">Corte: <span id="fecha-corte"></span></p>
  </header>
  <nav>
    <ul>
{links}
    </ul>
  </nav>
  <main>
    <h2>{title}</h2>
    <p>{para}</p>
    <table class="resultados">
      <thead><tr><th></th><th>Partido</th><th>Votos</th></tr></thead>
      <tbody>
{rows}
      </tbody>
    </table>
    <p><a href="{up}datos/PRES_2024.csv">Descargar base de datos (CSV)</a></p>
  </main>
  <footer>Instituto Electoral del Estado de Querétaro · <a href="{up}acerca.html">Acerca del PREP</a></footer>
  <script src="{up}js/vendor.min.js"></script>
  <script src="{up}js/prep.js"></script>
</body>
</html>
""".format(title=title, up=up, body=body_tag, links=links, para=para,
           rows="\n".join(rows))


def png_bytes(rng, w, h):
    raw = bytearray()
    base = [rng.randrange(256) for _ in range(3)]
    for y in range(h):
        raw.append(0)
        for x in range(w):
            raw += bytes(((base[0] + x * 3) % 256, (base[1] + y * 5) % 256,
                          (base[2] + (x ^ y)) % 256))

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + chunk(b"IEND", b""))


def gif_bytes():
    # 1x1 transparent GIF
    return (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!"
            b"\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00"
            b"\x00\x02\x02D\x01\x00;")


def random_bytes(rng, n):
    return rng.getrandbits(8 * n).to_bytes(n, "little") if n else b""


def ico_bytes(rng):
    png = png_bytes(rng, 16, 16)
    header = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(png), 6 + 16)
    return header + entry + png


def pdf_bytes(title):
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    text = ("BT /F1 18 Tf 72 720 Td (%s) Tj ET" % title).encode("latin-1")
    objs[3] = b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + o + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objs) + 1, xref))
    return out.getvalue()


def css_text(rng, rules):
    out = [":root{--prep-morado:#6b2c91;--prep-gris:#4a4a4a}",
           "body{font-family:Roboto,Arial,sans-serif;margin:0;color:var(--prep-gris)}",
           "#prep-corte{background:#fff3cd;padding:.5em 1em;font-weight:bold}"]
    for i in range(rules):
        out.append(".c%d-%x{margin:%dpx %dpx;padding:%dpx;color:#%06x}" % (
            i, rng.getrandbits(24), rng.randint(0, 20), rng.randint(0, 20),
            rng.randint(0, 12), rng.getrandbits(24)))
    return "\n".join(out) + "\n"


def js_text(rng, functions):
    out = ["'use strict';",
           "(function(){",
           "  fetch('json/main.json',{cache:'no-store'}).then(function(r){return r.json();})",
           "    .then(function(d){var e=document.getElementById('fecha-corte');if(e){e.textContent=d.fechaCorte;}});"]
    for i in range(functions):
        out.append("  function f%d(a,b){return (a*%d+b)%%%d;}" % (
            i, rng.randint(2, 999), rng.randint(1000, 99999)))
    out.append("})();")
    return "\n".join(out) + "\n"


def svg_text(label, color):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="48" viewBox="0 0 120 48">'
            '<rect width="120" height="48" rx="6" fill="%s"/>'
            '<text x="60" y="30" font-size="16" text-anchor="middle" fill="#fff">%s</text>'
            '</svg>\n' % (color, label))


def add_static(tree, rng):
    nav = [(p, t) for p, t, _ in PAGES if "/" not in p]
    for path, title, body in PAGES:
        tree.add(path, html_page(path, title, body, rng, nav))
    # A fragment loaded by JavaScript: HTML without a body tag.
    tree.add("partials/tabla-resultados.html",
             '<table class="resultados"><tr><td>Cargando…</td></tr></table>\n')
    tree.add("css/bootstrap.min.css", css_text(rng, 900))
    tree.add("css/prep.css", css_text(rng, 120))
    tree.add("js/vendor.min.js", js_text(rng, 1200))
    tree.add("js/prep.js", js_text(rng, 80))
    tree.add("img/logo-ieeq.svg", svg_text("IEEQ", "#6b2c91"))
    for code, _name in PARTIDOS:
        tree.add("img/partidos/%s.svg" % code.lower(),
                 svg_text(code, "#%06x" % rng.getrandbits(24)))
    tree.add("img/escudo.png", png_bytes(rng, 96, 96))
    tree.add("img/mapa-queretaro.png", png_bytes(rng, 200, 160))
    tree.add("img/cargando.gif", gif_bytes())
    tree.add("img/foto-centro-acopio.jpg",
             b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
             + random_bytes(rng, 6000) + b"\xff\xd9")
    webp = b"VP8 " + struct.pack("<I", 2000) + random_bytes(rng, 2000)
    tree.add("img/portada.webp", b"RIFF" + struct.pack("<I", 4 + len(webp)) + b"WEBP" + webp)
    tree.add("fonts/Roboto-Regular.woff2", b"wOF2" + random_bytes(rng, 24000))
    tree.add("fonts/Roboto-Regular.woff", b"wOFF" + random_bytes(rng, 30000))
    tree.add("favicon.ico", ico_bytes(rng))
    tree.add("robots.txt", "User-agent: *\nAllow: /\n")
    tree.add("sitemap.xml", '<?xml version="1.0" encoding="UTF-8"?>\n'
             '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
             + "".join("  <url><loc>%s</loc></url>\n" % p for p, _t, _b in PAGES)
             + "</urlset>\n")
    tree.add("docs/LEEME.txt",
             "Programa de Resultados Electorales Preliminares 2024\n"
             "Instituto Electoral del Estado de Querétaro\n\n"
             "Los archivos CSV están codificados en UTF-8.\n")
    tree.add("docs/Manual de usuario PREP.pdf", pdf_bytes("Manual de usuario PREP 2024"))
    # What an OPLE's build leaves behind: never served.
    tree.add(".htaccess", "Options -Indexes\nHeader set X-Hidden yes\n")
    tree.add("json/.hidden", "secreto: no se publica\n")


# ------------------------------------------------------------------ data files

class Data:
    def __init__(self, rng, corte):
        self.rng = rng
        self.corte = corte
        self.iso = corte.isoformat()
        # How far into the night the corte is: later cortes count more actas.
        start = corte.replace(hour=20, minute=0, second=0)
        minutes = max(5, (corte - start).total_seconds() / 60)
        self.progress = min(0.99, 0.05 + minutes / 600.0)

    def votes(self, lista):
        rng = self.rng
        total = int(lista * rng.uniform(0.45, 0.68))
        weights = [rng.uniform(0.2, 1.0) * w for w in (30, 14, 2, 5, 4, 12, 35, 3, 1)]
        s = sum(weights)
        out = {code: int(total * w / s) for (code, _n), w in zip(PARTIDOS, weights)}
        out["NO_REGISTRADAS"] = rng.randint(0, 3)
        out["NULOS"] = rng.randint(0, max(1, total // 40))
        return out


def casilla_ids(n):
    tipos = ["B", "C1", "C2", "E1", "C3", "S1"]
    ids = []
    seccion = 1
    while len(ids) < n:
        for t in tipos[: 2 + seccion % 3]:
            ids.append(("%04d" % seccion, t))
            if len(ids) == n:
                break
        seccion += 1
    return ids


def add_data(tree, data, n_casillas, pad_to_bytes, others_packed):
    rng = data.rng
    fecha_texto = data.corte.strftime("%d/%m/%Y %H:%M") + " (%s)" % offset_label(data.corte)
    casillas = []
    for seccion, tipo in casilla_ids(n_casillas):
        lista = rng.randint(180, 750)
        v = data.votes(lista)
        m = MUNICIPIOS[int(seccion) % len(MUNICIPIOS)]
        d = 1 + int(seccion) % DISTRITOS
        counted = rng.random() < data.progress
        casillas.append((seccion, tipo, lista, v, m, d, counted))
        doc = {
            "id": "%s-%s" % (seccion, tipo),
            "seccion": int(seccion),
            "tipo": tipo,
            "municipio": m,
            "distritoLocal": d,
            "listaNominal": lista,
            "estatus": "Contabilizada" if counted else "Pendiente",
            "votos": v if counted else None,
            "total": sum(v.values()) if counted else None,
            "fechaCaptura": data.iso if counted else None,
            "domicilio": "%s %d, Col. %s" % (rng.choice(["Av. Zaragoza", "Calle Hidalgo",
                                                          "Calle Madero", "Av. Universidad",
                                                          "Calle Juárez"]),
                                              rng.randint(1, 999),
                                              rng.choice(["Centro", "La Cruz", "Cimatario",
                                                          "Carretas", "San Pablo"])),
            "acta": {
                "imagen": "actas/22-%s%s.jpg" % (seccion, tipo),
                "sha256": "%064x" % rng.getrandbits(256),
                "origen": rng.choice(["CASILLA", "CATD"]),
            },
        }
        tree.add("json/casillas/%s-%s.json" % (seccion, tipo),
                 json.dumps(doc, ensure_ascii=False, indent=1))

    def summary(rows):
        tot = {code: 0 for code, _ in PARTIDOS}
        tot["NO_REGISTRADAS"] = 0
        tot["NULOS"] = 0
        lista = actas = cont = 0
        for (_s, _t, li, v, _m, _d, counted) in rows:
            lista += li
            actas += 1
            if counted:
                cont += 1
                for k, x in v.items():
                    tot[k] += x
        votos = sum(tot.values())
        return {
            "actasEsperadas": actas,
            "actasContabilizadas": cont,
            "porcentajeActasContabilizadas": round(100.0 * cont / actas, 4) if actas else 0,
            "listaNominal": lista,
            "totalVotos": votos,
            "participacionCiudadana": round(100.0 * votos / lista, 4) if lista else 0,
            "votos": tot,
        }

    by_mun = {m: [] for m in MUNICIPIOS}
    by_dist = {d: [] for d in range(1, DISTRITOS + 1)}
    for c in casillas:
        by_mun[c[4]].append(c)
        by_dist[c[5]].append(c)
    for m in MUNICIPIOS:
        doc = {"municipio": m, "fechaCorte": data.iso, **summary(by_mun[m])}
        tree.add("json/municipios/%s.json" % m, json.dumps(doc, ensure_ascii=False, indent=1))
    for d in range(1, DISTRITOS + 1):
        doc = {"distritoLocal": d, "fechaCorte": data.iso, **summary(by_dist[d])}
        tree.add("json/distritos/distrito-%02d.json" % d,
                 json.dumps(doc, ensure_ascii=False, indent=1))

    main = {
        "fechaCorte": data.iso,
        "fechaCorteTexto": fecha_texto,
        "proceso": "Proceso Electoral Local 2023-2024",
        "entidad": "Querétaro",
        "eleccion": "Ayuntamientos",
        **summary(casillas),
        "partidos": [{"id": c, "nombre": n, "logo": "img/partidos/%s.svg" % c.lower()}
                     for c, n in PARTIDOS],
        "municipios": [{"nombre": m, "archivo": "json/municipios/%s.json" % m,
                        **summary(by_mun[m])} for m in MUNICIPIOS],
        "distritos": [{"distritoLocal": d, "archivo": "json/distritos/distrito-%02d.json" % d,
                       **summary(by_dist[d])} for d in range(1, DISTRITOS + 1)],
    }
    # The real main.json (~22.8 KB, ~4.7 KB gzip) carries results per
    # sección too: numbers, not repeated text, so it compresses as the
    # real one does.
    by_sec = {}
    for c in casillas:
        by_sec.setdefault(c[0], []).append(c)
    secciones = main.setdefault("secciones", [])
    main_text = json.dumps(main, ensure_ascii=False, indent=2)
    for sec in sorted(by_sec):
        if len(main_text) >= 22800:
            break
        r = summary(by_sec[sec])
        secciones.append([int(sec), r["actasEsperadas"], r["actasContabilizadas"],
                          r["listaNominal"], r["totalVotos"]]
                         + [r["votos"][code] for code, _ in PARTIDOS])
        main_text = json.dumps(main, ensure_ascii=False, indent=2)
    tree.add("json/main.json", main_text + "\n")

    # The CSV database: title, corte time, header, one row per acta.
    cols = (["CLAVE_CASILLA", "CLAVE_ACTA", "ID_ENTIDAD", "ENTIDAD", "ID_DISTRITO_LOCAL",
             "MUNICIPIO", "SECCION", "TIPO_CASILLA", "UBICACION_CASILLA", "TIPO_ACTA"]
            + [c for c, _ in PARTIDOS]
            + ["NO_REGISTRADAS", "NULOS", "TOTAL_VOTOS_CALCULADOS", "LISTA_NOMINAL",
               "OBSERVACIONES", "CONTABILIZADA", "MECANISMOS_TRASLADO", "SHA",
               "FECHA_HORA_ACOPIO", "FECHA_HORA_CAPTURA", "ORIGEN", "DIGITALIZACION"])
    head = ("PRESIDENCIA DE LA REPÚBLICA 2024 - PREP QUERÉTARO\r\n"
            + fecha_texto + "\r\n" + ",".join(cols) + "\r\n")
    captura = data.corte.strftime("%d/%m/%Y %H:%M:%S")
    obs = ["", "", "", "Sin acta", "Ilegible", "Excede lista nominal"]

    def row(i, seccion, tipo, lista, v, m, d, counted):
        sha = "%064x" % rng.getrandbits(256)
        vals = [v[c] for c, _ in PARTIDOS] if counted else ["-"] * len(PARTIDOS)
        extra = ([v["NO_REGISTRADAS"], v["NULOS"], sum(v.values())] if counted
                 else ["-", "-", "-"])
        return ",".join(str(x) for x in (
            ["'22-%s%s'" % (seccion, tipo), "'%07d'" % i, 22, '"QUERÉTARO"', d, '"%s"' % m,
             int(seccion), tipo, rng.choice([1, 1, 1, 2]), rng.choice(["1", "2", "3"])]
            + vals + extra
            + [lista, rng.choice(obs), 1 if counted else 0, rng.choice(["F", "D", "N"]),
               sha, captura, captura, rng.choice(["CATD", "CASILLA"]),
               rng.choice(["ESCANER", "MOVIL"])])) + "\r\n"

    parts = [head]
    for i, c in enumerate(casillas, 1):
        parts.append(row(i, *c))
    csv = "".join(parts).encode("utf-8")
    if pad_to_bytes:
        # Pad with more actas until the packed size reaches the target: the
        # estimate tracks deflate's output as rows are added.
        comp = zlib.compressobj(6)
        packed = others_packed + len(comp.compress(csv))
        chunks = [csv]
        i = len(casillas)
        seccion = 10000
        while packed < pad_to_bytes:
            block = []
            for _ in range(2000):
                i += 1
                seccion += 1
                lista = rng.randint(180, 750)
                block.append(row(i, "%05d" % seccion, "B", lista, data.votes(lista),
                                 MUNICIPIOS[seccion % 18], 1 + seccion % DISTRITOS, True))
            b = "".join(block).encode("utf-8")
            chunks.append(b)
            packed += len(comp.compress(b))
        csv = b"".join(chunks)
    tree.add("datos/PRES_2024.csv", csv)

    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("PRES_2024_candidaturas.csv", date_time=data.corte.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, "PARTIDO,CANDIDATURA,MUNICIPIO\r\n" + "".join(
            "%s,Candidatura %d,%s\r\n" % (c, k, m)
            for k, m in enumerate(MUNICIPIOS) for c, _ in PARTIDOS))
    tree.add("datos/PRES_2024_candidaturas.zip", zbuf.getvalue())


# --------------------------------------------------------------------- packing

def estimate_packed(tree, skip=()):
    return sum(len(zlib.compress(d, 6)) + 60 for p, d in tree.files.items() if p not in skip)


def pack(tree, out, top_dir, fmt, mtime):
    out = os.path.abspath(out)
    work = tempfile.mkdtemp(prefix="genpackage.")
    try:
        root = os.path.join(work, top_dir) if top_dir else work
        os.makedirs(root, exist_ok=True)
        tree.write(root, mtime)
        tmp_out = out + ".genpackage-tmp"
        if os.path.exists(tmp_out):
            os.unlink(tmp_out)
        members = [top_dir] if top_dir else sorted(os.listdir(work))
        if fmt == "zip":
            subprocess.run(["zip", "-q", "-r", "-X", tmp_out] + members, cwd=work, check=True,
                           env=dict(os.environ, TZ="UTC"))
            os.rename(tmp_out, out)
        else:
            subprocess.run(["tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner",
                            "--format=gnu", "-czf", tmp_out, "--"] + members,
                           cwd=work, check=True)
            os.rename(tmp_out, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv):
    ap = argparse.ArgumentParser(description="Write a realistic PREP package.")
    ap.add_argument("out", help="the package to write (OUT.tar.gz or OUT.zip)")
    ap.add_argument("--corte", default="2024-06-02T21:05:00-06:00",
                    help="corte time, ISO-8601 with offset [%(default)s]")
    ap.add_argument("--files", type=int, default=8000, help="regular files [%(default)s]")
    ap.add_argument("--size-mb", type=float, default=None,
                    help="approximate packed size; the CSV database is padded to reach it")
    ap.add_argument("--top-dir", default="prep_qro",
                    help="single top folder ('' for none) [%(default)s]")
    ap.add_argument("--seed", type=int, default=1, help="[%(default)s]")
    ap.add_argument("--format", choices=["tar.gz", "zip"], default="tar.gz")
    ap.add_argument("--only-data-changes-from", type=int, default=None, metavar="SEED",
                    help="static files (HTML, CSS, JS, images, fonts) as with --seed SEED, so "
                         "only data files differ from that package")
    a = ap.parse_args(argv)

    corte = parse_corte(a.corte)
    static_seed = a.only_data_changes_from if a.only_data_changes_from is not None else a.seed
    static_rng = random.Random("static:%d" % static_seed)
    data_rng = random.Random("data:%d:%s" % (a.seed, corte.isoformat()))

    tree = Tree()
    add_static(tree, static_rng)
    fixed = len(tree.files) + len(MUNICIPIOS) + DISTRITOS + 3  # main.json, csv, zip
    n_casillas = max(1, a.files - fixed)

    pad = None
    others = 0
    if a.size_mb:
        pad = int(a.size_mb * 1024 * 1024)
        probe = Tree()
        add_data(probe, Data(random.Random(0), corte), n_casillas, None, 0)
        others = estimate_packed(tree) + estimate_packed(probe, skip=("datos/PRES_2024.csv",))
    add_data(tree, Data(data_rng, corte), n_casillas, pad, others)

    pack(tree, a.out, a.top_dir, a.format, int(corte.timestamp()))
    sys.stderr.write("genpackage: %s: %d files, %d bytes unpacked, %d bytes packed, corte %s\n"
                     % (a.out, len(tree.files), sum(len(d) for d in tree.files.values()),
                        os.path.getsize(a.out), corte.isoformat()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

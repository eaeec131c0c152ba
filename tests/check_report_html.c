/* check_report_html.c — unit tests of memoria.html (prep_report_html.c):
 * the page made from a document made for real by prep_memoria_make over a
 * journal written by the real writer and an access log written by hand.
 * It has every section's heading, the summary's numbers as counted by
 * hand, one row per incident with whether it affected the publication,
 * the sentence of a missing journal instead of the table, "sin datos" for
 * an empty period, the untrusted texts (notes, paths, unparsable lines)
 * escaped, no resource from outside the page, well-formed SVG charts and
 * a print stylesheet for A4.
 *
 * With PREP_HTML_KEEP=DIR in the environment, the pages made are kept in
 * DIR (memoria.html, memoria-larga.html, ...) to be looked at in a
 * browser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "prep_report.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root;
static prep_feed_t feed;
static prep_journal_t journal;

#define SEC(n) apr_time_from_sec(n)
#define MIN(n) SEC(60 * (n))
#define T0     TEST_NIGHT_T0 /* 2024-06-02T20:00:00-06:00 */
#define AT(m)  TEST_NIGHT_AT(m)

static void setup(void)
{
    test_night_open(&pool, &root, &feed, &journal, "report-html");
}

static void teardown(void)
{
    test_night_close(pool, root);
}

static void line_at(int m, prep_event_e e, const char *fields)
{
    test_journal_at(&journal, e, AT(m), fields, pool);
}

/* The night of test_night_write. */
static void write_night(void)
{
    test_night_write(&journal, "PD<x>.tar.gz", pool);
}

/* The labels of the night's incidents, in order, and whether each
 * affected the publication (above). */
static const struct {
    const char *label;
    int affected;
} night_incidents[] = {{"Arranque del servidor Apache", 0},
                       {"Paquete rechazado", 1},
                       {"Falla del proceso de carga de un paquete", 1},
                       {"Publicación detenida (sin cortes nuevos)", 1},
                       {"Paquete rechazado", 0},
                       {"Almacén sin capacidad para publicar cortes", 1},
                       {"Reinicio del proceso de recepción", 0},
                       {"Regreso a un corte anterior (acción del operador)", 1},
                       {"Publicación detenida (sin cortes nuevos)", 1},
                       {"Paquete rechazado", 1}};

/* The log, 20:00 being 02/Jun/2024:20:MM:SS -0600:
 *  20:06 UA-1 a page (1000 B), 20:07 UA-1 a json (10 B): a visit of 60 s
 *  20:25 UA-2 the page "a<b>&'x.html" (500 B), 20:40 UA-2 a 304 page:
 *        one visit of 900 s (15 min, under the 30 min)
 *  20:41 a crawler's page (1000 B): a hit, no page, no visitor
 *  21:10 UA-1 a 404 (200 B): a hit, no page, a new visit of 0 s
 *  a line that is no access log line (with markup in it).
 * Hits 6, bytes 2710, pages 3, visitors 2, visits 3, mean 320 s. */
static const char *write_log(void)
{
    const char *path = apr_pstrcat(pool, root, "/access.log", NULL);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs("10.0.0.1 - - [02/Jun/2024:20:06:00 -0600] \"GET "
          "/prep/qro/index.html HTTP/1.1\" 200 1000 \"-\" \"UA-1\"\n"
          "10.0.0.1 - - [02/Jun/2024:20:07:00 -0600] \"GET "
          "/prep/qro/json/main.json HTTP/1.1\" 200 10 \"-\" \"UA-1\"\n"
          "10.0.0.2 - - [02/Jun/2024:20:25:00 -0600] \"GET "
          "/prep/qro/a<b>&'x.html HTTP/1.1\" 200 500 \"-\" \"UA-2\"\n"
          "10.0.0.2 - - [02/Jun/2024:20:40:00 -0600] \"GET "
          "/prep/qro/index.html HTTP/1.1\" 304 0 \"-\" \"UA-2\"\n"
          "66.249.0.1 - - [02/Jun/2024:20:41:00 -0600] \"GET "
          "/prep/qro/index.html HTTP/1.1\" 200 1000 \"-\" \"Googlebot/2.1\"\n"
          "10.0.0.1 - - [02/Jun/2024:21:10:00 -0600] \"GET "
          "/prep/qro/nada.html HTTP/1.1\" 404 200 \"-\" \"UA-1\"\n"
          "<script>alert(1)</script>\n",
          f);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static apr_array_header_t *one(const char *s)
{
    return test_strings(s, pool);
}

static void defaults(prep_memoria_options_t *o)
{
    test_memoria_defaults(o, feed.store, AT(90), AT(120), pool);
}

/* The page of the memoria made with o (kept as DIR/name when
 * PREP_HTML_KEEP=DIR). */
static const char *page_of(const prep_memoria_options_t *o, const char *name)
{
    json_t *doc;
    const char *error, *keep = getenv("PREP_HTML_KEEP");
    prep_text_t page;

    ck_assert_int_eq(prep_memoria_make(&doc, o, &error, pool), APR_SUCCESS);
    memset(&page, 0, sizeof(page));
    page.p = pool;
    prep_memoria_html(&page, doc);
    json_decref(doc);
    ck_assert_ptr_nonnull(page.buf);
    ck_assert_uint_eq(strlen(page.buf), page.len);
    if (keep) {
        FILE *f = fopen(apr_pstrcat(pool, keep, "/", name, NULL), "w");

        ck_assert_ptr_nonnull(f);
        fputs(page.buf, f);
        fclose(f);
    }
    return page.buf;
}

static int count_of(const char *s, const char *what)
{
    int n = 0;

    for (; (s = strstr(s, what)) != NULL; s += strlen(what)) {
        n++;
    }
    return n;
}

#define HAS(page, s)     ck_assert_msg(strstr(page, s) != NULL, "no %s", s)
#define HAS_NOT(page, s) ck_assert_msg(strstr(page, s) == NULL, "%s found", s)

/* The text of the section whose id is id (from its tag to its end). */
static const char *section_of(const char *page, const char *id)
{
    const char *s = strstr(page, apr_psprintf(pool, "<section id=\"%s\"", id));
    const char *e;

    ck_assert_msg(s != NULL, "no section %s", id);
    e = strstr(s, "</section>");
    ck_assert_ptr_nonnull(e);
    return apr_pstrndup(pool, s, (apr_size_t)(e - s));
}

/* Elements balanced: every tag but the void ones closed in order, no '<'
 * that begins no tag (an unescaped text), style contents skipped. */
static void check_balanced(const char *page)
{
    static const char *const voids[] = {"meta", "br",    "link", "img",
                                        "hr",   "input", NULL};
    const char *stack[128], *s = page;
    apr_size_t lens[128];
    int depth = 0;

    while ((s = strchr(s, '<')) != NULL) {
        int closing = s[1] == '/', v = 0;
        const char *name = s + 1 + closing, *end;
        apr_size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789");
        const char *const *vv;

        if (!strncmp(s, "<!DOCTYPE html>", 15)) {
            s += 15;
            continue;
        }
        ck_assert_msg(n > 0, "a '<' begins no tag: %.40s", s);
        end = strchr(s, '>');
        ck_assert_ptr_nonnull(end);
        for (vv = voids; *vv; vv++) {
            v |= strlen(*vv) == n && !strncmp(*vv, name, n);
        }
        if (closing) {
            ck_assert_msg(depth > 0 && lens[depth - 1] == n &&
                              !strncmp(stack[depth - 1], name, n),
                          "</%.*s> closes %.*s", (int)n, name,
                          depth ? (int)lens[depth - 1] : 0,
                          depth ? stack[depth - 1] : "");
            depth--;
        } else if (!v && end[-1] != '/') {
            ck_assert_int_lt(depth, 128);
            stack[depth] = name;
            lens[depth++] = n;
            if (n == 5 && !strncmp(name, "style", 5)) {
                end = strstr(end, "</style>") - 1;
                ck_assert_ptr_nonnull(end + 1);
            }
        }
        s = end + 1;
    }
    ck_assert_int_eq(depth, 0);
}

/* Every <svg> an image with a label and a title, closed. */
static void check_svgs(const char *page, int n)
{
    const char *s = page;
    int i;

    ck_assert_int_eq(count_of(page, "<svg"), n);
    ck_assert_int_eq(count_of(page, "</svg>"), n);
    for (i = 0; i < n; i++) {
        const char *tag_end, *tag;

        s = strstr(s, "<svg");
        tag_end = strchr(s, '>');
        tag = apr_pstrndup(pool, s, (apr_size_t)(tag_end - s));
        HAS(tag, "role=\"img\"");
        HAS(tag, "aria-label=\"");
        HAS(tag, "viewBox=\"");
        ck_assert(!strncmp(tag_end + 1, "<title>", 7));
        s = tag_end;
    }
}

START_TEST(test_headings_and_summary)
{
    prep_memoria_options_t o;
    const char *page, *s;
    static const char *const headings[] = {
        "<h1>Memoria técnica de la difusión del PREP</h1>",
        "<h2>Avisos</h2>",
        "<h2>Resumen</h2>",
        "<h2>Definiciones</h2>",
        "<h2>Visitas y páginas vistas por hora</h2>",
        "<h2>Línea de tiempo de los cortes</h2>",
        "<h2>Páginas más consultadas</h2>",
        "<h2>Visitas por duración</h2>",
        "<h2>Códigos de estado</h2>",
        "<h2>Visitantes por día</h2>",
        "<h2>Tráfico por corte</h2>",
        "<h2>Reporte de incidencias</h2>",
        "<h2>Rastreadores y monitores</h2>",
        "<h2>Líneas no interpretables</h2>",
        "<h2>Fuentes</h2>",
        "<h2>Criterios de mejora y sugerencias</h2>",
        NULL};
    const char *const *h;

    write_night();
    defaults(&o);
    o.logs = one(write_log());
    page = page_of(&o, "memoria.html");
    for (h = headings; *h; h++) {
        HAS(page, *h);
    }
    HAS(page, "<html lang=\"es\">");
    HAS(page, "<title>Memoria técnica de la difusión del PREP — Universidad "
              "de prueba — feed qro</title>");
    HAS(page, "<p class=\"difusor\">Universidad de prueba</p>");
    /* the period as the document gives it, in the feed's zone */
    HAS(page, "del <time datetime=\"2024-06-02T20:00:00-06:00\">02/06/2024 "
              "20:00:00</time> al <time datetime=\"2024-06-02T21:30:00-06:00\">"
              "02/06/2024 21:30:00</time>");
    HAS(page, "Tiempo del Centro (UTC-06:00)");
    HAS(page, "02/06/2024 22:00:00</time> por mod_prep test");
    HAS(page, "<footer>Memoria generada el <time");

    s = section_of(page, "resumen");
    HAS(s, "Visitantes únicos</th><td class=\"num\">2</td>");
    HAS(s, "Visitas</th><td class=\"num\">3</td>");
    HAS(s, "Páginas vistas</th><td class=\"num\">3</td>");
    HAS(s, "Hits</th><td class=\"num\">6</td>");
    HAS(s, "Bytes servidos</th><td class=\"num\">2.71 kB <span "
           "class=\"nota\">(2,710 bytes)</span></td>");
    /* (60 + 900 + 0) / 3 s */
    HAS(s, "Duración media de la visita</th><td class=\"num\">05:20</td>");
    /* served 85 of 90 min, stale 20 of them: 65 / 90 */
    HAS(s, "Disponibilidad</th><td class=\"num\">72.22 %</td>");
    HAS(s, "Incidencias</th><td class=\"num\">10</td><td class=\"nota\">7 "
           "afectaron la publicación; 3 paquetes rechazados</td>");
    HAS(s, "Cortes publicados</th><td class=\"num\">2</td>");

    s = section_of(page, "definiciones");
    HAS(s, "GoAccess");
    HAS(s, "sin una pausa mayor a 30 min");
    HAS(s, "<code>/prep/qro</code>");
    HAS(s, "<code>.html</code>, <code>.htm</code>");

    s = section_of(page, "codigos");
    HAS(s, "<td class=\"num\">200</td><td>Correcto</td><td "
           "class=\"num\">4</td>");
    HAS(s, "<td class=\"num\">304</td><td>No modificado</td>");
    HAS(s, "<td class=\"num\">404</td><td>No encontrado</td><td "
           "class=\"num\">1</td>");
    s = section_of(page, "paginas");
    HAS(s, "<code>/prep/qro/index.html</code></td><td class=\"num\">2</td>");
    HAS(s, "paginas.csv");
    s = section_of(page, "duraciones");
    HAS(s, "<td>0 s</td><td class=\"num\">1</td>");
    HAS(s, "<td>31–120 s</td><td class=\"num\">1</td>");
    HAS(s, "<td>5–15 min</td><td class=\"num\">1</td>");
    s = section_of(page, "dias");
    HAS(s, "02/06/2024</time></td><td class=\"num\">2</td><td "
           "class=\"num\">3</td><td class=\"num\">3</td><td "
           "class=\"num\">6</td>");
    /* A (5-30): 20:06, 20:07, 20:25; C (30-60): 20:40, 20:41; C (70-):
     * 21:10 */
    s = section_of(page, "trafico-por-corte");
    HAS(s, "<td><code>A</code></td><td class=\"hora\"><time "
           "datetime=\"2024-06-02T20:04:00-06:00\">02/06 20:04:00</time>");
    HAS(s, "02/06 20:30:00</time></td><td class=\"num\">3</td><td "
           "class=\"num\">2</td><td class=\"num\">1.51 kB</td>");
    s = section_of(page, "rastreadores");
    HAS(s, "<td>Rastreadores</td><td class=\"num\">1</td><td "
           "class=\"num\">1</td>");
    s = section_of(page, "fuentes");
    HAS(s, "access.log</code></td><td class=\"num\">7</td><td "
           "class=\"num\">1</td>");
    HAS(s, "/store/journal");
    check_balanced(page);
    check_svgs(page, 2);
}
END_TEST

START_TEST(test_every_incident_has_its_row)
{
    prep_memoria_options_t o;
    const char *s, *row;
    size_t i, n = sizeof(night_incidents) / sizeof(night_incidents[0]);

    write_night();
    defaults(&o);
    o.logs = one(write_log());
    s = section_of(page_of(&o, "memoria-incidencias.html"), "incidencias");
    HAS(s, "<table class=\"incidencias\">");
    HAS(s, "<strong>10</strong>, de ellas <strong>7</strong> afectaron");
    ck_assert_int_eq(count_of(s, "<tr"), (int)n + 1);
    ck_assert_int_eq(count_of(s, "<tr class=\"afecto\">"), 7);
    row = strstr(s, "<tbody>");
    for (i = 0; i < n; i++) {
        const char *next;

        row = strstr(row, "<tr");
        ck_assert_ptr_nonnull(row);
        next = strstr(row, "</tr>");
        row = apr_pstrndup(pool, row, (apr_size_t)(next - row));
        ck_assert_msg(strstr(row, night_incidents[i].label), "row %d: %s",
                      (int)i + 1, row);
        ck_assert_msg(strstr(row, night_incidents[i].affected
                                      ? "<td class=\"si\">Sí</td>"
                                      : "<td>No</td>"),
                      "row %d: %s", (int)i + 1, row);
        row = next;
    }
    /* an interval, an instant, the detail (escaped) */
    HAS(s, "02/06 20:20:00</time></td><td class=\"hora\"><time "
           "datetime=\"2024-06-02T20:30:00-06:00\">02/06 20:30:00</time></td>"
           "<td class=\"num\">10 min 00 s</td>");
    HAS(s, "02/06 20:50:00</time></td><td class=\"hora\">—</td><td "
           "class=\"num\">instante</td><td>No</td>");
    HAS(s, "motivo: truncated · paquete: PB.tar.gz · corte: A · mensaje: "
           "entry &quot;x&quot;, truncated");
    HAS(s, "paquete: PD&lt;x&gt;.tar.gz");
    HAS(s, "usuario: maria");
    HAS(s, "seguía al final del periodo");
}
END_TEST

START_TEST(test_untrusted_text_is_escaped)
{
    prep_memoria_options_t o;
    const char *page, *s;

    write_night();
    defaults(&o);
    o.logs = one(write_log());
    o.notes = "Primero: monitorear.\r\n\r\n<script>alert('x')</script> & más"
              "\nsegunda línea\n  \nTercero.";
    page = page_of(&o, "memoria-notas.html");
    HAS_NOT(page, "<script");
    HAS_NOT(page, "<b>");
    HAS_NOT(page, "PD<x>");
    s = section_of(page, "criterios");
    HAS(s, "<p>Primero: monitorear.</p>\n<p>&lt;script&gt;alert(&#39;x&#39;)"
           "&lt;/script&gt; &amp; más<br>\nsegunda línea</p>\n"
           "<p>Tercero.</p>");
    s = section_of(page, "paginas");
    HAS(s, "<code>/prep/qro/a&lt;b&gt;&amp;&#39;x.html</code>");
    s = section_of(page, "no-interpretables");
    HAS(s, "<strong>1</strong> línea no tiene un formato reconocido");
    HAS(s, "&lt;script&gt;alert(1)&lt;/script&gt;</code>");
    check_balanced(page);

    /* no notes: the page says how to give them */
    o.notes = NULL;
    s = section_of(page_of(&o, "memoria-notas.html"), "criterios");
    HAS(s, "--notes");
    HAS_NOT(s, "<p>");
}
END_TEST

START_TEST(test_self_contained_and_printable)
{
    prep_memoria_options_t o;
    const char *page;

    write_night();
    defaults(&o);
    o.logs = one(write_log());
    page = page_of(&o, "memoria-sola.html");
    HAS_NOT(page, "http://");
    HAS_NOT(page, "https://");
    HAS_NOT(page, "src=");
    HAS_NOT(page, "href=");
    HAS_NOT(page, "<link");
    HAS_NOT(page, "url(");
    HAS_NOT(page, "@import");
    HAS(page, "<meta charset=\"utf-8\">");
    HAS(page, "@page { size: A4; margin: 15mm }");
    HAS(page, "@media print");
    HAS(page, "break-inside:avoid");
    HAS(page, "figure svg{display:block;width:100%;height:auto");
}
END_TEST

START_TEST(test_the_charts)
{
    prep_memoria_options_t o;
    const char *page, *s;

    write_night();
    defaults(&o);
    o.logs = one(write_log());
    page = page_of(&o, "memoria-graficas.html");
    check_svgs(page, 2);
    /* two hours (20:00 and 21:00), each with its bars and title */
    s = section_of(page, "por-hora");
    HAS(s, "<title>20:00–21:00: 3 páginas vistas, 2 visitas, 5 hits</title>");
    HAS(s, "<title>21:00–22:00: 0 páginas vistas, 1 visitas, 1 hits</title>");
    HAS(s, ">20:00</text>");
    HAS(s, ">02/06</text>");
    HAS(s, "Páginas vistas</text>");
    HAS(s, "Visitas (en la hora en que empiezan)</text>");
    /* the timeline: the 4 spans, the 3 cortes that went live in it, the
     * 9 incidents, the 2 stale periods shaded, the legend */
    s = section_of(page, "linea-de-tiempo");
    ck_assert_int_eq(count_of(s, "<title>Corte "), 4);
    ck_assert_int_eq(count_of(s, "stroke=\"#15803d\" stroke-width=\"2\"/>"),
                     4 + 1 /* the legend */);
    ck_assert_int_eq(count_of(s, "fill-opacity=\"0.18\""), 2);
    ck_assert_int_eq(count_of(s, "<title>Paquete rechazado: "), 3);
    HAS(s, "<title>Regreso a un corte anterior (acción del operador): 02/06 "
           "21:00:00 a 02/06 21:10:00 (10 min 00 s), afectó la publicación.");
    HAS(s, "<title>Reinicio del proceso de recepción: 02/06 20:50:00. ");
    HAS(s, "<title>Arranque del servidor Apache: 02/06 20:00:00. ");
    HAS(s, "Arranque de Apache</text>");
    HAS(s, "Paquete rechazado</text>");
    HAS(s, "Falla del proceso de carga</text>");
    HAS(s, "Reinicio del proceso de recepción</text>");
    HAS(s, "Regreso a un corte anterior</text>");
    HAS_NOT(s, "Publicación fijada</text>"); /* no pin: not in the legend */
    HAS(s, ">Acciones del operador</text>");
}
END_TEST

START_TEST(test_without_a_journal)
{
    prep_memoria_options_t o;
    const char *page, *s;

    defaults(&o);
    o.logs = one(write_log());
    page = page_of(&o, "memoria-sin-journal.html");
    s = section_of(page, "incidencias");
    HAS(s, "No se encontró el journal del feed en ");
    HAS(s, "el informe no tiene la línea de tiempo de los cortes, la "
           "disponibilidad ni el reporte de incidencias.");
    HAS_NOT(s, "<table");
    HAS(section_of(page, "linea-de-tiempo"), "Sin datos");
    HAS(section_of(page, "trafico-por-corte"), "Sin datos");
    HAS(section_of(page, "resumen"),
        "Disponibilidad</th><td class=\"num\">sin datos</td>");
    HAS(section_of(page, "resumen"),
        "Incidencias</th><td class=\"num\">sin datos</td>");
    HAS(section_of(page, "resumen"),
        "Cortes publicados</th><td class=\"num\">sin datos</td>");
    HAS(page, "<li data-aviso=\"no-journal\">");
    check_balanced(page);
    check_svgs(page, 1);
}
END_TEST

START_TEST(test_an_empty_period)
{
    prep_memoria_options_t o;
    const char *page;

    write_night();
    defaults(&o);
    o.from = AT(300);
    o.to = AT(400);
    o.logs = one(write_log());
    page = page_of(&o, "memoria-vacia.html");
    HAS(section_of(page, "por-hora"), "Sin datos");
    HAS_NOT(section_of(page, "por-hora"), "<svg");
    HAS(section_of(page, "paginas"), "Sin datos");
    HAS(page, "<li data-aviso=\"empty-period\">");
    HAS(section_of(page, "resumen"), "Visitas</th><td class=\"num\">0</td>");
    HAS(section_of(page, "resumen"),
        "Duración media de la visita</th><td class=\"num\">00:00</td>");
    check_balanced(page);
    /* the timeline: C served all through it, nothing else */
    check_svgs(page, 1);

    /* no log, no journal: every section says so */
    defaults(&o);
    o.store = apr_pstrcat(pool, root, "/empty-store", NULL);
    page = page_of(&o, "memoria-sin-nada.html");
    HAS(section_of(page, "resumen"),
        "Visitantes únicos</th><td class=\"num\">sin datos</td>");
    HAS(section_of(page, "codigos"), "no se dieron bitácoras de acceso");
    HAS(section_of(page, "fuentes"), "No se dieron bitácoras de acceso");
    check_balanced(page);
    check_svgs(page, 0);
}
END_TEST

/* A longer night: a corte every 10 min from 20:00 to 02:00, a refusal
 * every 70 min, a pin, a stale period, and traffic in bursts after each
 * corte; every corte gets its tick and every hour its bars (the page
 * to look at in a browser). */
START_TEST(test_a_long_night)
{
    prep_memoria_options_t o;
    const char *page, *s, *path = apr_pstrcat(pool, root, "/long.log", NULL);
    FILE *f = fopen(path, "w");
    int m, i;

    ck_assert_ptr_nonnull(f);
    line_at(0, PREP_EVENT_START, "{\"served\":null,\"state\":\"waiting\"}");
    for (m = 0; m < 360; m += 10) {
        if (m == 200) {
            line_at(200, PREP_EVENT_PIN,
                    "{\"corte\":{\"id\":\"K190\"},\"user\":\"luis\"}");
        }
        /* pinned from 200 to 215: K200 and K210 retained; no K290 */
        if (m == 290) {
            line_at(296, PREP_EVENT_STALE,
                    "{\"served\":\"K280\",\"age_s\":900}");
        } else {
            line_at(m + 1,
                    m == 200 || m == 210 ? PREP_EVENT_RETAINED
                                         : PREP_EVENT_PUBLISHED,
                    apr_psprintf(pool,
                                 "{\"corte\":{\"id\":\"K%03d\","
                                 "\"package\":\"P%03d.tar.gz\"}}",
                                 m, m));
        }
        if (m % 70 == 0) {
            line_at(m + 4, PREP_EVENT_REFUSED,
                    "{\"package\":\"bad.zip\",\"reason\":\"verify\"}");
        }
        if (m == 210) {
            line_at(215, PREP_EVENT_UNPIN,
                    "{\"corte\":{\"id\":\"K210\"},\"from\":\"K190\","
                    "\"to\":\"K210\",\"user\":\"luis\"}");
        }
        for (i = 0; i < 8 + (m / 10) % 7 * 6; i++) {
            apr_time_exp_t tm;

            apr_time_exp_tz(&tm, AT(m + 1) + SEC(i * 37), -21600);
            fprintf(f,
                    "10.1.%d.%d - - [%02d/Jun/2024:%02d:%02d:%02d -0600] \"GET "
                    "/prep/qro/%s HTTP/1.1\" %d %d \"-\" \"UA-%d\"\n",
                    i / 3 % 5, m % 50, tm.tm_mday, tm.tm_hour, tm.tm_min,
                    tm.tm_sec, i % 3 ? "index.html" : "json/main.json",
                    i % 4 ? 200 : 304, 5000 + i * 10, i / 3 % 9);
        }
    }
    ck_assert_int_eq(fclose(f), 0);
    defaults(&o);
    o.to = AT(360);
    o.logs = one(path);
    o.notes = "Ampliar la capacidad del segundo servidor.\n\nRevisar los "
              "rechazos por firma con el proveedor de los paquetes.";
    page = page_of(&o, "memoria-larga.html");
    check_balanced(page);
    check_svgs(page, 2);
    s = section_of(page, "por-hora");
    ck_assert_int_eq(count_of(s, "<g><title>"), 6);
    s = section_of(page, "linea-de-tiempo");
    /* 33 published, K210 by the unpin */
    ck_assert_int_eq(count_of(s, "<title>Corte K"), 34);
    ck_assert_int_eq(count_of(s, "stroke=\"#15803d\" stroke-width=\"2\"/>"),
                     34 + 1);
    HAS(s, ">23:00</text>");
    HAS(s, ">03/06</text>"); /* the date where the night crosses midnight */
    HAS(s, "Publicación fijada</text>");
}
END_TEST

Suite *suite_report_html(void)
{
    Suite *s = suite_create("report_html");
    TCase *tc = tcase_create("report_html");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_headings_and_summary);
    tcase_add_test(tc, test_every_incident_has_its_row);
    tcase_add_test(tc, test_untrusted_text_is_escaped);
    tcase_add_test(tc, test_self_contained_and_printable);
    tcase_add_test(tc, test_the_charts);
    tcase_add_test(tc, test_without_a_journal);
    tcase_add_test(tc, test_an_empty_period);
    tcase_add_test(tc, test_a_long_night);
    suite_add_tcase(s, tc);
    return s;
}

/* prep_report_html.c — memoria.html: the memoria técnica as one page in
 * Spanish, made from the document of prep_memoria_make (prep_report.h) and
 * from nothing else, so that the page cannot disagree with memoria.json
 * and the CSV files.
 *
 * The page is self-contained: its styles are inline, its charts are
 * inline SVG drawn here (visits and pages per hour, the corte timeline),
 * there is no script and no reference to any resource outside it.  A
 * print stylesheet lays it out on A4.  Every text taken from the document
 * is escaped: the access logs and the notes are untrusted input. */
#include <stdarg.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "prep_report.h"

/* --- the page being written ---------------------------------------- */

typedef struct page {
    prep_text_t *out;
    apr_pool_t *p;
    const json_t *doc;
    int offset_s; /* the feed's zone, seconds east of UTC */
} page_t;

static void put_n(page_t *pg, const char *s, apr_size_t n)
{
    prep_text_put(pg->out, s, n);
}

static void put(page_t *pg, const char *s)
{
    put_n(pg, s, strlen(s));
}

/* n bytes of s as HTML text or attribute value: & < > " ' as entities,
 * control characters (but line ends and tabs) as U+FFFD. */
static void put_text_n(page_t *pg, const char *s, apr_size_t n)
{
    prep_text_html(pg->out, s, n, 0, 1);
}

/* s escaped; NULL writes nothing. */
static void put_text(page_t *pg, const char *s)
{
    if (s) {
        put_text_n(pg, s, strlen(s));
    }
}

/* --- the document ---------------------------------------------------- */

/* The value at a dotted path ("traffic.totals.hits") under o; NULL when a
 * step is missing. */
static const json_t *at(const json_t *o, const char *path)
{
    char key[64];

    while (o && *path) {
        const char *dot = strchr(path, '.');
        apr_size_t n = dot ? (apr_size_t)(dot - path) : strlen(path);

        if (n >= sizeof(key)) {
            return NULL;
        }
        memcpy(key, path, n);
        key[n] = '\0';
        o = json_object_get(o, key);
        path += n + (dot != NULL);
    }
    return o;
}

static const char *str_at(const json_t *o, const char *path)
{
    return json_string_value(at(o, path));
}

static json_int_t int_at(const json_t *o, const char *path)
{
    return json_integer_value(at(o, path));
}

/* An ISO time of the document as a time: 1, or 0 when it is none. */
static int time_of(apr_time_t *t, const char *iso)
{
    return iso && prep_parse_iso_time(t, iso) == NULL;
}

/* --- numbers, times and durations as read in Mexico ------------------ */

/* "950 bytes", "2.11 kB", "12.3 MB", "457 GB" (powers of 1000). */
static const char *bytes_text(apr_pool_t *p, json_int_t n)
{
    static const char *const units[] = {"kB", "MB", "GB", "TB", "PB"};
    double v = (double)n;
    int u = -1;

    if (n < 1000) {
        return apr_psprintf(p, "%s bytes", prep_count_text(p, n));
    }
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    return apr_psprintf(p,
                        v < 10    ? "%.2f %s"
                        : v < 100 ? "%.1f %s"
                                  : "%.0f %s",
                        v, units[u]);
}

/* "mm:ss", or "h:mm:ss" from an hour. */
static const char *clock_duration(apr_pool_t *p, double seconds)
{
    apr_int64_t s = (apr_int64_t)(seconds + 0.5);

    if (s < 3600) {
        return apr_psprintf(p, "%02d:%02d", (int)(s / 60), (int)(s % 60));
    }
    return apr_psprintf(p, "%d:%02d:%02d", (int)(s / 3600),
                        (int)(s % 3600 / 60), (int)(s % 60));
}

/* part of whole as "12.5 %" ("—" when whole is 0). */
static const char *share_text(apr_pool_t *p, json_int_t part, json_int_t whole)
{
    return whole > 0 ? apr_psprintf(p, "%.1f %%",
                                    100.0 * (double)part / (double)whole)
                     : "—";
}

typedef enum {
    TIME_FULL,  /* 02/06/2024 20:05:00 */
    TIME_SHORT, /* 02/06 20:05:00 */
    TIME_DATE   /* 02/06/2024 (of "2024-06-02" too) */
} time_form_e;

/* An ISO time of the document ("2024-06-02T20:05:00-06:00", already in
 * the feed's zone) in form f; text of another form as it is. */
static const char *time_text(apr_pool_t *p, const char *iso, time_form_e f)
{
    apr_size_t n = iso ? strlen(iso) : 0;

    if (n < 10 || iso[4] != '-' || iso[7] != '-') {
        return iso;
    }
    if (f == TIME_DATE) {
        return apr_psprintf(p, "%.2s/%.2s/%.4s", iso + 8, iso + 5, iso);
    }
    if (n < 19 || iso[10] != 'T' || iso[13] != ':' || iso[16] != ':') {
        return iso;
    }
    return f == TIME_FULL
               ? apr_psprintf(p, "%.2s/%.2s/%.4s %.8s", iso + 8, iso + 5, iso,
                              iso + 11)
               : apr_psprintf(p, "%.2s/%.2s %.8s", iso + 8, iso + 5, iso + 11);
}

/* <time> of an ISO time in form f, or `none` (HTML) when it is NULL. */
static void put_time(page_t *pg, const char *iso, time_form_e f,
                     const char *none)
{
    if (!iso) {
        put(pg, none);
        return;
    }
    put(pg, "<time datetime=\"");
    put_text(pg, iso);
    put(pg, "\">");
    put_text(pg, time_text(pg->p, iso, f));
    put(pg, "</time>");
}

/* An ISO time in form f as plain text (in an SVG <title>). */
static void put_time_text(page_t *pg, const char *iso, time_form_e f)
{
    put_text(pg, time_text(pg->p, iso, f));
}

/* HH:MM of t in the feed's zone; with the date "dd/mm" when date. */
static const char *clock_text(apr_pool_t *p, apr_time_t t, int offset_s,
                              int date)
{
    apr_time_exp_t tm;

    apr_time_exp_tz(&tm, t, offset_s);
    return date ? apr_psprintf(p, "%02d/%02d", tm.tm_mday, tm.tm_mon + 1)
                : apr_psprintf(p, "%02d:%02d", tm.tm_hour, tm.tm_min);
}

/* Characters (not bytes) of UTF-8 text. */
static apr_size_t chars_of(const char *s)
{
    apr_size_t n = 0;

    for (; *s; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return n;
}

/* --- the blocks of the page ------------------------------------------ */

static void put_section(page_t *pg, const char *id, const char *title)
{
    prep_text_printf(pg->out, "<section id=\"%s\"><h2>%s</h2>\n", id, title);
}

static void put_section_end(page_t *pg)
{
    put(pg, "</section>\n");
}

/* A paragraph telling that there is nothing to show (text: HTML). */
static void put_none(page_t *pg, const char *text)
{
    prep_text_printf(pg->out, "<p class=\"sin-datos\">%s</p>\n", text);
}

/* A table's start and header row: a column whose name begins with '#'
 * holds numbers (aligned right; the '#' is not shown). */
static void put_table(page_t *pg, const char *cls, const char *const *cols)
{
    prep_text_printf(pg->out, "<table class=\"%s\"><thead><tr>", cls);
    for (; *cols; cols++) {
        prep_text_printf(pg->out,
                         (*cols)[0] == '#' ? "<th class=\"num\">%s</th>"
                                           : "<th>%s</th>",
                         (*cols)[0] == '#' ? *cols + 1 : *cols);
    }
    put(pg, "</tr></thead><tbody>\n");
}

static void put_table_end(page_t *pg)
{
    put(pg, "</tbody></table>\n");
}

/* A cell of text, escaped. */
static void put_cell(page_t *pg, const char *text)
{
    put(pg, "<td>");
    put_text(pg, text);
    put(pg, "</td>");
}

/* A cell of a number (its text already made: no escaping needed). */
static void put_cell_num(page_t *pg, const char *text)
{
    prep_text_printf(pg->out, "<td class=\"num\">%s</td>", text);
}

/* A cell of an ISO time in form f ("—" when none). */
static void put_cell_time(page_t *pg, const char *iso, time_form_e f)
{
    put(pg, "<td class=\"hora\">");
    put_time(pg, iso, f, "—");
    put(pg, "</td>");
}

static void put_cell_count(page_t *pg, json_int_t n)
{
    put_cell_num(pg, prep_count_text(pg->p, n));
}

/* --- the page's styles ---------------------------------------------- */

static const char page_css[] =
    ":root{--tinta:#1f2937;--tenue:#6b7280;--linea:#d1d5db;"
    "--acento:#1e3a8a;--fondo:#f8fafc}"
    "*{box-sizing:border-box}"
    "body{font-family:'DejaVu Sans','Liberation Sans',Arial,sans-serif;"
    "color:var(--tinta);background:#fff;margin:0;line-height:1.45;"
    "font-size:15px;counter-reset:seccion}"
    "main{max-width:980px;margin:0 auto;padding:28px 32px 40px}"
    "header.portada{border-top:6px solid var(--acento);"
    "border-bottom:1px solid var(--linea);padding:18px 0 14px;"
    "margin-bottom:22px}"
    ".antetitulo{margin:0;text-transform:uppercase;letter-spacing:.08em;"
    "font-size:12px;color:var(--tenue)}"
    "h1{font-size:27px;margin:4px 0 6px;color:var(--acento)}"
    ".difusor{font-size:19px;margin:0 0 12px;font-weight:bold}"
    "dl.ficha{display:grid;grid-template-columns:max-content auto;"
    "gap:3px 18px;margin:0;font-size:14px}"
    "dl.ficha dt{color:var(--tenue)}dl.ficha dd{margin:0}"
    "h2{font-size:19px;color:var(--acento);margin:30px 0 10px;"
    "padding-bottom:4px;border-bottom:2px solid var(--acento)}"
    "section h2::before{counter-increment:seccion;"
    "content:counter(seccion) '. '}"
    "h3{font-size:15px;margin:16px 0 6px}"
    "aside.avisos{border:1px solid #f59e0b;border-left:6px solid #f59e0b;"
    "background:#fffbeb;padding:8px 16px;margin:0 0 18px;border-radius:4px}"
    "aside.avisos h2{border:0;margin:4px 0;color:#92400e;font-size:17px}"
    "aside.avisos ul{margin:4px 0 6px;padding-left:20px}"
    "table{border-collapse:collapse;width:100%;font-size:13.5px;"
    "margin:6px 0 10px}"
    "th,td{text-align:left;padding:4px 8px;border-bottom:1px solid "
    "var(--linea);vertical-align:top}"
    "thead th{background:var(--fondo);border-bottom:2px solid #9ca3af;"
    "font-size:12.5px}"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}"
    "table.resumen th{font-weight:normal;width:34%}"
    "table.resumen td.num{font-weight:bold;font-size:15px}"
    "table.resumen td.nota{color:var(--tenue);font-size:12.5px}"
    "td.hora{white-space:nowrap}code.opcion{white-space:nowrap}"
    "td.ruta,td.detalle,code{overflow-wrap:anywhere;word-break:break-word}"
    "code{font-family:'DejaVu Sans Mono',monospace;font-size:12.5px}"
    "tr.afecto td{background:#fef2f2}"
    "table.incidencias td.detalle{width:30%}"
    "table.incidencias td:nth-child(2){width:22%}"
    "td.si{color:#b91c1c;font-weight:bold}"
    ".barra{display:inline-block;height:10px;background:#60a5fa;"
    "vertical-align:middle;min-width:1px}"
    "dl.definiciones dt{font-weight:bold;margin-top:8px}"
    "dl.definiciones dd{margin:2px 0 0 18px}"
    "figure{margin:8px 0 14px}"
    "figure svg{display:block;width:100%;height:auto;"
    "border:1px solid #e5e7eb;background:#fff}"
    "figcaption{font-size:12.5px;color:var(--tenue);margin-top:4px}"
    ".sin-datos{color:var(--tenue);font-style:italic;border:1px dashed "
    "var(--linea);padding:10px 14px;border-radius:4px}"
    ".nota{color:var(--tenue);font-size:13px}"
    "ul.ejemplos{padding-left:20px;font-size:13px}"
    "section.notas p{margin:0 0 10px}"
    "footer{margin-top:34px;padding-top:8px;border-top:1px solid "
    "var(--linea);font-size:12px;color:var(--tenue)}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    "@page { size: A4; margin: 15mm }"
    "@media print{"
    "body{font-size:10.5pt;background:#fff}"
    "main{max-width:none;padding:0}"
    "h1{font-size:20pt}h2{font-size:14pt;break-after:avoid;"
    "page-break-after:avoid}h3{break-after:avoid}"
    "table{font-size:9pt}thead{display:table-header-group}"
    "tr,figure,aside,dl.ficha,dl.definiciones dd{break-inside:avoid;"
    "page-break-inside:avoid}"
    "figure svg{width:100%;max-width:100%;border-color:#d1d5db}"
    "aside.avisos{background:#fff}"
    "}";

/* --- head, title, notices ------------------------------------------- */

static void put_head(page_t *pg)
{
    put(pg, "<!DOCTYPE html>\n<html lang=\"es\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, "
            "initial-scale=1\"><meta name=\"generator\" content=\"");
    put_text(pg, str_at(pg->doc, "memoria.generator"));
    put(pg, "\"><title>Memoria técnica de la difusión del PREP — ");
    put_text(pg, str_at(pg->doc, "memoria.difusor"));
    put(pg, str_at(pg->doc, "memoria.difusor") ? " — feed " : "feed ");
    put_text(pg, str_at(pg->doc, "memoria.feed"));
    prep_text_printf(
        pg->out, "</title><style>%s</style></head>\n<body><main>\n", page_css);
}

static void put_period(page_t *pg, const char *from, const char *to)
{
    put(pg, "del ");
    put_time(pg, from, TIME_FULL, "inicio de los registros (sin límite)");
    put(pg, " al ");
    put_time(pg, to, TIME_FULL, "final de los registros (sin límite)");
}

static void put_title(page_t *pg)
{
    const json_t *m = at(pg->doc, "memoria");
    const char *difusor = str_at(m, "difusor");

    put(pg, "<header class=\"portada\"><p class=\"antetitulo\">Programa de "
            "Resultados Electorales Preliminares</p>"
            "<h1>Memoria técnica de la difusión del PREP</h1>");
    put(pg, difusor ? "<p class=\"difusor\">"
                    : "<p class=\"difusor nota\">Difusor no indicado (opción "
                      "<code class=\"opcion\">--difusor</code>)");
    put_text(pg, difusor);
    put(pg, "</p><dl class=\"ficha\"><dt>Feed</dt><dd>");
    put_text(pg, str_at(m, "feed"));
    put(pg, "</dd><dt>Periodo</dt><dd>");
    put_period(pg, str_at(m, "period.from"), str_at(m, "period.to"));
    put(pg, "</dd><dt>Zona horaria</dt><dd>");
    put_text(pg, str_at(m, "zone.name"));
    put(pg, str_at(m, "zone.name") ? " (UTC" : "UTC");
    put_text(pg, str_at(m, "zone.offset"));
    put(pg, str_at(m, "zone.name") ? ")" : "");
    if (str_at(pg->doc, "traffic.period.first")) {
        put(pg, "</dd><dt>Solicitudes contadas</dt><dd>de la primera, ");
        put_time(pg, str_at(pg->doc, "traffic.period.first"), TIME_FULL, "");
        put(pg, ", a la última, ");
        put_time(pg, str_at(pg->doc, "traffic.period.last"), TIME_FULL, "");
    }
    put(pg, "</dd><dt>Generada</dt><dd>");
    put_time(pg, str_at(m, "generated_at"), TIME_FULL, "");
    if (str_at(m, "generator")) {
        put(pg, " por ");
        put_text(pg, str_at(m, "generator"));
    }
    put(pg, "</dd></dl></header>\n");
}

static void put_notices(page_t *pg)
{
    const json_t *notices = at(pg->doc, "notices"), *n;
    size_t i;

    if (!json_array_size(notices)) {
        return;
    }
    put(pg, "<aside class=\"avisos\" role=\"note\"><h2>Avisos</h2><ul>");
    json_array_foreach(notices, i, n)
    {
        put(pg, "<li data-aviso=\"");
        put_text(pg, str_at(n, "kind"));
        put(pg, "\">");
        put_text(pg, str_at(n, "text"));
        put(pg, "</li>");
    }
    put(pg, "</ul></aside>\n");
}

/* --- Resumen ----------------------------------------------------------- */

/* A row of the summary: its value (HTML) and a note. */
static void put_summary_row(page_t *pg, const char *label, const char *value,
                            const char *note)
{
    prep_text_printf(pg->out,
                     "<tr><th scope=\"row\">%s</th><td class=\"num\">%s</td>"
                     "<td class=\"nota\">%s</td></tr>\n",
                     label, value, note);
}

/* A count of the summary, "sin datos" when null (no access log). */
static const char *summary_count(page_t *pg, const char *key)
{
    const json_t *v = at(pg->doc, apr_pstrcat(pg->p, "summary.", key, NULL));

    return json_is_integer(v) ? prep_count_text(pg->p, json_integer_value(v))
                              : "sin datos";
}

static void put_summary(page_t *pg)
{
    const json_t *s = at(pg->doc, "summary");
    const json_t *bytes = json_object_get(s, "bytes");
    const json_t *mean = json_object_get(s, "visit_duration_mean_s");
    const json_t *avail = json_object_get(s, "availability");
    apr_pool_t *p = pg->p;
    const char *v;

    put_section(pg, "resumen", "Resumen");
    put(pg, "<table class=\"resumen\"><tbody>\n");
    put_summary_row(pg, "Visitantes únicos", summary_count(pg, "visitors"),
                    "misma dirección y User-Agent, en todo el periodo");
    put_summary_row(pg, "Visitas", summary_count(pg, "visits"),
                    "sesiones de un visitante (ver Definiciones)");
    put_summary_row(pg, "Páginas vistas", summary_count(pg, "pages"),
                    "documentos HTML e índices respondidos 200 o 304");
    put_summary_row(pg, "Hits", summary_count(pg, "hits"),
                    "todas las solicitudes registradas que cuentan");
    v = "sin datos";
    if (json_is_integer(bytes)) {
        json_int_t b = json_integer_value(bytes);

        v = b < 1000 ? bytes_text(p, b)
                     : apr_psprintf(p,
                                    "%s <span class=\"nota\">(%s bytes)"
                                    "</span>",
                                    bytes_text(p, b), prep_count_text(p, b));
    }
    put_summary_row(pg, "Bytes servidos", v, "de todos los hits");
    put_summary_row(pg, "Duración media de la visita",
                    json_is_number(mean)
                        ? clock_duration(p, json_number_value(mean))
                        : "sin datos",
                    "de la primera a la última solicitud de cada visita");
    put_summary_row(
        pg, "Disponibilidad",
        json_is_number(avail)
            ? apr_psprintf(p, "%.2f %%", 100.0 * json_number_value(avail))
            : "sin datos",
        "tiempo con un corte publicado y al día, sobre el periodo");
    if (!json_is_true(at(pg->doc, "night.journal.found"))) {
        put_summary_row(pg, "Incidencias", "sin datos", "sin el journal");
        put_summary_row(pg, "Cortes publicados", "sin datos", "sin el journal");
    } else {
        put_summary_row(
            pg, "Incidencias", prep_count_text(p, int_at(s, "incidents")),
            apr_psprintf(p,
                         "%s afectaron la publicación; %s paquetes rechazados",
                         prep_count_text(p, int_at(s, "incidents_affecting")),
                         prep_count_text(p, int_at(s, "refusals"))));
        put_summary_row(pg, "Cortes publicados",
                        prep_count_text(p, int_at(s, "cortes")),
                        "cortes distintos que el público pudo ver");
    }
    put(pg, "</tbody></table>\n");
    put_section_end(pg);
}

/* --- Definiciones ------------------------------------------------------ */

/* The list of strings at path, escaped and joined by ", "; `none` when it
 * is empty. */
static void put_list(page_t *pg, const char *path, const char *none)
{
    const json_t *a = at(pg->doc, path), *s;
    size_t i;

    if (!json_array_size(a)) {
        put(pg, none);
        return;
    }
    json_array_foreach(a, i, s)
    {
        put(pg, i ? ", <code>" : "<code>");
        put_text(pg, json_string_value(s));
        put(pg, "</code>");
    }
}

static void put_definition(page_t *pg, const char *term, const char *text)
{
    prep_text_printf(pg->out, "<dt>%s</dt><dd>%s</dd>\n", term, text);
}

static void put_definitions(page_t *pg)
{
    const json_t *timeout = at(pg->doc, "traffic.definitions.visit_timeout_s");
    json_int_t t =
        json_is_integer(timeout) ? json_integer_value(timeout) : 1800;
    const char *limit = t % 60 ? apr_psprintf(pg->p, "%d s", (int)t)
                               : apr_psprintf(pg->p, "%d min", (int)(t / 60));

    put_section(pg, "definiciones", "Definiciones");
    put(pg, "<dl class=\"definiciones\">\n");
    put_definition(
        pg, "Visitante único",
        "Una misma dirección del cliente con un mismo User-Agent, contado una "
        "vez por día (en la zona del feed) y una vez en todo el periodo; es "
        "la definición de GoAccess.");
    put_definition(
        pg, "Visita",
        apr_psprintf(
            pg->p,
            "Las solicitudes de un visitante sin una pausa mayor a "
            "%s entre dos seguidas (opción <code class=\"opcion\">--visit-timeout</code>; AWStats "
            "usa 60 min); una pausa de exactamente %s no corta la "
            "visita. Una visita que cruza la medianoche cuenta en la "
            "hora y el día en que empieza.",
            limit, limit));
    put_definition(pg, "Duración de una visita",
                   "El tiempo entre su primera y su última solicitud (0 s si "
                   "tiene una sola), en segundos enteros como los da la "
                   "bitácora.");
    put(pg, "<dt>Página vista</dt><dd>Una solicitud de un visitante "
            "respondida con 200 o 304 cuya ruta termina en <code>/</code> "
            "(un índice de directorio) o en una de las extensiones ");
    put_list(pg, "traffic.definitions.page_extensions",
             "<code>.html</code>, <code>.htm</code>");
    put(pg, ".</dd>\n");
    put_definition(pg, "Hit",
                   "Toda solicitud registrada que cuenta, también las de "
                   "rastreadores y monitores; los bytes servidos y los "
                   "códigos de estado son de todos los hits.");
    put_definition(
        pg, "Rastreadores y monitores",
        "Se cuentan aparte y no son visitantes: un monitor es una solicitud a "
        "<code>/prep-status</code> o de un User-Agent de monitoreo "
        "(Prometheus, kube-probe, UptimeRobot, Pingdom, check_http, "
        "Zabbix…); un rastreador, un User-Agent que contiene «bot», "
        "«crawl», «spider», «slurp» o «facebookexternalhit».");
    put(pg, "<dt>Rutas contadas</dt><dd>Solo las solicitudes del periodo "
            "bajo las Location del feed: ");
    put_list(pg, "memoria.locations",
             "todas las rutas (no se conocen las Location del feed)");
    put(pg, ".</dd>\n");
    put_definition(
        pg, "Disponibilidad",
        "La parte del periodo en que se publicaba un corte y la publicación "
        "no estaba detenida (sin cortes nuevos durante 3 intervalos de "
        "actualización).");
    put_definition(
        pg, "Incidencia que afectó la publicación",
        "Una publicación detenida, un almacén sin capacidad, un corte dañado "
        "o un regreso a un corte anterior, siempre; un paquete rechazado o "
        "una falla de carga, cuando no se publicó otro corte dentro del "
        "intervalo de actualización; una publicación fijada, cuando retuvo "
        "un corte más nuevo; un reinicio del almacén, cuando se publicaba un "
        "corte.");
    put(pg, "</dl>\n");
    put_section_end(pg);
}

/* --- charts ----------------------------------------------------------- */

/* The charts' geometry, in SVG user units. */
#define SVG_W     1000
#define PLOT_R    968
#define LEGEND_LH 20 /* a legend's line */

/* Time along x. */
typedef struct scale {
    apr_time_t from, to;
    double left, right;
    int offset_s;
} scale_t;

static double x_of(const scale_t *s, apr_time_t t)
{
    t = t < s->from ? s->from : t > s->to ? s->to : t;
    return s->left + (double)(t - s->from) * (s->right - s->left) /
                         (double)(s->to - s->from);
}

/* The time axis along y = bottom: a grid line from top at every round
 * step of the feed's clock (at most 8, at least min_step seconds), its
 * hour below and the date when it changes. */
static void put_time_axis(page_t *pg, const scale_t *s, apr_int64_t min_step,
                          double top, double bottom)
{
    static const apr_int64_t steps[] = {60,    300,    600,   900,   1800,
                                        3600,  7200,   10800, 21600, 43200,
                                        86400, 172800, 604800};
    apr_int64_t span = apr_time_sec(s->to - s->from), step = 0, t, day = -1;
    size_t i;

    for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        step = steps[i];
        if (step >= min_step && span / step <= 8) {
            break;
        }
    }
    prep_text_printf(pg->out,
                     "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                     "stroke=\"#6b7280\"/>",
                     s->left, bottom, s->right, bottom);
    t = apr_time_sec(s->from) + s->offset_s;
    t = (t + step - 1) / step * step - s->offset_s;
    for (; t <= apr_time_sec(s->to); t += step) {
        apr_time_t at_t = apr_time_from_sec(t);
        double x = x_of(s, at_t);

        prep_text_printf(
            pg->out,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#e5e7eb\"/><text x=\"%.1f\" y=\"%.1f\" "
            "class=\"eje\" text-anchor=\"middle\">%s</text>",
            x, top, x, bottom + 4, x, bottom + 17,
            clock_text(pg->p, at_t, s->offset_s, 0));
        if ((t + s->offset_s) / 86400 != day) {
            day = (t + s->offset_s) / 86400;
            prep_text_printf(pg->out,
                             "<text x=\"%.1f\" y=\"%.1f\" class=\"eje fecha\" "
                             "text-anchor=\"middle\">%s</text>",
                             x, bottom + 31,
                             clock_text(pg->p, at_t, s->offset_s, 1));
        }
    }
}

/* The marks drawn. */
typedef enum {
    SHAPE_BAND, /* a shaded interval (in a legend: a square) */
    SHAPE_TICK,
    SHAPE_TRIANGLE_DOWN,
    SHAPE_TRIANGLE_UP,
    SHAPE_CROSS,
    SHAPE_SQUARE,
    SHAPE_DIAMOND,
    SHAPE_CIRCLE
} shape_e;

/* A shape of 12 units centred on (x, y). */
static void put_shape(page_t *pg, shape_e shape, double x, double y,
                      const char *color)
{
    switch (shape) {
        case SHAPE_BAND:
            prep_text_printf(
                pg->out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" "
                "fill=\"%s\" fill-opacity=\"0.45\"/>",
                x - 6, y - 6, color);
            break;
        case SHAPE_TICK:
            prep_text_printf(
                pg->out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"%s\" stroke-width=\"2\"/>",
                x, y - 8, x, y + 8, color);
            break;
        case SHAPE_TRIANGLE_DOWN:
        case SHAPE_TRIANGLE_UP: {
            int d = shape == SHAPE_TRIANGLE_DOWN ? 1 : -1;

            prep_text_printf(
                pg->out,
                "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" "
                "fill=\"%s\"/>",
                x - 6, y - 5 * d, x + 6, y - 5 * d, x, y + 6 * d, color);
            break;
        }
        case SHAPE_CROSS:
            prep_text_printf(
                pg->out,
                "<path d=\"M%.1f %.1fL%.1f %.1fM%.1f %.1fL%.1f %.1f\" "
                "stroke=\"%s\" stroke-width=\"3\"/>",
                x - 5, y - 5, x + 5, y + 5, x - 5, y + 5, x + 5, y - 5, color);
            break;
        case SHAPE_SQUARE:
            prep_text_printf(
                pg->out,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" "
                "fill=\"%s\"/>",
                x - 5, y - 5, color);
            break;
        case SHAPE_DIAMOND:
            prep_text_printf(
                pg->out,
                "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f\" "
                "fill=\"%s\"/>",
                x, y - 7, x + 7, y, x, y + 7, x - 7, y, color);
            break;
        case SHAPE_CIRCLE:
            prep_text_printf(
                pg->out,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5.5\" fill=\"%s\"/>", x, y,
                color);
            break;
    }
}

/* A legend's entry. */
typedef struct legend_item {
    shape_e shape;
    const char *color, *text;
} legend_item_t;

/* The legend's entries laid out from x = left in lines of the chart's
 * width: the number of lines, and the entries drawn from y when draw. */
static int legend_lines(page_t *pg, const legend_item_t *items, int n,
                        double left, double y, int draw)
{
    double x = left;
    int i, lines = n ? 1 : 0;

    for (i = 0; i < n; i++) {
        double w = 24 + 7.4 * (double)chars_of(items[i].text) + 22;

        if (x + w > PLOT_R && x > left) {
            x = left;
            lines++;
        }
        if (draw) {
            double ly = y + (lines - 1) * LEGEND_LH;

            put_shape(pg, items[i].shape, x + 7, ly - 4, items[i].color);
            prep_text_printf(
                pg->out,
                "<text x=\"%.1f\" y=\"%.1f\" class=\"leyenda\">%s</text>",
                x + 20, ly, items[i].text);
        }
        x += w;
    }
    return lines;
}

/* An SVG chart's start: its size, its label (escaped here) as aria-label
 * and as its <title>. */
static void put_svg(page_t *pg, const char *cls, double height,
                    const char *label)
{
    prep_text_printf(
        pg->out,
        "<figure><svg class=\"%s\" viewBox=\"0 0 %d %.0f\" width=\"%d\" "
        "height=\"%.0f\" role=\"img\" aria-label=\"",
        cls, SVG_W, height, SVG_W, height);
    put_text(pg, label);
    put(pg, "\" preserveAspectRatio=\"xMidYMid meet\"><title>");
    put_text(pg, label);
    put(pg, "</title><style>text{font-family:'DejaVu Sans',Arial,sans-serif;"
            "fill:#374151}.eje{font-size:13px}.fecha{font-weight:bold}"
            ".leyenda{font-size:14px}.carril{font-size:14px;font-weight:bold}"
            "</style>");
}

static void put_svg_end(page_t *pg, const char *caption)
{
    prep_text_printf(pg->out, "</svg><figcaption>%s</figcaption></figure>\n",
                     caption);
}

/* A round step (1, 2 or 5 × 10^k) that cuts 0..max in at most 5. */
static json_int_t round_step(json_int_t max)
{
    json_int_t mag = 1;

    for (;;) {
        if (mag * 5 >= max) {
            return mag;
        }
        if (mag * 10 >= max) {
            return mag * 2;
        }
        if (mag * 25 >= max) {
            return mag * 5;
        }
        mag *= 10;
    }
}

/* --- Visitas y páginas por hora ------------------------------------- */

#define HOURS_H      330
#define HOURS_TOP    16
#define HOURS_BOTTOM 250
#define HOURS_LEFT   70
#define COLOR_PAGES  "#2563eb"
#define COLOR_VISITS "#f97316"

/* The y axis of counts 0..top (a grid line and a label per step). */
static void put_count_axis(page_t *pg, json_int_t top, json_int_t step)
{
    json_int_t v;

    for (v = 0; v <= top; v += step) {
        double y =
            HOURS_BOTTOM - (double)v * (HOURS_BOTTOM - HOURS_TOP) / (double)top;

        prep_text_printf(
            pg->out,
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
            "stroke=\"#e5e7eb\"/><text x=\"%d\" y=\"%.1f\" class=\"eje\" "
            "text-anchor=\"end\">%s</text>",
            HOURS_LEFT, y, PLOT_R, y, HOURS_LEFT - 6, y + 4,
            prep_count_text(pg->p, v));
    }
}

/* An hour's two bars. */
static void put_hour_bars(page_t *pg, const scale_t *s, apr_time_t hour,
                          const json_t *row, json_int_t top)
{
    double x0 = x_of(s, hour), x1 = x_of(s, hour + apr_time_from_sec(3600));
    double w = (x1 - x0) * 0.38, span = HOURS_BOTTOM - HOURS_TOP;
    double hp = (double)int_at(row, "pages") * span / (double)top;
    double hv = (double)int_at(row, "visits") * span / (double)top;

    prep_text_printf(
        pg->out,
        "<g><title>%s–%s: %s páginas vistas, %s visitas, %s hits</title>",
        clock_text(pg->p, hour, s->offset_s, 0),
        clock_text(pg->p, hour + apr_time_from_sec(3600), s->offset_s, 0),
        prep_count_text(pg->p, int_at(row, "pages")),
        prep_count_text(pg->p, int_at(row, "visits")),
        prep_count_text(pg->p, int_at(row, "hits")));
    prep_text_printf(
        pg->out,
        "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
        "fill=\"" COLOR_PAGES "\"/><rect x=\"%.2f\" y=\"%.2f\" "
        "width=\"%.2f\" height=\"%.2f\" fill=\"" COLOR_VISITS "\"/></g>",
        x0 + (x1 - x0) * 0.1, HOURS_BOTTOM - hp, w, hp, x0 + (x1 - x0) * 0.5,
        HOURS_BOTTOM - hv, w, hv);
}

static void put_hours_chart(page_t *pg)
{
    static const legend_item_t legend[] = {
        {SHAPE_SQUARE, COLOR_PAGES, "Páginas vistas"},
        {SHAPE_SQUARE, COLOR_VISITS, "Visitas (en la hora en que empiezan)"}};
    const json_t *hours = at(pg->doc, "traffic.hours"), *row;
    scale_t s = {0, 0, HOURS_LEFT, PLOT_R, pg->offset_s};
    json_int_t max = 0, top, step;
    apr_time_t t;
    size_t i, n = json_array_size(hours);

    put_section(pg, "por-hora", "Visitas y páginas vistas por hora");
    json_array_foreach(hours, i, row)
    {
        json_int_t v = int_at(row, "pages") > int_at(row, "visits")
                           ? int_at(row, "pages")
                           : int_at(row, "visits");

        max = v > max ? v : max;
    }
    if (!n || !max ||
        !time_of(&s.from, str_at(json_array_get(hours, 0), "hour")) ||
        !time_of(&s.to, str_at(json_array_get(hours, n - 1), "hour"))) {
        put_none(pg, "Sin datos: no hay visitas ni páginas vistas en el "
                     "periodo.");
        put_section_end(pg);
        return;
    }
    s.to += apr_time_from_sec(3600);
    step = round_step(max);
    top = (max + step - 1) / step * step;
    put_svg(pg, "por-hora", HOURS_H,
            apr_psprintf(pg->p,
                         "Visitas y páginas vistas por hora, %s horas desde "
                         "las %s del %s; a lo más %s en una hora",
                         prep_count_text(pg->p, (json_int_t)n),
                         clock_text(pg->p, s.from, s.offset_s, 0),
                         clock_text(pg->p, s.from, s.offset_s, 1),
                         prep_count_text(pg->p, max)));
    put_count_axis(pg, top, step);
    json_array_foreach(hours, i, row)
    {
        if (time_of(&t, str_at(row, "hour"))) {
            put_hour_bars(pg, &s, t, row, top);
        }
    }
    put_time_axis(pg, &s, 3600, HOURS_TOP, HOURS_BOTTOM);
    legend_lines(pg, legend, 2, HOURS_LEFT, HOURS_H - 20, 1);
    put_svg_end(pg, "Horas en la zona del feed. La tabla completa está en "
                    "horas.csv.");
    put_section_end(pg);
}

/* --- Línea de tiempo de los cortes ----------------------------------- */

#define LINE_LEFT   200
#define LANE_TOP    10
#define LANE_H      38
#define COLOR_TICK  "#15803d"
#define COLOR_SPAN  "#bfdbfe"
#define COLOR_SPAN2 "#dbeafe"
#define COLOR_STALE "#f59e0b"

enum { LANE_CORTES, LANE_INCIDENTS, LANE_RESTARTS, LANE_OPERATOR, LANES };

static const char *const lane_names[LANES] = {
    "Cortes publicados", "Incidencias", "Reinicios", "Acciones del operador"};

/* How an incident of a kind is marked. */
typedef struct mark_kind {
    const char *kind; /* the document's "kind" */
    int lane;
    shape_e shape;
    const char *color, *legend;
} mark_kind_t;

static const mark_kind_t mark_kinds[] = {
    {"refusal", LANE_INCIDENTS, SHAPE_TRIANGLE_DOWN, "#dc2626",
     "Paquete rechazado"},
    {"loader-crash", LANE_INCIDENTS, SHAPE_CROSS, "#7f1d1d",
     "Falla del proceso de carga"},
    {"stale", LANE_INCIDENTS, SHAPE_BAND, COLOR_STALE,
     "Publicación detenida (sombreado)"},
    {"store-problem", LANE_INCIDENTS, SHAPE_SQUARE, "#a16207",
     "Almacén sin capacidad"},
    {"damaged", LANE_INCIDENTS, SHAPE_TRIANGLE_UP, "#be185d", "Corte dañado"},
    {"server-start", LANE_RESTARTS, SHAPE_TRIANGLE_UP, "#4338ca",
     "Arranque de Apache"},
    {"server-reload", LANE_RESTARTS, SHAPE_CIRCLE, "#4338ca",
     "Reinicio ordenado de Apache (graceful)"},
    {"intake-restart", LANE_RESTARTS, SHAPE_SQUARE, "#7c3aed",
     "Reinicio del proceso de recepción"},
    {"rollback", LANE_OPERATOR, SHAPE_DIAMOND, "#1d4ed8",
     "Regreso a un corte anterior"},
    {"pin", LANE_OPERATOR, SHAPE_DIAMOND, "#0e7490", "Publicación fijada"},
    {"unpin", LANE_OPERATOR, SHAPE_CIRCLE, "#0e7490", "Publicación liberada"},
    {"reset", LANE_OPERATOR, SHAPE_SQUARE, "#111827", "Reinicio del almacén"},
    {"drill-on", LANE_OPERATOR, SHAPE_TRIANGLE_UP, "#db2777",
     "Inicio de simulacro"},
    {"drill-off", LANE_OPERATOR, SHAPE_TRIANGLE_DOWN, "#db2777",
     "Fin de simulacro"},
    {"closed", LANE_OPERATOR, SHAPE_CROSS, "#374151",
     "Cierre de la publicación"},
    {NULL, LANE_INCIDENTS, SHAPE_CIRCLE, "#6b7280", "Otra incidencia"}};

static const mark_kind_t *mark_kind_of(const char *kind)
{
    const mark_kind_t *k = mark_kinds;

    for (; k->kind && (!kind || strcmp(k->kind, kind)); k++) {
    }
    return k;
}

static double lane_y(int lane)
{
    return LANE_TOP + LANE_H * lane + LANE_H / 2.0;
}

/* What an incident is about, in a line: its reason, package, corte, user
 * and message, and whether it began before or outlasted the period. */
static void put_incident_detail(page_t *pg, const json_t *in)
{
    static const struct {
        const char *key, *word;
    } fields[] = {{"reason", "motivo"},
                  {"package", "paquete"},
                  {"corte", "corte"},
                  {"user", "usuario"},
                  {"message", "mensaje"}};
    const char *sep = "";
    size_t i;

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *v = str_at(in, fields[i].key);

        if (v) {
            prep_text_printf(pg->out, "%s%s: ", sep, fields[i].word);
            put_text(pg, v);
            sep = " · ";
        }
    }
    if (json_is_true(at(in, "began_before"))) {
        prep_text_printf(pg->out, "%scomenzó antes del periodo", sep);
        sep = " · ";
    }
    if (json_is_true(at(in, "open"))) {
        prep_text_printf(pg->out, "%sseguía al final del periodo", sep);
        sep = " · ";
    }
    if (json_is_true(at(in, "drill"))) {
        prep_text_printf(pg->out, "%sdurante un simulacro", sep);
    }
}

/* The cortes' spans and the ticks of those that went live in the
 * period. */
static void put_corte_marks(page_t *pg, const scale_t *s)
{
    const json_t *c;
    size_t i;
    double y = lane_y(LANE_CORTES);

    json_array_foreach(at(pg->doc, "night.cortes"), i, c)
    {
        apr_time_t from, until;
        double x0, x1;

        if (!time_of(&from, str_at(c, "live_from")) ||
            !time_of(&until, str_at(c, "live_until"))) {
            continue;
        }
        x0 = x_of(s, from);
        x1 = x_of(s, until);
        put(pg, "<g><title>Corte ");
        put_text(pg, str_at(c, "id"));
        if (str_at(c, "time")) {
            put(pg, " (hora del corte ");
            put_time_text(pg, str_at(c, "time"), TIME_SHORT);
            put(pg, ")");
        }
        put(pg, ", publicado de ");
        put_time_text(pg, str_at(c, "live_from"), TIME_SHORT);
        put(pg, " a ");
        put_time_text(pg, str_at(c, "live_until"), TIME_SHORT);
        put(pg, "</title>");
        prep_text_printf(
            pg->out,
            "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"16\" "
            "fill=\"%s\" stroke=\"#fff\" stroke-width=\"0.5\"/>",
            x0, y - 8, x1 - x0 < 1 ? 1 : x1 - x0,
            i % 2 ? COLOR_SPAN2 : COLOR_SPAN);
        if (from >= s->from) {
            put_shape(pg, SHAPE_TICK, x0, y, COLOR_TICK);
        }
        put(pg, "</g>");
    }
}

/* The stale periods shaded across every lane, behind the marks. */
static void put_stale_bands(page_t *pg, const scale_t *s)
{
    const json_t *in;
    size_t i;
    apr_time_t a, b;

    json_array_foreach(at(pg->doc, "night.incidents"), i, in)
    {
        const char *kind = str_at(in, "kind");

        if (kind && !strcmp(kind, "stale") &&
            time_of(&a, str_at(in, "start")) &&
            time_of(&b, str_at(in, "end"))) {
            double x0 = x_of(s, a), x1 = x_of(s, b);

            prep_text_printf(
                pg->out,
                "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
                "fill=\"" COLOR_STALE "\" fill-opacity=\"0.18\"/>",
                x0, LANE_TOP, x1 - x0 < 2 ? 2 : x1 - x0, LANE_H * LANES);
        }
    }
}

/* An incident's mark: a bar over its interval, its shape at its start. */
static void put_incident_mark(page_t *pg, const scale_t *s, const json_t *in,
                              const mark_kind_t *k)
{
    apr_time_t a, b;
    double y = lane_y(k->lane), x0, x1;

    if (!time_of(&a, str_at(in, "start")) || !time_of(&b, str_at(in, "end"))) {
        return;
    }
    x0 = x_of(s, a);
    x1 = x_of(s, b);
    put(pg, "<g><title>");
    put_text(pg, str_at(in, "label"));
    put(pg, ": ");
    put_time_text(pg, str_at(in, "start"), TIME_SHORT);
    if (b > a) {
        put(pg, " a ");
        put_time_text(pg, str_at(in, "end"), TIME_SHORT);
        prep_text_printf(pg->out, " (%s)",
                         prep_duration_text(pg->p, int_at(in, "duration_s")));
    }
    put(pg,
        json_is_true(at(in, "affected")) ? ", afectó la publicación. " : ". ");
    put_incident_detail(pg, in);
    put(pg, "</title>");
    if (b > a) {
        prep_text_printf(
            pg->out,
            "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"12\" "
            "fill=\"%s\" fill-opacity=\"0.45\"/>",
            x0, y - 6, x1 - x0 < 2 ? 2 : x1 - x0, k->color);
    }
    if (k->shape != SHAPE_BAND) {
        put_shape(pg, k->shape, x0, y, k->color);
    }
    put(pg, "</g>");
}

/* The legend of the timeline: the cortes, then the kinds of incident
 * shown, in the order of mark_kinds; into items (room for all). */
static int timeline_legend(page_t *pg, legend_item_t *items)
{
    const mark_kind_t *k;
    int n = 0;

    items[n++] = (legend_item_t){SHAPE_TICK, COLOR_TICK, "Corte publicado"};
    items[n++] =
        (legend_item_t){SHAPE_BAND, "#60a5fa", "Corte vigente (franja)"};
    for (k = mark_kinds;; k++) {
        const json_t *in;
        size_t i;

        json_array_foreach(at(pg->doc, "night.incidents"), i, in)
        {
            if (mark_kind_of(str_at(in, "kind")) == k) {
                items[n++] = (legend_item_t){k->shape, k->color, k->legend};
                break;
            }
        }
        if (!k->kind) {
            break;
        }
    }
    return n;
}

static void put_timeline_chart(page_t *pg)
{
    legend_item_t legend[sizeof(mark_kinds) / sizeof(mark_kinds[0]) + 2];
    scale_t s = {0, 0, LINE_LEFT, PLOT_R, pg->offset_s};
    const json_t *in;
    double bottom = LANE_TOP + LANE_H * LANES, height;
    int n, lane;
    size_t i;

    put_section(pg, "linea-de-tiempo", "Línea de tiempo de los cortes");
    if (!json_is_true(at(pg->doc, "night.journal.found"))) {
        put_none(pg, "Sin datos: no se encontró el journal del feed.");
        put_section_end(pg);
        return;
    }
    if (!time_of(&s.from, str_at(pg->doc, "night.period.from")) ||
        !time_of(&s.to, str_at(pg->doc, "night.period.to")) || s.to <= s.from) {
        put_none(pg, "Sin datos: el journal no tiene registros en el periodo.");
        put_section_end(pg);
        return;
    }
    n = timeline_legend(pg, legend);
    height =
        bottom + 52 + LEGEND_LH * legend_lines(pg, legend, n, LINE_LEFT, 0, 0);
    put_svg(
        pg, "linea", height,
        apr_psprintf(
            pg->p,
            "Línea de tiempo del %s al %s: %s cortes publicados "
            "y %s incidencias",
            time_text(pg->p, str_at(pg->doc, "night.period.from"), TIME_SHORT),
            time_text(pg->p, str_at(pg->doc, "night.period.to"), TIME_SHORT),
            prep_count_text(pg->p, (json_int_t)json_array_size(
                                       at(pg->doc, "night.cortes"))),
            prep_count_text(pg->p, (json_int_t)json_array_size(
                                       at(pg->doc, "night.incidents")))));
    for (lane = 0; lane < LANES; lane++) {
        prep_text_printf(
            pg->out,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
            "fill=\"%s\"/><text x=\"%d\" y=\"%.1f\" class=\"carril\" "
            "text-anchor=\"end\">%s</text>",
            LINE_LEFT, LANE_TOP + LANE_H * lane, PLOT_R - LINE_LEFT, LANE_H,
            lane % 2 ? "#ffffff" : "#f9fafb", LINE_LEFT - 10, lane_y(lane) + 4,
            lane_names[lane]);
    }
    put_stale_bands(pg, &s);
    put_time_axis(pg, &s, 60, LANE_TOP, bottom);
    put_corte_marks(pg, &s);
    json_array_foreach(at(pg->doc, "night.incidents"), i, in)
    {
        put_incident_mark(pg, &s, in, mark_kind_of(str_at(in, "kind")));
    }
    legend_lines(pg, legend, n, LINE_LEFT, bottom + 56, 1);
    put_svg_end(pg, "Cada marca es un evento del journal en la zona del "
                    "feed; al pasar el cursor se ve su detalle. El detalle "
                    "completo está en el reporte de incidencias.");
    put_section_end(pg);
}

/* --- the tables of the traffic ---------------------------------------- */

/* Whether there is traffic to show; says why not when there is none. */
static int traffic_or_none(page_t *pg)
{
    if (json_is_object(at(pg->doc, "traffic"))) {
        return 1;
    }
    put_none(pg, "Sin datos: no se dieron bitácoras de acceso (opción "
                 "<code class=\"opcion\">--log</code>).");
    return 0;
}

static void put_pages(page_t *pg)
{
    static const char *const cols[] = {"#", "Página", "#Consultas",
                                       "#Parte de las páginas vistas", NULL};
    const json_t *top = at(pg->doc, "traffic.pages_top"), *row;
    json_int_t total = int_at(pg->doc, "traffic.totals.pages");
    size_t i;

    put_section(pg, "paginas", "Páginas más consultadas");
    if (traffic_or_none(pg) && !json_array_size(top)) {
        put_none(pg, "Sin datos: no hubo páginas vistas en el periodo.");
    } else if (json_array_size(top)) {
        put_table(pg, "paginas", cols);
        json_array_foreach(top, i, row)
        {
            put(pg, "<tr>");
            put_cell_count(pg, (json_int_t)i + 1);
            put(pg, "<td class=\"ruta\"><code>");
            put_text(pg, str_at(row, "path"));
            put(pg, "</code></td>");
            put_cell_count(pg, int_at(row, "count"));
            put_cell_num(pg, share_text(pg->p, int_at(row, "count"), total));
            put(pg, "</tr>\n");
        }
        put_table_end(pg);
        if (json_array_size(top) <
            json_array_size(at(pg->doc, "traffic.pages"))) {
            prep_text_printf(
                pg->out,
                "<p class=\"nota\">Las %s más consultadas de %s páginas "
                "distintas; la lista completa está en paginas.csv.</p>\n",
                prep_count_text(pg->p, (json_int_t)json_array_size(top)),
                prep_count_text(pg->p, (json_int_t)json_array_size(
                                           at(pg->doc, "traffic.pages"))));
        } else {
            put(pg, "<p class=\"nota\">Son todas las páginas vistas; la "
                    "lista está también en paginas.csv.</p>\n");
        }
    }
    put_section_end(pg);
}

static void put_durations(page_t *pg)
{
    static const char *const cols[] = {"Duración", "#Visitas", "#Parte", "",
                                       NULL};
    const json_t *row;
    json_int_t total = int_at(pg->doc, "traffic.totals.visits");
    size_t i;

    put_section(pg, "duraciones", "Visitas por duración");
    if (traffic_or_none(pg)) {
        put_table(pg, "duraciones", cols);
        json_array_foreach(at(pg->doc, "traffic.durations"), i, row)
        {
            json_int_t v = int_at(row, "visits");

            put(pg, "<tr>");
            put_cell(pg, str_at(row, "range"));
            put_cell_count(pg, v);
            put_cell_num(pg, share_text(pg->p, v, total));
            prep_text_printf(pg->out,
                             "<td style=\"width:40%%\"><span class=\"barra\" "
                             "style=\"width:%.1f%%\"></span></td></tr>\n",
                             total ? 100.0 * (double)v / (double)total : 0.0);
        }
        put_table_end(pg);
    }
    put_section_end(pg);
}

/* The Spanish name of an HTTP status code (by its class when it is not a
 * common one). */
static const char *status_name(json_int_t code)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {{200, "Correcto"},
                 {201, "Creado"},
                 {204, "Sin contenido"},
                 {206, "Contenido parcial"},
                 {301, "Movido permanentemente"},
                 {302, "Encontrado (redirección temporal)"},
                 {303, "Ver otro"},
                 {304, "No modificado"},
                 {307, "Redirección temporal"},
                 {308, "Redirección permanente"},
                 {400, "Solicitud incorrecta"},
                 {401, "No autorizado"},
                 {403, "Prohibido"},
                 {404, "No encontrado"},
                 {405, "Método no permitido"},
                 {406, "No aceptable"},
                 {408, "Tiempo de espera agotado"},
                 {410, "Ya no disponible"},
                 {412, "Falló la condición previa"},
                 {413, "Contenido demasiado grande"},
                 {414, "URI demasiado larga"},
                 {416, "Rango no satisfacible"},
                 {429, "Demasiadas solicitudes"},
                 {500, "Error interno del servidor"},
                 {501, "No implementado"},
                 {502, "Puerta de enlace incorrecta"},
                 {503, "Servicio no disponible"},
                 {504, "Tiempo de espera de la puerta de enlace agotado"}};
    static const char *const classes[] = {
        "Otro",        "Informativo",       "Éxito",
        "Redirección", "Error del cliente", "Error del servidor"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (names[i].code == code) {
            return names[i].name;
        }
    }
    return classes[code >= 100 && code < 600 ? code / 100 : 0];
}

static void put_status(page_t *pg)
{
    static const char *const cols[] = {"#Código", "Significado", "#Hits",
                                       "#Parte", NULL};
    const json_t *row;
    json_int_t total = int_at(pg->doc, "traffic.totals.hits");
    size_t i;

    put_section(pg, "codigos", "Códigos de estado");
    if (traffic_or_none(pg)) {
        put_table(pg, "codigos", cols);
        json_array_foreach(at(pg->doc, "traffic.status"), i, row)
        {
            put(pg, "<tr>");
            prep_text_printf(pg->out, "<td class=\"num\">%d</td>",
                             (int)int_at(row, "code"));
            put_cell(pg, status_name(int_at(row, "code")));
            put_cell_count(pg, int_at(row, "hits"));
            put_cell_num(pg, share_text(pg->p, int_at(row, "hits"), total));
            put(pg, "</tr>\n");
        }
        put_table_end(pg);
    }
    put_section_end(pg);
}

static void put_days(page_t *pg)
{
    static const char *const cols[] = {"Día",      "#Visitantes únicos",
                                       "#Visitas", "#Páginas vistas",
                                       "#Hits",    NULL};
    const json_t *row;
    size_t i;

    put_section(pg, "dias", "Visitantes por día");
    if (traffic_or_none(pg)) {
        put_table(pg, "dias", cols);
        json_array_foreach(at(pg->doc, "traffic.days"), i, row)
        {
            put(pg, "<tr><td>");
            put_time(pg, str_at(row, "day"), TIME_DATE, "");
            put(pg, "</td>");
            put_cell_count(pg, int_at(row, "visitors"));
            put_cell_count(pg, int_at(row, "visits"));
            put_cell_count(pg, int_at(row, "pages"));
            put_cell_count(pg, int_at(row, "hits"));
            put(pg, "</tr>\n");
        }
        put_table_end(pg);
        put(pg, "<p class=\"nota\">Un visitante que vuelve otro día cuenta "
                "en cada día; el total del periodo lo cuenta una vez.</p>\n");
    }
    put_section_end(pg);
}

static void put_cortes_traffic(page_t *pg)
{
    static const char *const cols[] = {
        "Corte", "Hora del corte",  "Publicado desde", "Publicado hasta",
        "#Hits", "#Páginas vistas", "#Bytes",          NULL};
    const json_t *rows = at(pg->doc, "cortes_traffic"), *row;
    size_t i;

    put_section(pg, "trafico-por-corte", "Tráfico por corte");
    if (!traffic_or_none(pg)) {
        put_section_end(pg);
        return;
    }
    if (!json_array_size(rows)) {
        put_none(pg, json_is_true(at(pg->doc, "night.journal.found"))
                         ? "Sin datos: no se publicó ningún corte en el "
                           "periodo."
                         : "Sin datos: sin el journal no se conocen los "
                           "cortes.");
        put_section_end(pg);
        return;
    }
    put_table(pg, "cortes", cols);
    json_array_foreach(rows, i, row)
    {
        const char *id = str_at(row, "corte");

        put(pg, "<tr>");
        if (id) {
            put(pg, "<td><code>");
            put_text(pg, id);
            put(pg, "</code></td>");
        } else {
            put(pg, "<td><em>Sin corte publicado</em></td>");
        }
        put_cell_time(pg, str_at(row, "time"), TIME_SHORT);
        put_cell_time(pg, str_at(row, "live_from"), TIME_SHORT);
        put_cell_time(pg, str_at(row, "live_until"), TIME_SHORT);
        put_cell_count(pg, int_at(row, "hits"));
        put_cell_count(pg, int_at(row, "pages"));
        put_cell_num(pg, bytes_text(pg->p, int_at(row, "bytes")));
        put(pg, "</tr>\n");
    }
    put_table_end(pg);
    put(pg, "<p class=\"nota\">Las solicitudes servidas mientras cada corte "
            "era el publicado; la tabla está en trafico_por_corte.csv.</p>\n");
    put_section_end(pg);
}

/* --- Reporte de incidencias ------------------------------------------ */

/* The text of the first notice of kind k, or NULL. */
static const char *notice_text(page_t *pg, const char *k)
{
    const json_t *n;
    size_t i;

    json_array_foreach(at(pg->doc, "notices"), i, n)
    {
        if (str_at(n, "kind") && !strcmp(str_at(n, "kind"), k)) {
            return str_at(n, "text");
        }
    }
    return NULL;
}

static void put_incident_row(page_t *pg, size_t i, const json_t *in)
{
    int affected = json_is_true(at(in, "affected"));
    const char *start = str_at(in, "start"), *end = str_at(in, "end");
    int instant = start && end && !strcmp(start, end);

    put(pg, affected ? "<tr class=\"afecto\">" : "<tr>");
    put_cell_count(pg, (json_int_t)i + 1);
    put_cell(pg, str_at(in, "label"));
    put_cell_time(pg, start, TIME_SHORT);
    put_cell_time(pg, instant ? NULL : end, TIME_SHORT);
    put_cell_num(pg, instant
                         ? "instante"
                         : prep_duration_text(pg->p, int_at(in, "duration_s")));
    put(pg, affected ? "<td class=\"si\">Sí</td>" : "<td>No</td>");
    put(pg, "<td class=\"detalle\">");
    put_incident_detail(pg, in);
    put(pg, "</td></tr>\n");
}

static void put_incidents(page_t *pg)
{
    static const char *const cols[] = {"#",         "Incidencia",
                                       "Inicio",    "Fin",
                                       "#Duración", "¿Afectó la publicación?",
                                       "Detalle",   NULL};
    const json_t *list = at(pg->doc, "night.incidents"), *in;
    size_t i;

    put_section(pg, "incidencias", "Reporte de incidencias");
    if (!json_is_true(at(pg->doc, "night.journal.found"))) {
        put(pg, "<p class=\"sin-datos\">");
        put_text(pg, notice_text(pg, "no-journal")
                         ? notice_text(pg, "no-journal")
                         : "No se encontró el journal del feed: no hay "
                           "reporte de incidencias.");
        put(pg, "</p>\n");
        put_section_end(pg);
        return;
    }
    prep_text_printf(
        pg->out,
        "<p>Incidencias registradas en el journal durante el periodo: "
        "<strong>%s</strong>, de ellas <strong>%s</strong> afectaron la "
        "publicación.</p>\n",
        prep_count_text(pg->p, (json_int_t)json_array_size(list)),
        prep_count_text(pg->p, int_at(pg->doc, "summary.incidents_affecting")));
    if (!json_array_size(list)) {
        put_none(pg, "No se registró ninguna incidencia en el periodo.");
    } else {
        put_table(pg, "incidencias", cols);
        json_array_foreach(list, i, in)
        {
            put_incident_row(pg, i, in);
        }
        put_table_end(pg);
        put(pg, "<p class=\"nota\">La tabla está también en "
                "incidencias.csv; los cortes publicados, en cortes.csv.</p>\n");
    }
    put_section_end(pg);
}

/* --- crawlers, unparsable lines, sources ------------------------------ */

static void put_robots(page_t *pg)
{
    static const char *const cols[] = {"",         "#Clientes", "#Hits",
                                       "#Páginas", "#Bytes",    NULL};
    const json_t *c = at(pg->doc, "traffic.crawlers");
    const json_t *m = at(pg->doc, "traffic.monitors");

    put_section(pg, "rastreadores", "Rastreadores y monitores");
    if (traffic_or_none(pg)) {
        put(pg, "<p>No son visitantes: sus solicitudes cuentan en los hits, "
                "los bytes y los códigos de estado, no en visitantes, "
                "visitas ni páginas vistas.</p>\n");
        put_table(pg, "robots", cols);
        put(pg, "<tr><td>Rastreadores</td>");
        put_cell_count(pg, int_at(c, "clients"));
        put_cell_count(pg, int_at(c, "hits"));
        put_cell_count(pg, int_at(c, "pages"));
        put_cell_num(pg, bytes_text(pg->p, int_at(c, "bytes")));
        put(pg, "</tr>\n<tr><td>Monitores</td><td class=\"num\">—</td>");
        put_cell_count(pg, int_at(m, "hits"));
        put(pg, "<td class=\"num\">—</td>");
        put_cell_num(pg, bytes_text(pg->p, int_at(m, "bytes")));
        put(pg, "</tr>\n");
        put_table_end(pg);
    }
    put_section_end(pg);
}

static void put_unparsable(page_t *pg)
{
    const json_t *examples = at(pg->doc, "traffic.unparsable_examples"), *e;
    json_int_t n = int_at(pg->doc, "traffic.lines.unparsable");
    size_t i;

    put_section(pg, "no-interpretables", "Líneas no interpretables");
    if (traffic_or_none(pg)) {
        if (!n) {
            put(pg, "<p>Todas las líneas leídas tienen un formato reconocido "
                    "(combined, prep_combined o common).</p>\n");
        } else {
            prep_text_printf(
                pg->out,
                "<p><strong>%s</strong> %s un formato reconocido (combined, "
                "prep_combined o common) y no se %s. %s:</p>\n"
                "<ul class=\"ejemplos\">",
                prep_count_text(pg->p, n),
                n == 1 ? "línea no tiene" : "líneas no tienen",
                n == 1 ? "contó" : "contaron",
                n == 1 ? "Es esta" : "Las primeras");
            json_array_foreach(examples, i, e)
            {
                put(pg, "<li><code>");
                put_text(pg, json_string_value(e));
                put(pg, "</code></li>");
            }
            put(pg, "</ul>\n");
        }
    }
    put_section_end(pg);
}

static void put_log_files(page_t *pg)
{
    static const char *const cols[] = {"Archivo", "#Líneas",
                                       "#No interpretables", "Estado", NULL};
    const json_t *f, *l = at(pg->doc, "traffic.lines");
    size_t i;

    put_table(pg, "fuentes", cols);
    json_array_foreach(at(pg->doc, "traffic.files"), i, f)
    {
        put(pg, "<tr><td class=\"ruta\"><code>");
        put_text(pg, str_at(f, "path"));
        put(pg, "</code></td>");
        put_cell_count(pg, int_at(f, "lines"));
        put_cell_count(pg, int_at(f, "unparsable"));
        put(pg, "<td class=\"detalle\">");
        put_text(pg,
                 str_at(f, "error") ? str_at(f, "error") : "leída completa");
        put(pg, "</td></tr>\n");
    }
    put_table_end(pg);
    prep_text_printf(
        pg->out,
        "<p class=\"nota\">Líneas leídas: %s; fuera del periodo: %s; fuera "
        "de las Location del feed: %s; no interpretables: %s; contadas: "
        "%s.</p>\n",
        prep_count_text(pg->p, int_at(l, "read")),
        prep_count_text(pg->p, int_at(l, "outside_period")),
        prep_count_text(pg->p, int_at(l, "outside_locations")),
        prep_count_text(pg->p, int_at(l, "unparsable")),
        prep_count_text(pg->p, int_at(l, "counted")));
}

static void put_sources(page_t *pg)
{
    const json_t *m = at(pg->doc, "memoria");

    put_section(pg, "fuentes", "Fuentes");
    put(pg, "<h3>Bitácoras de acceso</h3>\n");
    if (json_is_object(at(pg->doc, "traffic"))) {
        put_log_files(pg);
    } else {
        put_none(
            pg,
            "No se dieron bitácoras de acceso (opción <code class=\"opcion\">--log</code>).");
    }
    put(pg, "<h3>Journal del feed</h3>\n<p><code>");
    put_text(pg, str_at(m, "journal"));
    put(pg, "</code>: ");
    if (json_is_true(at(pg->doc, "night.journal.found"))) {
        prep_text_printf(
            pg->out, "%s líneas leídas, %s dañadas.",
            prep_count_text(pg->p, int_at(pg->doc, "night.journal.lines")),
            prep_count_text(pg->p, int_at(pg->doc, "night.journal.bad_lines")));
    } else {
        put(pg, "no se encontró.");
    }
    put(pg, "</p>\n<h3>Location del feed</h3>\n<p>");
    put_list(pg, "memoria.locations",
             "Ninguna conocida: se contaron todas las rutas.");
    put(pg, "</p>\n");
    if (str_at(m, "notes_file")) {
        put(pg, "<h3>Notas</h3>\n<p><code>");
        put_text(pg, str_at(m, "notes_file"));
        put(pg, "</code></p>\n");
    }
    put_section_end(pg);
}

/* --- Criterios de mejora y sugerencias -------------------------------- */

/* Text as paragraphs: split on blank lines (empty or only spaces), the
 * lines of a paragraph kept as lines. */
static void put_paragraphs(page_t *pg, const char *s)
{
    int open = 0;

    while (*s) {
        const char *end = strchr(s, '\n'), *c;
        apr_size_t n = end ? (apr_size_t)(end - s) : strlen(s);
        int blank = 1;

        for (c = s; c < s + n; c++) {
            blank = blank && (*c == ' ' || *c == '\t' || *c == '\r');
        }
        if (blank && open) {
            put(pg, "</p>\n");
            open = 0;
        } else if (!blank) {
            put(pg, open ? "<br>\n" : "<p>");
            open = 1;
            put_text_n(pg, s, n && s[n - 1] == '\r' ? n - 1 : n);
        }
        s += n + (end != NULL);
    }
    if (open) {
        put(pg, "</p>\n");
    }
}

static void put_notes(page_t *pg)
{
    const char *notes = str_at(pg->doc, "memoria.notes");

    put(pg, "<section id=\"criterios\" class=\"notas\"><h2>Criterios de "
            "mejora y sugerencias</h2>\n");
    if (notes && strspn(notes, " \t\r\n") < strlen(notes)) {
        put_paragraphs(pg, notes);
    } else {
        put_none(pg, "No se dieron notas para esta sección (opción "
                     "<code class=\"opcion\">--notes</code> con un archivo "
                     "de texto).");
    }
    put_section_end(pg);
}

static void put_footer(page_t *pg)
{
    put(pg, "<footer>Memoria generada el ");
    put_time(pg, str_at(pg->doc, "memoria.generated_at"), TIME_FULL, "");
    if (str_at(pg->doc, "memoria.generator")) {
        put(pg, " por ");
        put_text(pg, str_at(pg->doc, "memoria.generator"));
    }
    put(pg, ". Los mismos datos están en memoria.json y en los archivos CSV "
            "que la acompañan.</footer>\n</main></body></html>\n");
}

void prep_memoria_html(prep_text_t *out, const json_t *doc)
{
    page_t pg = {out, out->p, doc, 0};

    pg.offset_s = prep_iso_offset(str_at(doc, "memoria.zone.offset"));
    put_head(&pg);
    put_title(&pg);
    put_notices(&pg);
    put_summary(&pg);
    put_definitions(&pg);
    put_hours_chart(&pg);
    put_timeline_chart(&pg);
    put_pages(&pg);
    put_durations(&pg);
    put_status(&pg);
    put_days(&pg);
    put_cortes_traffic(&pg);
    put_incidents(&pg);
    put_robots(&pg);
    put_unparsable(&pg);
    put_sources(&pg);
    put_notes(&pg);
    put_footer(&pg);
}

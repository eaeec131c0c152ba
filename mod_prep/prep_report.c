/* prep_report.c — the memoria técnica assembled: the access logs counted
 * (prep_report_log.c) and the night read back from the journal
 * (prep_report_journal.c) put into one document, with the traffic of
 * each corte (every request counted is given to the corte that was being
 * served at its time), the summary the page opens with and the notices
 * that tell the reader what the report could not know; then written out
 * as memoria.json, the CSV tables and memoria.html (prep_report_html.c).
 *
 * The document is the one truth: the CSV files and the page are made from
 * it, never from the counters, so that the three formats cannot disagree. */
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "prep_incidents.h"
#include "prep_report.h"

/* The traffic of one span of the timeline (the last slot: while none
 * was served). */
typedef struct corte_traffic {
    apr_uint64_t hits, pages, bytes;
} corte_traffic_t;

typedef struct traffic_baton {
    const prep_night_t *night;
    corte_traffic_t *spans; /* night->cortes->nelts + 1 */
} traffic_baton_t;

static void count_request(void *baton, const prep_report_request_t *req)
{
    traffic_baton_t *b = baton;
    int i = prep_night_corte_at(b->night, req->time);
    corte_traffic_t *t = &b->spans[i < 0 ? b->night->cortes->nelts : i];

    t->hits++;
    t->bytes += req->bytes;
    if (req->page && req->client == PREP_CLIENT_VISITOR) {
        t->pages++;
    }
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *time_or_null(apr_time_t t, const prep_zone_t *z, apr_pool_t *p)
{
    return t ? json_string(prep_time_iso(p, t, z)) : json_null();
}

static json_t *strings_json(const apr_array_header_t *a)
{
    json_t *l = json_array();
    int i;

    for (i = 0; a && i < a->nelts; i++) {
        json_array_append_new(l,
                              json_string(APR_ARRAY_IDX(a, i, const char *)));
    }
    return l;
}

static json_t *counts_json(const corte_traffic_t *t)
{
    return json_pack("{s:I, s:I, s:I}", "hits", (json_int_t)t->hits, "pages",
                     (json_int_t)t->pages, "bytes", (json_int_t)t->bytes);
}

/* cortes_traffic: a row per span of the timeline, then the requests that
 * came while none was served (when there were any).  Without a journal
 * nothing is known of the cortes: no row at all. */
static json_t *cortes_traffic_json(const prep_night_t *n,
                                   const corte_traffic_t *spans,
                                   const prep_zone_t *z, apr_pool_t *p)
{
    json_t *a = json_array(), *row;
    int i;

    if (!n->journal_found || !spans) {
        return a;
    }
    for (i = 0; i < n->cortes->nelts; i++) {
        const prep_corte_span_t *s =
            &APR_ARRAY_IDX(n->cortes, i, prep_corte_span_t);

        row = counts_json(&spans[i]);
        json_object_set_new(row, "corte", json_string(s->id));
        json_object_set_new(row, "time", time_or_null(s->corte_time, z, p));
        json_object_set_new(row, "live_from", time_or_null(s->live_from, z, p));
        json_object_set_new(row, "live_until",
                            time_or_null(s->live_until, z, p));
        json_array_append_new(a, row);
    }
    if (spans[n->cortes->nelts].hits) {
        row = counts_json(&spans[n->cortes->nelts]);
        json_object_set_new(row, "corte", json_null());
        json_object_set_new(row, "time", json_null());
        json_object_set_new(row, "live_from", json_null());
        json_object_set_new(row, "live_until", json_null());
        json_array_append_new(a, row);
    }
    return a;
}

static void notice(json_t *notices, const char *kind, const char *text)
{
    json_array_append_new(notices,
                          json_pack("{s:s, s:s}", "kind", kind, "text", text));
}

/* What the reader must know about what the report could not count. */
static json_t *notices_json(const prep_memoria_options_t *o,
                            const prep_night_t *n, const json_t *traffic,
                            apr_pool_t *p)
{
    json_t *a = json_array(), *files, *f, *lines;
    json_int_t unparsable;
    size_t i;

    if (!traffic) {
        notice(a, "no-log",
               "No se dieron bitácoras de acceso (opción --log): el informe "
               "no tiene visitantes, visitas, páginas ni hits.");
    } else {
        lines = json_object_get(traffic, "lines");
        if (json_is_true(json_object_get(traffic, "empty"))) {
            notice(a, "empty-period",
                   "Ninguna solicitud de las bitácoras de acceso cae en el "
                   "periodo y en las Location del feed: no hay tráfico que "
                   "contar.");
        }
        unparsable = json_integer_value(json_object_get(lines, "unparsable"));
        if (unparsable > 0) {
            notice(a, "unparsable",
                   apr_psprintf(
                       p,
                       "%" APR_INT64_T_FMT " %s de las bitácoras no %s un "
                       "formato reconocido (combined, prep_combined o "
                       "common) y no se %s; abajo se muestran las primeras.",
                       (apr_int64_t)unparsable,
                       unparsable == 1 ? "línea" : "líneas",
                       unparsable == 1 ? "tiene" : "tienen",
                       unparsable == 1 ? "contó" : "contaron"));
        }
        files = json_object_get(traffic, "files");
        json_array_foreach(files, i, f)
        {
            const json_t *err = json_object_get(f, "error");

            if (json_is_string(err)) {
                notice(
                    a, "damaged-log",
                    apr_psprintf(p,
                                 "La bitácora %s está dañada (%s): se "
                                 "contó hasta el daño.",
                                 json_string_value(json_object_get(f, "path")),
                                 json_string_value(err)));
            }
        }
    }
    if (!n->journal_found) {
        notice(
            a, "no-journal",
            apr_psprintf(p,
                         "No se encontró el journal del feed en %s: el "
                         "informe no tiene la línea de tiempo de los cortes, "
                         "la disponibilidad ni el reporte de incidencias.",
                         o->store));
    } else if (n->bad_lines) {
        notice(a, "bad-journal-lines",
               apr_psprintf(p,
                            "%" APR_UINT64_T_FMT " %s del journal %s "
                            "y se %s.",
                            n->bad_lines,
                            n->bad_lines == 1 ? "línea" : "líneas",
                            n->bad_lines == 1 ? "está dañada" : "están dañadas",
                            n->bad_lines == 1 ? "omitió" : "omitieron"));
    }
    if (traffic && (!o->locations || !o->locations->nelts)) {
        notice(a, "every-path",
               "No se conocen las Location del feed: se contaron todas las "
               "rutas de las bitácoras (opción --location).");
    }
    return a;
}

static json_t *summary_json(const prep_night_t *n, const json_t *traffic)
{
    const json_t *totals = json_object_get(traffic, "totals");
    json_t *s = json_object();
    apr_hash_t *ids = apr_hash_make(n->cortes->pool);
    static const char *const keys[] = {"visitors", "visits", "pages", "hits",
                                       "bytes"};
    int i, affecting = 0, refusals = 0;
    size_t k;

    for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        const json_t *v = json_object_get(totals, keys[k]);

        json_object_set_new(s, keys[k],
                            v ? json_copy((json_t *)v) : json_null());
    }
    json_object_set_new(
        s, "visit_duration_mean_s",
        totals ? json_copy(json_object_get(totals, "visit_duration_mean_s"))
               : json_null());
    json_object_set_new(s, "availability",
                        n->availability >= 0 ? json_real(n->availability)
                                             : json_null());
    for (i = 0; i < n->incidents->nelts; i++) {
        const prep_incident_t *in =
            &APR_ARRAY_IDX(n->incidents, i, prep_incident_t);

        affecting += in->affected;
        refusals += in->kind == PREP_INCIDENT_REFUSAL;
    }
    for (i = 0; i < n->cortes->nelts; i++) {
        const char *id = APR_ARRAY_IDX(n->cortes, i, prep_corte_span_t).id;

        apr_hash_set(ids, id, APR_HASH_KEY_STRING, id);
    }
    json_object_set_new(s, "incidents", json_integer(n->incidents->nelts));
    json_object_set_new(s, "incidents_affecting", json_integer(affecting));
    json_object_set_new(s, "refusals", json_integer(refusals));
    json_object_set_new(s, "cortes", json_integer(apr_hash_count(ids)));
    return s;
}

static json_t *head_json(const prep_memoria_options_t *o, const prep_zone_t *z,
                         apr_pool_t *p)
{
    json_t *m = json_object();

    json_object_set_new(m, "generator", str_or_null(o->generator));
    json_object_set_new(
        m, "generated_at",
        time_or_null(o->generated_at ? o->generated_at : apr_time_now(), z, p));
    json_object_set_new(m, "feed", str_or_null(o->feed));
    json_object_set_new(m, "difusor", str_or_null(o->difusor));
    json_object_set_new(m, "zone",
                        json_pack("{s:s, s:s?}", "offset",
                                  prep_zone_offset_text(p, z), "name",
                                  z->name));
    json_object_set_new(m, "period",
                        json_pack("{s:o, s:o}", "from",
                                  time_or_null(o->from, z, p), "to",
                                  time_or_null(o->to, z, p)));
    json_object_set_new(m, "logs", strings_json(o->logs));
    json_object_set_new(
        m, "journal",
        json_string(apr_pstrcat(p, o->store, "/" PREP_JOURNAL_FILE, NULL)));
    json_object_set_new(m, "locations", strings_json(o->locations));
    json_object_set_new(m, "notes", str_or_null(o->notes));
    json_object_set_new(m, "notes_file", str_or_null(o->notes_file));
    return m;
}

apr_status_t prep_memoria_make(json_t **doc, const prep_memoria_options_t *o,
                               const char **error, apr_pool_t *p)
{
    prep_zone_t z = {o->offset_s, o->zone_name};
    prep_night_options_t no = {o->from, o->to, o->update_interval};
    prep_night_t *night;
    json_t *traffic = NULL;
    traffic_baton_t baton = {NULL, NULL};
    apr_status_t rv;

    *doc = NULL;
    *error = NULL;
    if ((rv = prep_night_read(&night, o->store, &no, p)) != APR_SUCCESS) {
        *error = apr_psprintf(p, "the journal of %s cannot be read: %pm",
                              o->store, &rv);
        return rv;
    }
    if (o->logs && o->logs->nelts) {
        prep_report_log_options_t lo;
        prep_report_log_t *r;

        memset(&lo, 0, sizeof(lo));
        lo.from = o->from;
        lo.to = o->to;
        lo.locations = o->locations;
        lo.page_extensions = o->page_extensions;
        lo.offset_s = o->offset_s;
        lo.visit_timeout = o->visit_timeout;
        lo.top_pages = o->top_pages;
        baton.night = night;
        baton.spans = apr_pcalloc(p, sizeof(corte_traffic_t) *
                                         (night->cortes->nelts + 1));
        lo.each = count_request;
        lo.baton = &baton;
        r = prep_report_log_make(&lo, p);
        if ((rv = prep_report_log_read(r, o->logs, error)) != APR_SUCCESS) {
            return rv;
        }
        traffic = prep_report_log_json(r);
    }
    *doc = json_object();
    json_object_set_new(*doc, "memoria", head_json(o, &z, p));
    json_object_set_new(*doc, "summary", summary_json(night, traffic));
    json_object_set_new(*doc, "notices", notices_json(o, night, traffic, p));
    json_object_set_new(*doc, "traffic", traffic ? traffic : json_null());
    json_object_set_new(*doc, "night", prep_night_to_json(night, &z, p));
    json_object_set_new(*doc, "cortes_traffic",
                        cortes_traffic_json(night, baton.spans, &z, p));
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Writing it out */

/* A column of a CSV table: the key in the document's rows, the header. */
typedef struct column {
    const char *key, *header;
} column_t;

/* A value of the document as a CSV field: NULL for null (empty). */
static const char *field_of(const json_t *v, apr_pool_t *p)
{
    switch (json_typeof(v)) {
        case JSON_STRING:
            return json_string_value(v);
        case JSON_INTEGER:
            return apr_psprintf(p, "%" APR_INT64_T_FMT,
                                (apr_int64_t)json_integer_value(v));
        case JSON_REAL:
            return apr_psprintf(p, "%.6f", json_real_value(v));
        case JSON_TRUE:
            return "sí";
        case JSON_FALSE:
            return "no";
        default:
            return NULL;
    }
}

/* The rows of `rows` (objects) with columns cols (ended by {NULL}). */
static apr_status_t csv_table(const json_t *rows, const column_t *cols,
                              const char *dir, const char *name, apr_pool_t *p)
{
    prep_csv_t c;
    const json_t *row;
    const column_t *col;
    size_t i;

    memset(&c, 0, sizeof(c));
    c.text.p = p;
    for (col = cols; col->key; col++) {
        prep_csv_field(&c, col->header);
    }
    prep_csv_row(&c, NULL);
    json_array_foreach(rows, i, row)
    {
        for (col = cols; col->key; col++) {
            prep_csv_field(&c, field_of(json_object_get(row, col->key), p));
        }
        prep_csv_row(&c, NULL);
    }
    return prep_csv_write(&c, dir, name);
}

/* resumen.csv: one row per indicator of the summary. */
static apr_status_t csv_summary(const json_t *summary, const char *dir,
                                apr_pool_t *p)
{
    static const column_t rows[] = {
        {"visitors", "visitantes_unicos"},
        {"visits", "visitas"},
        {"pages", "paginas_vistas"},
        {"hits", "hits"},
        {"bytes", "bytes"},
        {"visit_duration_mean_s", "duracion_media_visita_s"},
        {"availability", "disponibilidad"},
        {"cortes", "cortes"},
        {"incidents", "incidencias"},
        {"incidents_affecting", "incidencias_que_afectaron"},
        {"refusals", "rechazos"},
        {NULL, NULL}};
    static const char *const header[] = {"indicador", "valor", NULL};
    prep_csv_t c;
    const column_t *r;

    memset(&c, 0, sizeof(c));
    c.text.p = p;
    prep_csv_row(&c, header);
    for (r = rows; r->key; r++) {
        prep_csv_field(&c, r->header);
        prep_csv_field(&c, field_of(json_object_get(summary, r->key), p));
        prep_csv_row(&c, NULL);
    }
    return prep_csv_write(&c, dir, "resumen.csv");
}

/* The tables of the document; the night's two as prep_night_write_csv
 * writes them, from the document's night. */
static apr_status_t write_csv(const json_t *doc, const char *dir,
                              apr_array_header_t *written, apr_pool_t *p)
{
    static const column_t pages[] = {
        {"path", "pagina"}, {"count", "consultas"}, {NULL, NULL}};
    static const column_t hours[] = {{"hour", "hora"},
                                     {"hits", "hits"},
                                     {"pages", "paginas"},
                                     {"visits", "visitas"},
                                     {NULL, NULL}};
    static const column_t days[] = {
        {"day", "dia"},   {"visitors", "visitantes"}, {"visits", "visitas"},
        {"hits", "hits"}, {"pages", "paginas"},       {NULL, NULL}};
    static const column_t status[] = {
        {"code", "codigo"}, {"hits", "hits"}, {NULL, NULL}};
    static const column_t durations[] = {{"range", "rango"},
                                         {"from_s", "desde_s"},
                                         {"to_s", "hasta_s"},
                                         {"visits", "visitas"},
                                         {NULL, NULL}};
    static const column_t traffic[] = {{"corte", "corte"},
                                       {"time", "hora_corte"},
                                       {"live_from", "publicado_desde"},
                                       {"live_until", "publicado_hasta"},
                                       {"hits", "hits"},
                                       {"pages", "paginas"},
                                       {"bytes", "bytes"},
                                       {NULL, NULL}};
    static const column_t cortes[] = {{"id", "corte"},
                                      {"time", "hora_corte"},
                                      {"package", "paquete"},
                                      {"live_from", "publicado_desde"},
                                      {"live_until", "publicado_hasta"},
                                      {"seconds", "segundos"},
                                      {"open", "vigente_al_final"},
                                      {"drill", "simulacro"},
                                      {NULL, NULL}};
    static const column_t incidents[] = {
        {"kind", "tipo"},
        {"label", "descripcion"},
        {"start", "inicio"},
        {"end", "fin"},
        {"duration_s", "duracion_s"},
        {"began_before", "inicio_antes_del_periodo"},
        {"open", "abierta_al_final"},
        {"affected", "afecto_la_publicacion"},
        {"drill", "simulacro"},
        {"package", "paquete"},
        {"reason", "motivo"},
        {"message", "mensaje"},
        {"user", "usuario"},
        {"corte", "corte"},
        {NULL, NULL}};
    const struct table {
        const json_t *rows;
        const column_t *cols;
        const char *name;
    } tables[] = {
        {json_object_get(json_object_get(doc, "traffic"), "pages"), pages,
         "paginas.csv"},
        {json_object_get(json_object_get(doc, "traffic"), "hours"), hours,
         "horas.csv"},
        {json_object_get(json_object_get(doc, "traffic"), "days"), days,
         "dias.csv"},
        {json_object_get(json_object_get(doc, "traffic"), "status"), status,
         "codigos.csv"},
        {json_object_get(json_object_get(doc, "traffic"), "durations"),
         durations, "duraciones.csv"},
        {json_object_get(doc, "cortes_traffic"), traffic,
         "trafico_por_corte.csv"},
        {json_object_get(json_object_get(doc, "night"), "cortes"), cortes,
         PREP_NIGHT_CSV_CORTES},
        {json_object_get(json_object_get(doc, "night"), "incidents"), incidents,
         PREP_NIGHT_CSV_INCIDENTS},
    };
    apr_status_t rv;
    size_t i;

    if ((rv = csv_summary(json_object_get(doc, "summary"), dir, p))) {
        return rv;
    }
    if (written) {
        APR_ARRAY_PUSH(written, const char *) = "resumen.csv";
    }
    for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        if ((rv = csv_table(tables[i].rows, tables[i].cols, dir, tables[i].name,
                            p))) {
            return rv;
        }
        if (written) {
            APR_ARRAY_PUSH(written, const char *) = tables[i].name;
        }
    }
    return APR_SUCCESS;
}

apr_status_t prep_memoria_write(const json_t *doc, const char *dir,
                                unsigned formats, apr_array_header_t *written,
                                const char **error, apr_pool_t *p)
{
    apr_status_t rv;
    const char *failed = dir;

    *error = NULL;
    rv = apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, p);
    if (rv == APR_SUCCESS && (formats & PREP_MEMORIA_JSON)) {
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        failed = apr_pstrcat(p, dir, "/memoria.json", NULL);
        rv = text ? prep_store_write_atomic(failed,
                                            apr_pstrcat(p, text, "\n", NULL),
                                            strlen(text) + 1, p)
                  : APR_ENOMEM;
        free(text);
        if (rv == APR_SUCCESS && written) {
            APR_ARRAY_PUSH(written, const char *) = "memoria.json";
        }
    }
    if (rv == APR_SUCCESS && (formats & PREP_MEMORIA_CSV)) {
        failed = apr_pstrcat(p, dir, "/*.csv", NULL);
        rv = write_csv(doc, dir, written, p);
    }
    if (rv == APR_SUCCESS && (formats & PREP_MEMORIA_HTML)) {
        prep_text_t page;

        memset(&page, 0, sizeof(page));
        page.p = p;
        prep_memoria_html(&page, doc);
        failed = apr_pstrcat(p, dir, "/memoria.html", NULL);
        rv = prep_store_write_atomic(failed, page.buf ? page.buf : "", page.len,
                                     p);
        if (rv == APR_SUCCESS && written) {
            APR_ARRAY_PUSH(written, const char *) = "memoria.html";
        }
    }
    if (rv != APR_SUCCESS) {
        *error = apr_psprintf(p, "cannot write %s: %pm", failed, &rv);
    }
    return rv;
}

/* prepctl_report.c — `prepctl report FEED`: the memoria técnica that the
 * convocatorias ask of a difusor after the election, made from the
 * feed's journal and the access logs given (prep_report.c).  It only
 * reads the store, so it runs as any user who may read the journal and
 * the logs, with Apache running or not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "prep_report.h"
#include "prepctl.h"

/* A notes file larger than this is not notes. */
#define NOTES_MAX (1024 * 1024)

/* What `prepctl report` is asked. */
typedef struct report_request {
    prepctl_where_t where;
    const char *feed;
    const char *from_text, *to_text;
    apr_array_header_t *logs;      /* const char * */
    apr_array_header_t *locations; /* const char *, --location */
    apr_array_header_t *pages;     /* const char *, --pages */
    const char *out;
    unsigned formats;
    const char *difusor;
    const char *notes_file;
    apr_interval_time_t visit_timeout;
    int top;
} report_request_t;

/* --format html,csv,json: 0 when a word is none of them. */
static unsigned formats_of(const char *text, apr_pool_t *p)
{
    char *copy = apr_pstrdup(p, text), *last, *w;
    unsigned formats = 0;

    for (w = apr_strtok(copy, ",", &last); w;
         w = apr_strtok(NULL, ",", &last)) {
        if (!strcmp(w, "html")) {
            formats |= PREP_MEMORIA_HTML;
        } else if (!strcmp(w, "csv")) {
            formats |= PREP_MEMORIA_CSV;
        } else if (!strcmp(w, "json")) {
            formats |= PREP_MEMORIA_JSON;
        } else {
            return 0;
        }
    }
    return formats;
}

/* --pages .html,.htm,.php: the extensions, each with its dot. */
static apr_array_header_t *extensions_of(const char *text, apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    char *copy = apr_pstrdup(p, text), *last, *w;

    for (w = apr_strtok(copy, ",", &last); w;
         w = apr_strtok(NULL, ",", &last)) {
        APR_ARRAY_PUSH(a, const char *) =
            w[0] == '.' ? w : apr_pstrcat(p, ".", w, NULL);
    }
    return a;
}

/* The option at argv[*i] and its value: PREPCTL_GO_ON or 2. */
static int option_of(report_request_t *rq, int argc, const char *const *argv,
                     int *i, apr_pool_t *p)
{
    const char *opt = argv[*i], *val, *err;
    apr_uint64_t n;

    if (!strcmp(opt, "--log")) {
        /* every word after it up to the next option: --log access.log* */
        while (*i + 1 < argc && argv[*i + 1][0] != '-') {
            APR_ARRAY_PUSH(rq->logs, const char *) = argv[++*i];
        }
        return PREPCTL_GO_ON;
    }
    if (*i + 1 >= argc) {
        return prepctl_fail_usage(apr_psprintf(p, _("%s needs a value"), opt));
    }
    val = argv[++*i];
    if (!strcmp(opt, "--feeds")) {
        rq->where.feeds_file = val;
    } else if (!strcmp(opt, "--store")) {
        rq->where.store = val;
    } else if (!strcmp(opt, "--from")) {
        rq->from_text = val;
    } else if (!strcmp(opt, "--to")) {
        rq->to_text = val;
    } else if (!strcmp(opt, "--out")) {
        rq->out = val;
    } else if (!strcmp(opt, "--difusor")) {
        rq->difusor = val;
    } else if (!strcmp(opt, "--notes")) {
        rq->notes_file = val;
    } else if (!strcmp(opt, "--location")) {
        if (val[0] != '/') {
            return prepctl_fail_usage(apr_psprintf(
                p, _("--location \"%s\" is not a path such as /prep/qro"),
                val));
        }
        APR_ARRAY_PUSH(rq->locations, const char *) = val;
    } else if (!strcmp(opt, "--pages")) {
        rq->pages = extensions_of(val, p);
    } else if (!strcmp(opt, "--format")) {
        if (!(rq->formats = formats_of(val, p))) {
            return prepctl_fail_usage(apr_psprintf(
                p, _("--format \"%s\": the formats are html, csv and json"),
                val));
        }
    } else if (!strcmp(opt, "--visit-timeout")) {
        if ((err = prep_parse_duration(&rq->visit_timeout, val)) ||
            rq->visit_timeout <= 0) {
            return prepctl_fail_usage(apr_psprintf(
                p, _("--visit-timeout \"%s\" is not a duration such as 30m"),
                val));
        }
    } else if (!strcmp(opt, "--top")) {
        if (prep_parse_number(&n, val, NULL) != PREP_NUMBER_OK || n < 1 ||
            n > 100000) {
            return prepctl_fail_usage(apr_psprintf(
                p, _("--top \"%s\" is not a number from 1 to 100000"), val));
        }
        rq->top = (int)n;
    } else {
        return prepctl_fail_usage(
            apr_psprintf(p, _("unknown option %s for %s"), opt, "report"));
    }
    return PREPCTL_GO_ON;
}

static int request_of(report_request_t *rq, int argc, const char *const *argv,
                      apr_pool_t *p)
{
    int i, rc;

    for (i = 0; i < argc; i++) {
        const char *w = argv[i];

        if (w[0] == '-' && w[1]) {
            if ((rc = option_of(rq, argc, argv, &i, p)) != PREPCTL_GO_ON) {
                return rc;
            }
        } else if (!rq->feed) {
            if (!prep_feed_name_valid(w)) {
                return prepctl_fail_usage(apr_psprintf(
                    p,
                    _("\"%s\" is not a feed name (letters, digits, _ and -)"),
                    w));
            }
            rq->feed = w;
        } else {
            return prepctl_fail_usage(apr_psprintf(
                p, _("report takes one FEED (logs go after --log): \"%s\""),
                w));
        }
    }
    if (!rq->feed) {
        return prepctl_fail_usage(
            apr_psprintf(p, _("%s needs a FEED"), "report"));
    }
    return PREPCTL_GO_ON;
}

/* A time of --from/--to: ISO-8601 with an offset, or without one
 * (2024-06-02T18:00[:SS]) or a date (2024-06-02, its midnight) in the
 * feed's zone.  1, or 0 when it is none of them. */
static int time_of(apr_time_t *t, const char *text, const prep_zone_t *z)
{
    apr_time_exp_t tm;
    int y, mo, d, h = 0, mi = 0, s = 0, used = 0;
    size_t len = strlen(text);

    if (prep_journal_time(t, text) == APR_SUCCESS) {
        return 1;
    }
    if (!(sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &used) == 3 &&
          (size_t)used == len) &&
        !(sscanf(text, "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &d, &h, &mi, &used) ==
              5 &&
          (size_t)used == len) &&
        !(sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s,
                 &used) == 6 &&
          (size_t)used == len)) {
        return 0;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 ||
        y < 1970 || !apr_isdigit(text[0])) {
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    if (apr_time_exp_gmt_get(t, &tm) != APR_SUCCESS) {
        return 0;
    }
    *t -= apr_time_from_sec(z->offset_s);
    return 1;
}

/* The notes file's text: PREPCTL_GO_ON, or 1 when it cannot be read. */
static int notes_of(const char **notes, const char *file, apr_pool_t *p)
{
    apr_file_t *fp;
    apr_finfo_t fi;
    apr_status_t rv;
    apr_size_t len;
    char *buf;

    *notes = NULL;
    if (!file) {
        return PREPCTL_GO_ON;
    }
    if ((rv = apr_file_open(&fp, file, APR_FOPEN_READ, 0, p)) != APR_SUCCESS) {
        return prepctl_refuse(_("the notes file %s cannot be read: %s"), file,
                              apr_psprintf(p, "%pm", &rv));
    }
    if ((rv = apr_file_info_get(&fi, APR_FINFO_SIZE, fp)) != APR_SUCCESS ||
        fi.size > NOTES_MAX) {
        apr_file_close(fp);
        return prepctl_refuse(_("the notes file %s is larger than 1 MB"), file);
    }
    len = (apr_size_t)fi.size;
    buf = apr_palloc(p, len + 1);
    rv = len ? apr_file_read_full(fp, buf, len, &len) : APR_SUCCESS;
    apr_file_close(fp);
    if (rv != APR_SUCCESS) {
        return prepctl_refuse(_("the notes file %s cannot be read: %s"), file,
                              apr_psprintf(p, "%pm", &rv));
    }
    buf[len] = '\0';
    *notes = buf;
    return PREPCTL_GO_ON;
}

/* The few lines on standard output. */
static void print_summary(const json_t *doc, const char *out,
                          const apr_array_header_t *written)
{
    const json_t *m = json_object_get(doc, "memoria");
    const json_t *s = json_object_get(doc, "summary");
    const json_t *lines =
        json_object_get(json_object_get(doc, "traffic"), "lines");
    const json_t *period = json_object_get(m, "period");
    const json_t *from = json_object_get(period, "from");
    const json_t *to = json_object_get(period, "to");
    const char *const keys[] = {"visitors", "visits", "pages", "hits", "bytes"};
    size_t i;
    int w;

    printf("feed:        %s\n", json_string_value(json_object_get(m, "feed")));
    printf("period:      %s to %s\n",
           json_is_string(from) ? json_string_value(from) : "(the beginning)",
           json_is_string(to) ? json_string_value(to) : "(the end)");
    if (lines) {
        printf("log lines:   %" JSON_INTEGER_FORMAT
               " read, %" JSON_INTEGER_FORMAT " counted, %" JSON_INTEGER_FORMAT
               " unparsable\n",
               json_integer_value(json_object_get(lines, "read")),
               json_integer_value(json_object_get(lines, "counted")),
               json_integer_value(json_object_get(lines, "unparsable")));
        for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            printf("%-12s %" JSON_INTEGER_FORMAT "\n",
                   apr_pstrcat(written->pool, keys[i], ":", NULL),
                   json_integer_value(json_object_get(s, keys[i])));
        }
    }
    printf("cortes:      %" JSON_INTEGER_FORMAT "\n",
           json_integer_value(json_object_get(s, "cortes")));
    printf("incidents:   %" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT
           " affected the publication)\n",
           json_integer_value(json_object_get(s, "incidents")),
           json_integer_value(json_object_get(s, "incidents_affecting")));
    for (w = 0; w < written->nelts; w++) {
        printf("written:     %s/%s\n", out,
               APR_ARRAY_IDX(written, w, const char *));
    }
}

int prepctl_report(int argc, const char *const *argv, apr_pool_t *p)
{
    report_request_t rq;
    prep_memoria_options_t o;
    apr_array_header_t *feeds, *written = apr_array_make(p, 12, sizeof(char *));
    const prep_feed_t *f;
    const json_t *notices, *n;
    json_t *doc;
    const char *error;
    size_t i;
    int rc;

    memset(&rq, 0, sizeof(rq));
    rq.logs = apr_array_make(p, 4, sizeof(const char *));
    rq.locations = apr_array_make(p, 2, sizeof(const char *));
    rq.formats = PREP_MEMORIA_HTML | PREP_MEMORIA_CSV | PREP_MEMORIA_JSON;
    if ((rc = request_of(&rq, argc, argv, p)) != PREPCTL_GO_ON ||
        (rc = prepctl_feeds_find(&feeds, &rq.where, rq.feed, p)) !=
            PREPCTL_GO_ON) {
        return rc;
    }
    f = APR_ARRAY_IDX(feeds, 0, const prep_feed_t *);
    memset(&o, 0, sizeof(o));
    if (rq.from_text && !time_of(&o.from, rq.from_text, &f->zone)) {
        return prepctl_fail_usage(apr_psprintf(
            p,
            _("--from \"%s\" is not a time such as "
              "2024-06-02T18:00:00-06:00, 2024-06-02T18:00 or 2024-06-02"),
            rq.from_text));
    }
    if (rq.to_text && !time_of(&o.to, rq.to_text, &f->zone)) {
        return prepctl_fail_usage(apr_psprintf(
            p,
            _("--to \"%s\" is not a time such as 2024-06-03T12:00:00-06:00, "
              "2024-06-03T12:00 or 2024-06-03"),
            rq.to_text));
    }
    if (o.from && o.to && o.to <= o.from) {
        return prepctl_fail_usage(_("--to must come after --from"));
    }
    if ((rc = notes_of(&o.notes, rq.notes_file, p)) != PREPCTL_GO_ON) {
        return rc;
    }
    o.feed = f->name;
    o.difusor = rq.difusor;
    o.store = f->store;
    o.offset_s = f->zone.offset_s;
    o.zone_name = f->zone.name;
    o.update_interval = f->interval;
    o.logs = rq.logs;
    o.locations = rq.locations->nelts ? rq.locations : f->locations;
    o.locations_given = rq.locations->nelts > 0;
    o.page_extensions = rq.pages;
    o.visit_timeout = rq.visit_timeout;
    o.top_pages = rq.top;
    o.notes_file = rq.notes_file;
    o.generated_at = apr_time_now();
    o.generator = "mod_prep " PREP_VERSION;
    if (prep_memoria_make(&doc, &o, &error, p) != APR_SUCCESS) {
        return prepctl_refuse("%s", error);
    }
    if (!rq.out) {
        rq.out = apr_pstrcat(p, "memoria-", f->name, NULL);
    }
    if (prep_memoria_write(doc, rq.out, rq.formats, written, &error, p) !=
        APR_SUCCESS) {
        json_decref(doc);
        return prepctl_refuse("%s", error);
    }
    notices = json_object_get(doc, "notices");
    json_array_foreach(notices, i, n)
    {
        fprintf(stderr, "prepctl: aviso: %s\n",
                json_string_value(json_object_get(n, "text")));
    }
    print_summary(doc, rq.out, written);
    json_decref(doc);
    return PREPCTL_DONE;
}

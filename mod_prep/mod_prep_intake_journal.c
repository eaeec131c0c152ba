/* mod_prep_intake_journal.c — what the intake tells, in the intake process:
 * the lines it journals for a feed (STORE/journal.jsonl, through
 * prep_journal.c) and its part of the feed's status in shared memory (the
 * load under way, the served corte's integrity, the names never read).  It
 * touches the intake's journal state in intake_feed_t and the slot's info
 * part (prep_shm_read_info/prep_shm_write_info), nothing else; it calls no
 * other room of the intake. */
#include "httpd.h"
#include <string.h>
#include <jansson.h>

#include "apr_strings.h"
#include "http_log.h"
#include "http_main.h"

#include "mod_prep_intake.h"

APLOG_USE_MODULE(prep);

/* --- the journal -------------------------------------------------- */

/* A journal that cannot be written (a full disk, a lock that cannot be
 * taken) never stops the feed: the first failure of a streak is logged,
 * and its end. */
static void journaled(intake_feed_t *in, prep_event_e e, apr_status_t rv)
{
    if (rv == APR_SUCCESS) {
        if (in->journal_failing) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                         "PREP0139: feed %s: the journal %s/" PREP_JOURNAL_FILE
                         " is written again",
                         in->feed->conf.name, in->feed->conf.store);
            in->journal_failing = 0;
        }
        return;
    }
    if (!in->journal_failing) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, ap_server_conf,
                     "PREP0138: feed %s: cannot write the journal "
                     "%s/" PREP_JOURNAL_FILE " (event %s and those after it "
                     "until it works again are lost; the feed goes on)",
                     in->feed->conf.name, in->feed->conf.store,
                     prep_event_name(e));
        in->journal_failing = 1;
    }
}

/* Journals event e with `fields` (taken; NULL: none). */
void journal(intake_feed_t *in, prep_event_e e, json_t *fields, apr_pool_t *p)
{
    journaled(in, e, prep_journal_event(&in->journal, e, fields, p));
}

/* The same with "corte": the record of c (when not NULL). */
void journal_corte(intake_feed_t *in, prep_event_e e, const prep_corte_t *c,
                   json_t *fields, apr_pool_t *p)
{
    journaled(in, e, prep_journal_corte(&in->journal, e, c, fields, p));
}

static json_t *iso_or_null(apr_pool_t *p, apr_time_t t, const prep_zone_t *z)
{
    return t ? json_string(prep_time_iso(p, t, z)) : json_null();
}

/* The corte served, as the journal shows it, or null. */
json_t *served_json(intake_feed_t *in, apr_pool_t *p)
{
    return in->corte ? prep_corte_to_json(in->corte, &in->feed->conf.zone, p)
                     : json_null();
}

/* "seen": a package handed to a loader, once per package as it settled
 * (a load tried again after a busy store or a crash is not seen again). */
void journal_seen(intake_feed_t *in, const char *name,
                  const prep_file_identity_t *id, prep_load_mode_e mode,
                  apr_pool_t *p)
{
    json_t *fields;

    if (!strcmp(in->seen_name, name) && in->seen_mode == mode &&
        prep_identity_equal(&in->seen_id, id)) {
        return;
    }
    apr_cpystrn(in->seen_name, name, sizeof(in->seen_name));
    in->seen_id = *id;
    in->seen_mode = mode;
    fields = json_object();
    json_object_set_new(fields, PREP_JOURNAL_KEY_PACKAGE,
                        json_string(prep_name_shown(p, name)));
    json_object_set_new(fields, "size", json_integer((json_int_t)id->size));
    json_object_set_new(fields, "mtime",
                        iso_or_null(p, id->mtime, &in->feed->conf.zone));
    json_object_set_new(fields, "mode",
                        json_string(mode == PREP_LOAD_FINAL ? "final" : "new"));
    journal(in, PREP_EVENT_SEEN, fields, p);
}

/* --- the status ------------------------------------------------- */

/* The intake's part of the status (the intake alone writes it): read,
 * changed, written back. */
void show_loading(intake_feed_t *in, const char *name, apr_time_t since)
{
    prep_intake_info_t info;

    prep_shm_read_info(in->feed->shm, &info);
    info.loading_since = name ? since : 0;
    apr_cpystrn(info.loading, name ? name : "", sizeof(info.loading));
    prep_shm_write_info(in->feed->shm, &info);
}

void show_integrity(intake_feed_t *in, prep_integrity_e state,
                    const char *detail, int audited)
{
    prep_intake_info_t info;
    apr_time_t now = apr_time_now();

    prep_shm_read_info(in->feed->shm, &info);
    if (info.integrity != state) {
        info.integrity_at = now;
    }
    info.integrity = state;
    if (audited) {
        info.audited_at = now;
    }
    apr_cpystrn(info.integrity_detail, detail ? detail : "",
                sizeof(info.integrity_detail));
    prep_shm_write_info(in->feed->shm, &info);
}

/* The incoming names that are never read, for the status. */
void show_ignored(intake_feed_t *in, apr_array_header_t *ignored)
{
    prep_intake_info_t info;
    int i;

    prep_shm_read_info(in->feed->shm, &info);
    info.nignored = (apr_uint32_t)ignored->nelts;
    for (i = 0; i < ignored->nelts && i < PREP_IGNORED_MAX; i++) {
        const prep_ignored_t *g = &APR_ARRAY_IDX(ignored, i, prep_ignored_t);

        apr_cpystrn(info.ignored[i].name, g->name,
                    sizeof(info.ignored[i].name));
        apr_cpystrn(info.ignored[i].why, g->why, sizeof(info.ignored[i].why));
    }
    info.shown_ignored = (apr_uint32_t)i;
    prep_shm_write_info(in->feed->shm, &info);
}

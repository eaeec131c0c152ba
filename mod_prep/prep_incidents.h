/* prep_incidents.h — the night read back from a feed's journal, for the
 * memoria técnica (issue 12): the corte timeline, the incidents and the
 * availability of a period (prep_report_journal.c).
 *
 * The whole journal is read (prep_journal_each from its first line), so
 * that what was served and what was open when the period starts is known;
 * only what falls in the period [from, to] is kept.  Times are the
 * journal's "at"; a line older than the one before it (a clock set back)
 * is taken at the time of the one before, so that the timeline never
 * runs backwards.  Lines after `to` are not read into the night.
 *
 * The corte timeline: a span per corte that went live, from the line that
 * made it served to the line that made another one served or none:
 * - a corte goes live with "published", "rollback" (its "corte" or "to"),
 *   "unpin" that serves another corte ("to"), and "start", "graceful" or
 *   "intake-restart" whose "served" is another corte than the one the
 *   journal says was served (a fallback after a restart);
 * - a span ends when another corte goes live, at a "reset" (every corte
 *   archived: nothing is served), or at a "start"/"graceful" whose
 *   "served" is null;
 * - a "published" or "republished" of the corte already served continues
 *   its span.
 * A span still served at the period's end ends there and is "open".  The
 * journal has no line for a stop of httpd, so a server down between two
 * "start" lines is not seen here (the access logs show it).
 *
 * The incidents, each of one kind (prep_incident_kind_e):
 * - intervals: a stale period ("stale" to the next "fresh", another corte
 *   going live by "published", "rollback" or "unpin", a "pin", "reset" or
 *   "closed" — the events that end a stale period, as in the dashboard;
 *   a restart's fallback to another corte does not), a store problem
 *   ("store-problem" to "store-ok", or a "published"), a damaged corte
 *   ("damaged" to "healed", or another corte live, or a "reset"), a pin
 *   ("pin" to "unpin" or "reset") and a rollback ("rollback" pins the
 *   feed: to "unpin" or "reset");
 * - instants (start = end): a refusal, a loader crash, an intake restart,
 *   a start or a graceful restart of Apache,
 *   an unpin that ends no pin the journal shows, a reset, a drill switched
 *   on or off, the close.
 * An interval that began before the period starts at `from` and says so
 * ("began_before"); one still open at the period's end ends there ("open":
 * the period's `to`, or the journal's last line when `to` is 0).  An
 * interval or instant wholly outside the period is left out.
 *
 * Whether an incident affected the publication (the convocatorias' "que
 * hayan afectado la publicación"), by these rules:
 * - a stale period, a store problem, a damaged corte and a rollback: always
 *   (the public saw no new corte, or an older or a wrong one);
 * - a refusal and a loader crash: when no corte went live within the
 *   update interval after it (an older corte stayed served past the
 *   interval); not when the period ends before the interval has passed;
 * - a pin: when a newer corte was "retained" while it lasted;
 * - a reset: when a corte was served just before it;
 * - a start or a graceful restart of Apache: when the corte served after
 *   it is not the one served before it (another one, as a fallback, or
 *   none); the journal has no line for a stop, so the time Apache was down
 *   before a start is not seen here (the access logs show it);
 * - an intake restart, an unpin, a drill switched on or off and the close:
 *   never by themselves (the children serve on through an intake restart;
 *   a lasting effect shows as a stale period).
 *
 * Availability: over the period (from `from`, or the journal's first line
 * when 0, to `to`, or its last line when 0), the share of time during
 * which a corte was being served (a span of the timeline) and the feed was
 * not in a stale period: (served − stale while served) / period.  Unknown
 * (-1) when the period is empty or there is no journal. */
#ifndef PREP_INCIDENTS_H
#define PREP_INCIDENTS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_time.h>

#include "prep.h"

/* The kinds of incident; their names in the JSON ("kind") are
 * prep_incident_kind_name's, their labels for the operator (Spanish)
 * prep_incident_label's. */
typedef enum {
    PREP_INCIDENT_REFUSAL = 0,    /* refused: a package set aside */
    PREP_INCIDENT_STALE,          /* stale ... fresh */
    PREP_INCIDENT_LOADER_CRASH,   /* a loader died without a verdict */
    PREP_INCIDENT_INTAKE_RESTART, /* the intake died and was restarted */
    PREP_INCIDENT_SERVER_START,   /* Apache started ("start") */
    PREP_INCIDENT_SERVER_RELOAD,  /* Apache restarted gracefully */
    PREP_INCIDENT_STORE_PROBLEM,  /* store-problem ... store-ok */
    PREP_INCIDENT_DAMAGED,        /* damaged ... healed */
    PREP_INCIDENT_ROLLBACK,       /* rollback ... unpin */
    PREP_INCIDENT_PIN,            /* pin ... unpin */
    PREP_INCIDENT_UNPIN,          /* an unpin that ends no interval shown */
    PREP_INCIDENT_RESET,          /* prepctl reset */
    PREP_INCIDENT_DRILL_ON,       /* prepctl drill on */
    PREP_INCIDENT_DRILL_OFF,      /* prepctl drill off */
    PREP_INCIDENT_CLOSED,         /* prepctl close or PrepPublishUntil */
    PREP_INCIDENT_KINDS
} prep_incident_kind_e;

/* "refusal", "stale", "loader-crash", "intake-restart", "server-start",
 * "server-reload", "store-problem",
 * "damaged", "rollback", "pin", "unpin", "reset", "drill-on", "drill-off",
 * "closed"; "unknown" out of range. */
const char *prep_incident_kind_name(prep_incident_kind_e k);
/* "Paquete rechazado", "Publicación detenida (sin cortes nuevos)", ... */
const char *prep_incident_label(prep_incident_kind_e k);

/* A corte of the timeline: while it was the one served. */
typedef struct prep_corte_span {
    const char *id;
    apr_time_t corte_time; /* its corte time; 0: the journal has none */
    const char *package;   /* NULL: the journal has none */
    apr_time_t live_from;  /* when it went live (maybe before the period) */
    apr_time_t live_until; /* when another corte went live or none was
                            * served; the period's end when open */
    int open;              /* still served at the period's end */
    int drill;             /* went live in a drill */
} prep_corte_span_t;

/* An incident. */
typedef struct prep_incident {
    prep_incident_kind_e kind;
    apr_time_t start, end; /* in the period; start == end for an instant */
    int began_before;      /* began before the period: start is `from` */
    int open;              /* still open at the period's end */
    int affected;          /* affected the publication (rules above) */
    int drill;             /* its first line was a drill's */
    /* From the journal's line that began it, NULL when absent: */
    const char *package, *reason, *message, *user;
    const char *corte; /* the corte concerned (served, pinned, damaged) */
} prep_incident_t;

/* What the night is read for. */
typedef struct prep_night_options {
    apr_time_t from, to;                 /* the period; 0: unbounded */
    apr_interval_time_t update_interval; /* PrepUpdateInterval; 0: 5 min */
} prep_night_options_t;

/* The night of a feed over a period. */
typedef struct prep_night {
    int journal_found; /* 0: the store has no journal at all */
    /* journal lines read up to the period's end (those before it too),
     * damaged lines skipped (prep_journal_each's count) */
    apr_uint64_t lines, bad_lines;
    apr_time_t from, to;           /* the period as resolved (0, 0: no line) */
    apr_array_header_t *cortes;    /* prep_corte_span_t, by live_from */
    apr_array_header_t *incidents; /* prep_incident_t, by start */
    /* Availability (header comment): -1 when unknown. */
    double availability;
    apr_interval_time_t period_time, served_time, stale_time;
} prep_night_t;

/* The night of the feed whose store is `store`, over o's period, into a
 * new *night from p.  A store without a journal is no error: *night says
 * journal_found = 0 and has no cortes and no incidents.  The journal's
 * read error (not a missing file), else APR_SUCCESS. */
apr_status_t prep_night_read(prep_night_t **night, const char *store,
                             const prep_night_options_t *o, apr_pool_t *p);

/* The index in n->cortes of the corte that was current at t (a binary
 * search): the span with live_from <= t < live_until, or with
 * live_from <= t when it is open (still served at the period's end);
 * -1 when none was served at t. */
int prep_night_corte_at(const prep_night_t *n, apr_time_t t);

/* The night as JSON, times in zone z (NULL: UTC); a new reference:
 *   {"journal": {"found": bool, "lines": N, "bad_lines": N},
 *    "period": {"from": ISO|null, "to": ISO|null, "seconds": N},
 *    "availability": {"ratio": 0..1|null, "served_s": N, "stale_s": N},
 *    "cortes": [{"id", "time": ISO|null, "package": S|null,
 *                "live_from": ISO, "live_until": ISO, "seconds": N,
 *                "open": bool, "drill": bool}],
 *    "incidents": [{"kind": prep_incident_kind_name, "label": Spanish,
 *                   "start": ISO, "end": ISO, "duration_s": N,
 *                   "began_before": bool, "open": bool, "affected": bool,
 *                   "drill": bool, "package", "reason", "message", "user",
 *                   "corte": S|null}]}
 * Seconds are whole (rounded down). */
struct json_t *prep_night_to_json(const prep_night_t *n, const prep_zone_t *z,
                                  apr_pool_t *p);

#define PREP_NIGHT_CSV_CORTES    "cortes.csv"
#define PREP_NIGHT_CSV_INCIDENTS "incidencias.csv"

/* Writes DIR/cortes.csv and DIR/incidencias.csv (RFC 4180, UTF-8, a
 * header line in Spanish, times in zone z), each replaced atomically.
 * The first error, else APR_SUCCESS. */
apr_status_t prep_night_write_csv(const prep_night_t *n, const char *dir,
                                  const prep_zone_t *z, apr_pool_t *p);

#endif

/* prepctl.h — what prepctl's files share: how a command on a live feed
 * finds it (the module's runtime file, or --store; prepctl_feeds.c), who
 * runs it and as which account it acts (prepctl_feeds.c), and the commands
 * themselves (prepctl_ops.c, prepctl_show.c). */
#ifndef PREPCTL_H
#define PREPCTL_H

#include <stdio.h>

#include "prep.h"

/* prepctl's messages in the operator's language: gettext, text domain
 * PREPCTL_DOMAIN, catalogues po/LL.po installed as
 * LOCALEDIR/LL/LC_MESSAGES/mod_prep.mo (es: Mexican Spanish).
 *
 * The rule of what is translated: what prepctl says to a person follows
 * the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG) -- --help, the
 * sentences of wrong usage and of refusals, warnings, the reset prompt.
 * What it writes as a record is the same in every locale, because
 * scripts, the tests and the docs read it: the "label: value" lines of
 * verify, audit and report (verdict:, corte time:, written: ...) and
 * their values, the status screen and the cortes table (field names,
 * states, "none served", column heads), the event lines, the FAULT lines,
 * reason codes, JSON, and what goes into the journal.  Sentences made by
 * the core library (prep_*.c: a package's refusal, configtest's
 * sentence for a directive, an operator action's result) are the
 * journal's and configtest's words, and stay English.  In the C locale
 * (and C.UTF-8, en_*) every byte is the English one. */
#ifdef ENABLE_NLS
#include <libintl.h>
#define _(s) gettext(s)
#else
#define _(s)               (s)
#define ngettext(s, pl, n) ((n) == 1 ? (s) : (pl))
#endif
/* A message marked for the catalogue, translated where it is used. */
#define N_(s)          s
#define PREPCTL_DOMAIN "mod_prep"
/* The environment variable naming another catalogue directory (make
 * check's build tree); ignored in a set-user-id run (secure_getenv). */
#define PREPCTL_LOCALEDIR_ENV "PREPCTL_LOCALEDIR"

/* prepctl.c: the messages' locale and catalogue, once at start. */
void prepctl_i18n_init(void);

/* The file the module writes at each start in Apache's runtime directory. */
#define PREPCTL_FEEDS_FILE "mod_prep-feeds.json"

/* Exit statuses: done, refused (a message on stderr), wrong usage. */
enum { PREPCTL_DONE = 0, PREPCTL_REFUSED = 1, PREPCTL_USAGE = 2 };
/* What the helpers return when the command goes on. */
#define PREPCTL_GO_ON (-1)

/* prepctl.c: "prepctl: MSG" and the hint to --help on stderr; 2. */
int prepctl_fail_usage(const char *msg);
/* prepctl_feeds.c: "prepctl: ..." on stderr; 1. */
int prepctl_refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Where a command looks for its feeds: --feeds FILE and --store DIR. */
typedef struct prepctl_where {
    const char *feeds_file;
    const char *store;
} prepctl_where_t;

/* The feeds a command acts on (prep_feed_t *): the one named, or every
 * feed of the runtime file when name is NULL (status).  With --store the
 * feed's store is DIR, and the runtime file is only asked for the rest of
 * its configuration (its zone...) when it knows the feed.  PREPCTL_GO_ON,
 * or the exit status after the refusal is said. */
int prepctl_feeds_find(apr_array_header_t **feeds, const prepctl_where_t *w,
                       const char *name, apr_pool_t *p);

/* The user who runs prepctl, as the journal records it, read before any
 * switch of account: the real user's name, "root (sudo NAME)" under sudo. */
const char *prepctl_user(apr_pool_t *p);
/* Run as root, becomes the owner of the store (its groups, gid, uid), so
 * that nothing prepctl writes or creates there is root's: refused when
 * the store is owned by root.  Another user stays as it is.  PREPCTL_GO_ON
 * or the exit status after the refusal is said. */
int prepctl_become_store_owner(const char *store, apr_pool_t *p);

/* prepctl_ops.c: a command on a live feed (status, cortes, events,
 * rollback, pin, unpin, reset, close, drill) with the words after it;
 * its exit status, or PREPCTL_GO_ON when cmd is none of them. */
int prepctl_live(const char *cmd, int argc, const char *const *argv,
                 apr_pool_t *p);

/* prepctl_show.c: the read-only views of one feed, written to out. */
typedef struct prepctl_view {
    const prep_feed_t *feed;
    apr_time_t now;
    int json;
    apr_time_t since; /* events: 0 for all */
} prepctl_view_t;

/* `status`: the one-screen summary, or (json) the feed's object of the
 * status document as the module writes it, without the intake's part. */
int prepctl_show_status(FILE *out, const prepctl_view_t *v, apr_pool_t *p);
/* `cortes`: the retained cortes, the one served marked. */
int prepctl_show_cortes(FILE *out, const prepctl_view_t *v, apr_pool_t *p);
/* `events`: the journal's lines since v->since, one per line. */
int prepctl_show_events(FILE *out, const prepctl_view_t *v, apr_pool_t *p);

/* prepctl_report.c: `report FEED ...`, the memoria técnica; its exit
 * status. */
int prepctl_report(int argc, const char *const *argv, apr_pool_t *p);

#endif /* PREPCTL_H */

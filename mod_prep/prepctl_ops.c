/* prepctl_ops.c — the commands on a live feed: their words and options,
 * the feed found by its name (prepctl_feeds.c), the account they act as,
 * and the operator's actions of prep_operator.c (rollback, pin, unpin,
 * reset, close, drill), each one line on stdout when done or one sentence
 * on stderr and exit 1 when refused.  The read-only views are in
 * prepctl_show.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_strings.h>
#include <jansson.h>

#include "prepctl.h"

/* The options a command takes besides --feeds and --store. */
enum { OPT_JSON = 1u << 0, OPT_SINCE = 1u << 1, OPT_YES = 1u << 2 };

struct command;

/* A command as it was asked. */
typedef struct invocation {
    const struct command *cmd;
    prepctl_where_t where;
    const char *feed; /* FEED, or NULL (status: every feed) */
    const char *word; /* rollback, pin: ID; drill: on|off */
    int json, yes;
    apr_time_t since;
    apr_time_t now;
    const char *user; /* who runs prepctl, before any switch */
} invocation_t;

typedef int action_fn(const invocation_t *inv, const prep_op_t *op,
                      prep_op_result_t *res, apr_pool_t *p);
typedef int view_fn(FILE *out, const prepctl_view_t *v, apr_pool_t *p);

typedef struct command {
    const char *name;
    unsigned options;
    int feed_optional; /* status */
    int words;         /* words after FEED, at most */
    int word_required; /* drill */
    action_fn *act;    /* an action: writes the store */
    view_fn *view;     /* or a view: reads it */
} command_t;

/* ------------------------------------------------------------------ */
/* The actions */

/* The library's sentence, or one of ours when it gave none. */
static const char *op_message(prep_op_status_e st, const prep_op_result_t *res)
{
    static const char *const fallback[] = {
        N_("done"),
        N_("no retained corte has that id"),
        N_("there is no retained corte before the one served"),
        N_("the feed serves no corte"),
        N_("a load is running; try again in a moment"),
        N_("this user may not write the store"),
        N_("the action failed")};

    if (res->message && *res->message) {
        return res->message;
    }
    return _(st <= PREP_OP_FAILED ? fallback[st] : fallback[PREP_OP_FAILED]);
}

static int act_rollback(const invocation_t *inv, const prep_op_t *op,
                        prep_op_result_t *res, apr_pool_t *p)
{
    return prep_op_rollback(op, inv->word, res, p);
}

static int act_pin(const invocation_t *inv, const prep_op_t *op,
                   prep_op_result_t *res, apr_pool_t *p)
{
    return prep_op_pin(op, inv->word, res, p);
}

static int act_unpin(const invocation_t *inv, const prep_op_t *op,
                     prep_op_result_t *res, apr_pool_t *p)
{
    (void)inv;
    return prep_op_unpin(op, res, p);
}

static int act_close(const invocation_t *inv, const prep_op_t *op,
                     prep_op_result_t *res, apr_pool_t *p)
{
    (void)inv;
    return prep_op_close(op, res, p);
}

static int act_drill(const invocation_t *inv, const prep_op_t *op,
                     prep_op_result_t *res, apr_pool_t *p)
{
    return prep_op_drill(op, !strcmp(inv->word, "on"), res, p);
}

/* Whether the operator means it: --yes, or the feed's name typed at a
 * terminal.  Without a terminal nobody can be asked: refused. */
static int reset_confirmed(const invocation_t *inv, const prep_feed_t *f)
{
    char answer[256];
    size_t n;

    if (inv->yes) {
        return 1;
    }
    if (!isatty(STDIN_FILENO)) {
        prepctl_refuse(_("reset moves every corte and package of %s into "
                         "%s/%s/; without a terminal to confirm it, give "
                         "--yes; nothing was changed"),
                       f->name, f->store, PREP_ARCHIVE_DIR);
        return 0;
    }
    fprintf(stderr,
            _("prepctl reset %s moves every corte and every processed and "
              "rejected package of the feed into %s/%s/<time>/ (nothing is "
              "deleted) and the feed goes back to waiting.\n"
              "Type the feed's name to confirm: "),
            f->name, f->store, PREP_ARCHIVE_DIR);
    fflush(stderr);
    if (!fgets(answer, sizeof(answer), stdin)) {
        answer[0] = '\0';
    }
    n = strcspn(answer, "\r\n");
    answer[n] = '\0';
    if (strcmp(answer, f->name)) {
        prepctl_refuse(
            _("not confirmed (\"%s\" is not %s); nothing was changed"), answer,
            f->name);
        return 0;
    }
    return 1;
}

static int act_reset(const invocation_t *inv, const prep_op_t *op,
                     prep_op_result_t *res, apr_pool_t *p)
{
    (void)inv;
    return prep_op_reset(op, res, p);
}

/* An action on the one feed named, as the store's owner. */
static int run_action(const invocation_t *inv, const prep_feed_t *f,
                      apr_pool_t *p)
{
    prep_op_result_t res;
    prep_op_t op;
    struct stat st;
    int rc;

    if (!strcmp(inv->cmd->name, "reset") && !reset_confirmed(inv, f)) {
        return PREPCTL_REFUSED;
    }
    if ((rc = prepctl_become_store_owner(f->store, p)) != PREPCTL_GO_ON) {
        return rc;
    }
    if (stat(f->store, &st) != 0) {
        return prepctl_refuse(_("the store %s of feed %s cannot be read: %s"),
                              f->store, f->name, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return prepctl_refuse(_("the store %s of feed %s is not a directory"),
                              f->store, f->name);
    }
    memset(&res, 0, sizeof(res));
    op.feed = f;
    op.user = inv->user;
    op.now = inv->now;
    rc = inv->cmd->act(inv, &op, &res, p);
    if (rc == PREP_OP_DONE) {
        printf("%s\n", op_message(PREP_OP_DONE, &res));
        return PREPCTL_DONE;
    }
    return prepctl_refuse("%s", op_message(rc, &res));
}

/* ------------------------------------------------------------------ */
/* The views, as the owner of each store */

/* The view of one feed, written to out; refused when its store cannot be
 * read. */
static int view_one(FILE *out, const invocation_t *inv, const prep_feed_t *f,
                    apr_pool_t *p)
{
    prepctl_view_t v = {f, inv->now, inv->json, inv->since};

    if (access(f->store, R_OK | X_OK) != 0) {
        return prepctl_refuse(_("the store %s of feed %s cannot be read: %s"),
                              f->store, f->name, strerror(errno));
    }
    return inv->cmd->view(out, &v, p);
}

/* Run as root, each feed's view is made in a child that becomes its
 * store's owner first (root stays root for the next feed, and reading the
 * journal as root must never leave a root-owned lock file in a store); its
 * output comes back through a pipe into *text. */
static int view_as_owner(char **text, const invocation_t *inv,
                         const prep_feed_t *f, apr_pool_t *p)
{
    struct captured {
        char *s;
        apr_size_t len, size;
    } t = {NULL, 0, 0};
    int fds[2], status = -1, rc;
    pid_t pid;
    ssize_t n;

    fflush(stdout);
    fflush(stderr);
    if (pipe(fds) != 0 || (pid = fork()) < 0) {
        return prepctl_refuse(_("cannot start a process: %s"), strerror(errno));
    }
    if (pid == 0) {
        FILE *out = fdopen(fds[1], "w");

        close(fds[0]);
        rc = prepctl_become_store_owner(f->store, p);
        if (rc == PREPCTL_GO_ON) {
            rc = out ? view_one(out, inv, f, p) : PREPCTL_REFUSED;
        }
        if (out) {
            fclose(out);
        }
        fflush(stderr);
        _exit(rc);
    }
    close(fds[1]);
    t.size = 8192;
    t.s = apr_palloc(p, t.size);
    while ((n = read(fds[0], t.s + t.len, t.size - t.len - 1)) != 0) {
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            break;
        }
        t.len += (apr_size_t)n;
        if (t.size - t.len < 1024) {
            char *bigger = apr_palloc(p, t.size * 2);

            memcpy(bigger, t.s, t.len);
            t.s = bigger;
            t.size *= 2;
        }
    }
    close(fds[0]);
    t.s[t.len] = '\0';
    *text = t.s;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : PREPCTL_REFUSED;
}

/* One feed's view: straight to stdout, or (json status) into the array of
 * the status document. */
static int view_feed(json_t *feeds, const invocation_t *inv,
                     const prep_feed_t *f, apr_pool_t *p)
{
    char *text = NULL;
    int rc;

    if (geteuid() == 0) {
        rc = view_as_owner(&text, inv, f, p);
    } else if (feeds) {
        FILE *mem;
        size_t len;

        if (!(mem = open_memstream(&text, &len))) {
            return prepctl_refuse("%s", _("out of memory"));
        }
        rc = view_one(mem, inv, f, p);
        fclose(mem);
        {
            /* the memstream's own buffer is malloc'd */
            char *copy = apr_pstrdup(p, text ? text : "");

            free(text);
            text = copy;
        }
    } else {
        return view_one(stdout, inv, f, p);
    }
    if (!feeds) {
        fputs(text, stdout);
    } else if (rc == PREPCTL_DONE) {
        json_error_t jerr;
        json_t *o = json_loads(text, 0, &jerr);

        if (o) {
            json_array_append_new(feeds, o);
        }
    }
    return rc;
}

static int run_views(const invocation_t *inv, apr_array_header_t *list,
                     apr_pool_t *p)
{
    int document = inv->json && inv->cmd->view == prepctl_show_status;
    json_t *feeds = document ? json_array() : NULL;
    int rc = PREPCTL_DONE, i;

    for (i = 0; i < list->nelts; i++) {
        const prep_feed_t *f = APR_ARRAY_IDX(list, i, const prep_feed_t *);
        int one;

        if (i && !inv->json) {
            putchar('\n');
        }
        if ((one = view_feed(feeds, inv, f, p)) != PREPCTL_DONE) {
            rc = one;
        }
    }
    if (document) {
        /* the status document's shape: {"version", "now", "feeds"} */
        const prep_feed_t *first = APR_ARRAY_IDX(list, 0, const prep_feed_t *);
        json_t *doc = json_object();
        char *text;

        json_object_set_new(doc, "version", json_string(PREP_VERSION));
        json_object_set_new(
            doc, "now", json_string(prep_time_iso(p, inv->now, &first->zone)));
        json_object_set_new(doc, "feeds", feeds);
        text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(doc);
        if (text) {
            printf("%s\n", text);
            free(text);
        }
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* The words */

static const command_t commands[] = {
    {"status", OPT_JSON, 1, 0, 0, NULL, prepctl_show_status},
    {"cortes", OPT_JSON, 0, 0, 0, NULL, prepctl_show_cortes},
    {"events", OPT_JSON | OPT_SINCE, 0, 0, 0, NULL, prepctl_show_events},
    {"rollback", 0, 0, 1, 0, act_rollback, NULL},
    {"pin", 0, 0, 1, 0, act_pin, NULL},
    {"unpin", 0, 0, 0, 0, act_unpin, NULL},
    {"reset", OPT_YES, 0, 0, 0, act_reset, NULL},
    {"close", 0, 0, 0, 0, act_close, NULL},
    {"drill", 0, 0, 1, 1, act_drill, NULL},
};

/* --since TIME: ISO-8601 with an offset, or a duration back from now. */
static int since_of(invocation_t *inv, const char *text, apr_pool_t *p)
{
    apr_interval_time_t back;

    /* a time as the journal writes it (with milliseconds) or as the
     * directives take it */
    if (prep_journal_time(&inv->since, text) == APR_SUCCESS) {
        return PREPCTL_GO_ON;
    }
    if (!prep_parse_duration(&back, text)) {
        inv->since = inv->now - back;
        return PREPCTL_GO_ON;
    }
    return prepctl_fail_usage(apr_psprintf(
        p,
        _("--since \"%s\" is neither a time such as 2024-06-02T20:00:00-06:00 "
          "nor a duration back from now such as 30m, 2h, 1d"),
        text));
}

/* One option at argv[*i] (its value after it): PREPCTL_GO_ON or 2. */
static int option_of(invocation_t *inv, int argc, const char *const *argv,
                     int *i, apr_pool_t *p)
{
    const char *opt = argv[*i];
    unsigned allowed = inv->cmd->options;
    int takes_value = !strcmp(opt, "--feeds") || !strcmp(opt, "--store") ||
                      (!strcmp(opt, "--since") && (allowed & OPT_SINCE));
    const char *val = NULL;

    if (takes_value) {
        if (*i + 1 >= argc) {
            return prepctl_fail_usage(
                apr_psprintf(p, _("%s needs a value"), opt));
        }
        val = argv[++*i];
    }
    if (!strcmp(opt, "--feeds")) {
        inv->where.feeds_file = val;
    } else if (!strcmp(opt, "--store")) {
        inv->where.store = val;
    } else if (!strcmp(opt, "--since") && val) {
        return since_of(inv, val, p);
    } else if (!strcmp(opt, "--json") && (allowed & OPT_JSON)) {
        inv->json = 1;
    } else if ((!strcmp(opt, "--yes") || !strcmp(opt, "-y")) &&
               (allowed & OPT_YES)) {
        inv->yes = 1;
    } else {
        return prepctl_fail_usage(apr_psprintf(p, _("unknown option %s for %s"),
                                               opt, inv->cmd->name));
    }
    return PREPCTL_GO_ON;
}

/* The words after the command into *inv: PREPCTL_GO_ON, or 2. */
static int invocation_of(invocation_t *inv, int argc, const char *const *argv,
                         apr_pool_t *p)
{
    const command_t *c = inv->cmd;
    int i, rc, words = 0;

    for (i = 0; i < argc; i++) {
        const char *w = argv[i];

        if (w[0] == '-' && w[1]) {
            if ((rc = option_of(inv, argc, argv, &i, p)) != PREPCTL_GO_ON) {
                return rc;
            }
        } else if (!inv->feed) {
            if (!prep_feed_name_valid(w)) {
                return prepctl_fail_usage(apr_psprintf(
                    p,
                    _("\"%s\" is not a feed name (letters, digits, _ and -)"),
                    w));
            }
            inv->feed = w;
        } else if (words++ < c->words) {
            inv->word = w;
        } else {
            return prepctl_fail_usage(
                apr_psprintf(p,
                             c->words ? _("%s takes FEED and one word more")
                                      : _("%s takes one FEED"),
                             c->name));
        }
    }
    if (!inv->feed && !c->feed_optional) {
        return prepctl_fail_usage(
            apr_psprintf(p, _("%s needs a FEED"), c->name));
    }
    if (c->word_required &&
        (!inv->word || (strcmp(inv->word, "on") && strcmp(inv->word, "off")))) {
        return prepctl_fail_usage(
            apr_psprintf(p, _("%s needs on or off after FEED"), c->name));
    }
    return PREPCTL_GO_ON;
}

int prepctl_live(const char *cmd, int argc, const char *const *argv,
                 apr_pool_t *p)
{
    invocation_t inv;
    apr_array_header_t *feeds;
    size_t i;
    int rc;

    memset(&inv, 0, sizeof(inv));
    for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(cmd, commands[i].name)) {
            inv.cmd = &commands[i];
        }
    }
    if (!inv.cmd) {
        return PREPCTL_GO_ON;
    }
    /* who ran it is known before anything switches the account; what
     * prepctl creates in a store is never writable by others */
    inv.user = prepctl_user(p);
    inv.now = apr_time_now();
    umask(022);
    if ((rc = invocation_of(&inv, argc, argv, p)) != PREPCTL_GO_ON ||
        (rc = prepctl_feeds_find(&feeds, &inv.where, inv.feed, p)) !=
            PREPCTL_GO_ON) {
        return rc;
    }
    if (inv.cmd->act) {
        return run_action(&inv, APR_ARRAY_IDX(feeds, 0, const prep_feed_t *),
                          p);
    }
    return run_views(&inv, feeds, p);
}

/* mod_prep_intake_notify.c — PrepNotify: after each journal event of a
 * feed, CMD ARGS... EVENT FEED [CORTE_ID] runs as the server's User with
 * the event in PREP_* variables (mod_md's MDMessageCmd is the model).
 *
 * The events come from the journal, whoever wrote them (the intake, its
 * loaders, prepctl): the intake follows each feed's STORE/journal.jsonl
 * with a cursor (prep_journal_follow), only while no loader runs and after
 * the store's state is in the feed's slot, so that what a line tells is
 * what the children serve when its command runs (PREP_SERVED_ID).
 *
 * The intake runs as the loader account, so the commands are run by a
 * process of their own, the notifier, forked by the intake before it drops
 * its privileges: it becomes the server's User and talks with the intake
 * over two pipes, JSON lines each way (events in, results out).  The
 * intake never waits for it: its writes are non-blocking and a record that
 * does not fit is dropped and logged.  The notifier runs one command per
 * feed at a time, queues at most NOTIFY_QUEUE events per feed (dropping
 * the oldest), kills a command at NOTIFY_TIMEOUT (SIGTERM, then SIGKILL,
 * to its process group), keeps the last NOTIFY_OUTPUT bytes of its output,
 * logs how it ended and tells the intake, which journals it as "notify"
 * (never notified itself).  A notifier that dies is logged; the intake
 * starts another when it runs as the User itself (no PrepUser), else the
 * notifications stop until the next restart of httpd. */
#include "httpd.h"
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "apr_atomic.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_main.h"
#include "unixd.h"
#include "mod_unixd.h"

#include "mod_prep_intake.h"

APLOG_USE_MODULE(prep);

/* A command still running this long after it started is killed. */
#define NOTIFY_TIMEOUT apr_time_from_sec(30)
/* ... with SIGTERM, then SIGKILL this long after. */
#define NOTIFY_KILL_GRACE apr_time_from_sec(2)
/* Events waiting per feed while its command runs; the oldest goes. */
#define NOTIFY_QUEUE 32
/* The end of a command's output that is kept (log, journal). */
#define NOTIFY_OUTPUT 4096
/* Records waiting for a pipe to take them, at most. */
#define NOTIFY_OUTBOX (1024 * 1024)
/* A record read is at most this long. */
#define NOTIFY_RECORD_MAX (256 * 1024)
/* A notifier that died is started again at most this often. */
#define NOTIFY_RESTART_EVERY apr_time_from_sec(5)
/* The journal read per feed and poll, at most. */
#define NOTIFY_FOLLOW_BUDGET (1024 * 1024)

/* --- JSON lines over a pipe, never waiting ----------------------- */

typedef struct outbox {
    int fd;
    char *buf;
    size_t len;
} outbox_t;

typedef struct inbox {
    int fd;
    char *buf;
    size_t len;
    int eof;
} inbox_t;

static void set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Writes what the pipe takes now; -1 when the reader is gone. */
static int outbox_flush(outbox_t *o)
{
    while (o->fd >= 0 && o->len) {
        ssize_t n = write(o->fd, o->buf, o->len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        memmove(o->buf, o->buf + n, o->len - (size_t)n);
        o->len -= (size_t)n;
    }
    return 0;
}

/* Queues the record (its reference is taken) as one line; -1 when it does
 * not fit (the caller drops and logs it). */
static int outbox_put(outbox_t *o, json_t *rec)
{
    char *text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    size_t len = text ? strlen(text) : 0;
    char *grown;

    json_decref(rec);
    if (!text) {
        return -1;
    }
    if (o->len + len + 1 > NOTIFY_OUTBOX ||
        !(grown = realloc(o->buf, o->len + len + 1))) {
        free(text);
        return -1;
    }
    o->buf = grown;
    memcpy(o->buf + o->len, text, len);
    o->buf[o->len + len] = '\n';
    o->len += len + 1;
    free(text);
    outbox_flush(o);
    return 0;
}

typedef void record_fn(void *baton, json_t *rec);

/* Reads what the pipe has now, each whole line to fn as a JSON object. */
static void inbox_read(inbox_t *in, record_fn *fn, void *baton)
{
    char chunk[16384];

    for (;;) {
        ssize_t n = read(in->fd, chunk, sizeof(chunk));
        char *start, *nl, *grown;

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            in->eof = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
            return;
        }
        if (in->len + (size_t)n > NOTIFY_RECORD_MAX) {
            in->len = 0; /* no record is that long: dropped */
        }
        if (!(grown = realloc(in->buf, in->len + (size_t)n))) {
            return;
        }
        in->buf = grown;
        memcpy(in->buf + in->len, chunk, (size_t)n);
        in->len += (size_t)n;
        start = in->buf;
        while (
            (nl = memchr(start, '\n', in->len - (size_t)(start - in->buf)))) {
            json_t *rec = json_loadb(start, (size_t)(nl - start), 0, NULL);

            if (json_is_object(rec)) {
                fn(baton, rec);
            }
            json_decref(rec);
            start = nl + 1;
        }
        in->len -= (size_t)(start - in->buf);
        memmove(in->buf, start, in->len);
    }
}

static const char *str_of(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));

    return v ? v : "";
}

/* --- the notifier process ------------------------------------------ */

typedef struct notify_feed {
    const prep_feed_t *conf;
    json_t *queue;   /* the records waiting, oldest first */
    json_t *running; /* the record whose command runs, or NULL */
    pid_t pid;       /* its process (and group), 0: none */
    int out;         /* its stdout and stderr */
    apr_time_t started, termed;
    char output[NOTIFY_OUTPUT];
    size_t output_len;
} notify_feed_t;

typedef struct notifier {
    notify_feed_t *feeds;
    int n;
    inbox_t events;
    outbox_t results;
} notifier_t;

static volatile sig_atomic_t notifier_stopping;

static void notifier_stop_signal(int sig)
{
    (void)sig;
    notifier_stopping = 1;
}

static notify_feed_t *notify_feed_named(notifier_t *nf, const char *name)
{
    int i;

    for (i = 0; i < nf->n; i++) {
        if (!strcmp(nf->feeds[i].conf->name, name)) {
            return &nf->feeds[i];
        }
    }
    return NULL;
}

/* A dropped event, as the intake journals it. */
static void report_dropped(notifier_t *nf, notify_feed_t *f, json_t *rec)
{
    json_t *res = json_object();

    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                 "PREP0149: feed %s: PrepNotify: %d events wait already; the "
                 "oldest (%s at %s) is dropped",
                 f->conf->name, NOTIFY_QUEUE, str_of(rec, "event"),
                 str_of(rec, "at"));
    json_object_set_new(res, "feed", json_string(f->conf->name));
    json_object_set_new(res, "for", json_string(str_of(rec, "event")));
    json_object_set_new(res, "for_at", json_string(str_of(rec, "at")));
    json_object_set_new(res, "dropped", json_true());
    outbox_put(&nf->results, res);
}

/* An event from the intake: queued for its feed's command. */
static void take_event(void *baton, json_t *rec)
{
    notifier_t *nf = baton;
    notify_feed_t *f = notify_feed_named(nf, str_of(rec, "feed"));

    if (!f) {
        return;
    }
    if (json_array_size(f->queue) >= NOTIFY_QUEUE) {
        report_dropped(nf, f, json_array_get(f->queue, 0));
        json_array_remove(f->queue, 0);
    }
    json_array_append(f->queue, rec);
}

/* Every descriptor but 0, 1 and 2 closed, for the command. */
static void close_others(void)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) {
        return;
    }
#endif
    {
        long fd, max = sysconf(_SC_OPEN_MAX);

        for (fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++) {
            close((int)fd);
        }
    }
}

/* In the forked child: CMD ARGS... EVENT FEED [CORTE_ID] with the record's
 * environment only, stdin /dev/null, output to `out`, cwd /, a process
 * group of its own (killed whole at the timeout). */
static void exec_command(notify_feed_t *f, json_t *rec, int out)
{
    const apr_array_header_t *cmd = f->conf->notify;
    json_t *env = json_object_get(rec, "env");
    const char *corte_id = str_of(rec, "corte_id"), *key;
    char **argv, **envp;
    json_t *value;
    size_t n = 0;
    sigset_t none;
    int i, null;

    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* the notifier killed: it goes too */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGWINCH, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 ||
        chdir("/") != 0) {
        _exit(126);
    }
    close_others();
    argv = calloc((size_t)cmd->nelts + 4, sizeof(char *));
    envp = calloc(json_object_size(env) + 3, sizeof(char *));
    if (!argv || !envp) {
        _exit(126);
    }
    for (i = 0; i < cmd->nelts; i++) {
        argv[i] = (char *)APR_ARRAY_IDX(cmd, i, const char *);
    }
    argv[i++] = (char *)str_of(rec, "event");
    argv[i++] = (char *)f->conf->name;
    if (*corte_id) {
        argv[i++] = (char *)corte_id;
    }
    envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    envp[n++] = "LANG=C.UTF-8";
    json_object_foreach(env, key, value)
    {
        const char *v = json_string_value(value);
        size_t len = strlen(key) + (v ? strlen(v) : 0) + 2;

        if (strncmp(key, "PREP_", 5) || !(envp[n] = malloc(len))) {
            continue;
        }
        snprintf(envp[n++], len, "%s=%s", key, v ? v : "");
    }
    execve(argv[0], argv, envp);
    dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static void start_command(notifier_t *nf, notify_feed_t *f)
{
    int fds[2];
    pid_t pid;
    json_t *rec = json_array_get(f->queue, 0);

    json_incref(rec);
    json_array_remove(f->queue, 0);
    if (pipe(fds) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, ap_server_conf,
                     "PREP0155: feed %s: PrepNotify: cannot run %s for %s",
                     f->conf->name, APR_ARRAY_IDX(f->conf->notify, 0, char *),
                     str_of(rec, "event"));
        json_decref(rec);
        return;
    }
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        exec_command(f, rec, fds[1]);
    }
    close(fds[1]);
    if (pid < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, ap_server_conf,
                     "PREP0156: feed %s: PrepNotify: cannot fork for %s",
                     f->conf->name, str_of(rec, "event"));
        close(fds[0]);
        json_decref(rec);
        return;
    }
    (void)nf;
    setpgid(pid, pid); /* whichever of the two runs first */
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    set_nonblocking(fds[0]);
    f->pid = pid;
    f->out = fds[0];
    f->running = rec;
    f->started = apr_time_now();
    f->termed = 0;
    f->output_len = 0;
}

/* What the command wrote since, its last NOTIFY_OUTPUT bytes kept. */
static void read_output(notify_feed_t *f)
{
    char chunk[4096];

    while (f->out >= 0) {
        ssize_t n = read(f->out, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                close(f->out);
                f->out = -1;
            }
            return;
        }
        if ((size_t)n >= NOTIFY_OUTPUT) {
            memcpy(f->output, chunk + n - NOTIFY_OUTPUT, NOTIFY_OUTPUT);
            f->output_len = NOTIFY_OUTPUT;
        } else {
            if (f->output_len + (size_t)n > NOTIFY_OUTPUT) {
                size_t drop = f->output_len + (size_t)n - NOTIFY_OUTPUT;

                memmove(f->output, f->output + drop, f->output_len - drop);
                f->output_len -= drop;
            }
            memcpy(f->output + f->output_len, chunk, (size_t)n);
            f->output_len += (size_t)n;
        }
    }
}

/* The first line of the output, shown (control characters escaped). */
static const char *first_line(apr_pool_t *p, const char *output)
{
    const char *nl = strchr(output, '\n');
    const char *line =
        nl ? apr_pstrmemdup(p, output, (apr_size_t)(nl - output)) : output;

    return *line ? prep_name_shown(p, line) : "(no output)";
}

/* The command of f ended with wait status `status`: logged, and told. */
static void command_ended(notifier_t *nf, notify_feed_t *f, int status)
{
    apr_pool_t *p;
    json_t *res = json_object();
    json_t *rec = f->running;
    const char *argv0 = APR_ARRAY_IDX(f->conf->notify, 0, const char *);
    const char *output, *how;
    long ms = (long)apr_time_as_msec(apr_time_now() - f->started);
    int exited = WIFEXITED(status), code = exited ? WEXITSTATUS(status) : -1;
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    int killed = f->termed != 0;

    read_output(f);
    if (f->out >= 0) {
        close(f->out);
        f->out = -1;
    }
    apr_pool_create(&p, NULL);
    output = apr_pstrmemdup(p, f->output, f->output_len);
    how = killed   ? apr_psprintf(p, "was killed after %d s",
                                  (int)apr_time_sec(NOTIFY_TIMEOUT))
          : exited ? apr_psprintf(p, "ended with status %d", code)
                   : apr_psprintf(p, "died of signal %d", sig);
    if (exited && code == 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                     "PREP0147: feed %s: PrepNotify %s for %s %s in %ld ms: "
                     "%s",
                     f->conf->name, argv0, str_of(rec, "event"), how, ms,
                     first_line(p, output));
    } else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                     "PREP0148: feed %s: PrepNotify %s for %s %s (%ld ms): %s",
                     f->conf->name, argv0, str_of(rec, "event"), how, ms,
                     first_line(p, output));
    }
    json_object_set_new(res, "feed", json_string(f->conf->name));
    json_object_set_new(res, "for", json_string(str_of(rec, "event")));
    json_object_set_new(res, "for_at", json_string(str_of(rec, "at")));
    json_object_set_new(res, "argv0", json_string(argv0));
    json_object_set_new(res, "status",
                        exited ? json_integer(code) : json_null());
    json_object_set_new(res, "signal", sig ? json_integer(sig) : json_null());
    json_object_set_new(res, "killed", json_boolean(killed));
    json_object_set_new(res, "ms", json_integer(ms));
    /* the output as text: bytes that are not UTF-8 shown escaped */
    json_object_set_new(res, "output", json_string(prep_name_shown(p, output)));
    outbox_put(&nf->results, res);
    apr_pool_destroy(p);
    json_decref(rec);
    f->running = NULL;
    f->pid = 0;
}

/* Reaps, kills at the timeout, and starts the next command of f. */
static void tend_feed(notifier_t *nf, notify_feed_t *f, apr_time_t now)
{
    int status;

    if (f->pid) {
        siginfo_t info;

        read_output(f);
        memset(&info, 0, sizeof(info));
        if (waitid(P_PID, (id_t)f->pid, &info, WEXITED | WNOHANG | WNOWAIT) ==
                0 &&
            info.si_pid == f->pid) {
            /* what it left behind in its group goes with it (killed
             * before the reap, so that the group's id is still its own) */
            kill(-f->pid, SIGKILL);
            waitpid(f->pid, &status, 0);
            command_ended(nf, f, status);
        } else if (!f->termed && now - f->started >= NOTIFY_TIMEOUT) {
            kill(-f->pid, SIGTERM);
            f->termed = now;
        } else if (f->termed && now - f->termed >= NOTIFY_KILL_GRACE) {
            kill(-f->pid, SIGKILL);
        }
    }
    if (!f->pid && json_array_size(f->queue)) {
        start_command(nf, f);
    }
}

/* The intake is gone or the server stops: the commands end with us. */
static void notifier_exit(notifier_t *nf)
{
    int i;

    for (i = 0; i < nf->n; i++) {
        if (nf->feeds[i].pid) {
            kill(-nf->feeds[i].pid, SIGKILL);
            waitpid(nf->feeds[i].pid, NULL, 0);
        }
    }
    _exit(0);
}

static void notifier_main(int events, int results, pid_t intake)
{
    notifier_t nf;
    int i;

    memset(&nf, 0, sizeof(nf));
    notifier_stopping = 0;
    signal(SIGTERM, notifier_stop_signal);
    signal(SIGINT, notifier_stop_signal);
    if (geteuid() == 0 && ap_unixd_setup_child() != 0) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, errno, ap_server_conf,
                     "PREP0154: PrepNotify: the notifier cannot become the "
                     "server's User; no notification will be sent");
        _exit(APEXIT_CHILDFATAL);
    }
    nf.feeds = calloc((size_t)prep_registry->feeds->nelts, sizeof(*nf.feeds));
    for (i = 0; i < prep_registry->feeds->nelts; i++) {
        const prep_feed_t *conf =
            &APR_ARRAY_IDX(prep_registry->feeds, i, prep_feed_rt_t *)->conf;

        if (conf->notify) {
            nf.feeds[nf.n].conf = conf;
            nf.feeds[nf.n].queue = json_array();
            nf.feeds[nf.n].out = -1;
            nf.n++;
        }
    }
    nf.events.fd = events;
    nf.results.fd = results;
    set_nonblocking(events);
    set_nonblocking(results);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, ap_server_conf,
                 "PREP0150: PrepNotify: notifier started (pid %" APR_PID_T_FMT
                 ", %d feeds, as uid %ld)",
                 getpid(), nf.n, (long)geteuid());
    for (;;) {
        struct pollfd pfd[1 + 64];
        int np = 0;
        apr_time_t now;

        pfd[np].fd = events;
        pfd[np++].events = POLLIN;
        for (i = 0; i < nf.n && np < 65; i++) {
            if (nf.feeds[i].pid && nf.feeds[i].out >= 0) {
                pfd[np].fd = nf.feeds[i].out;
                pfd[np++].events = POLLIN;
            }
        }
        poll(pfd, (nfds_t)np, 100);
        if (notifier_stopping || getppid() != intake) {
            notifier_exit(&nf);
        }
        inbox_read(&nf.events, take_event, &nf);
        now = apr_time_now();
        for (i = 0; i < nf.n; i++) {
            tend_feed(&nf, &nf.feeds[i], now);
        }
        if (outbox_flush(&nf.results) != 0 || nf.events.eof) {
            notifier_exit(&nf); /* the intake's pipe closed: it is gone */
        }
    }
}

/* --- the intake's side --------------------------------------------- */

static pid_t notifier_pid;
static outbox_t to_notifier = {-1, NULL, 0};
static inbox_t from_notifier = {-1, NULL, 0, 0};
static int notifier_gone; /* it ended and will not be started again */
static apr_time_t notifier_started;
static apr_time_t notifier_restart_at; /* 0: none planned */
static int notifier_pipe_full;         /* a drop streak is under way (logged) */

static int some_feed_notifies(void)
{
    int i;

    for (i = 0; prep_registry && i < prep_registry->feeds->nelts; i++) {
        if (APR_ARRAY_IDX(prep_registry->feeds, i, prep_feed_rt_t *)
                ->conf.notify) {
            return 1;
        }
    }
    return 0;
}

void notify_start(void)
{
    int events[2], results[2];
    pid_t pid, intake = getpid();

    if (!some_feed_notifies()) {
        return;
    }
    if (pipe(events) != 0 || pipe(results) != 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, ap_server_conf,
                     "PREP0151: PrepNotify: cannot start the notifier; no "
                     "notification will be sent");
        notifier_gone = 1;
        return;
    }
    pid = fork();
    if (pid == 0) {
        close(events[1]);
        close(results[0]);
        if (to_notifier.fd >= 0) {
            close(to_notifier.fd);
        }
        if (from_notifier.fd >= 0) {
            close(from_notifier.fd);
        }
        notifier_main(events[0], results[1], intake);
        _exit(0);
    }
    close(events[0]);
    close(results[1]);
    if (pid < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, ap_server_conf,
                     "PREP0152: PrepNotify: cannot fork the notifier; no "
                     "notification will be sent");
        close(events[1]);
        close(results[0]);
        notifier_gone = 1;
        return;
    }
    if (to_notifier.fd >= 0) { /* (closed when the one before ended) */
        close(to_notifier.fd);
    }
    if (from_notifier.fd >= 0) {
        close(from_notifier.fd);
    }
    fcntl(events[1], F_SETFD, FD_CLOEXEC);
    fcntl(results[0], F_SETFD, FD_CLOEXEC);
    set_nonblocking(events[1]);
    set_nonblocking(results[0]);
    /* what waited for it is its first work (a record the one before
     * took half of is skipped by the notifier, not being JSON) */
    to_notifier.fd = events[1];
    from_notifier.fd = results[0];
    from_notifier.len = 0;
    from_notifier.eof = 0;
    notifier_pid = pid;
    notifier_started = apr_time_now();
}

/* The lines read, to send once the state they tell is in effect. */
static apr_status_t collect_line(void *baton, json_t *line)
{
    json_array_append(baton, line);
    return APR_SUCCESS;
}

/* The corte a line is about: its record's id, else "to" or "served". */
static const char *line_corte_id(json_t *line)
{
    json_t *corte = json_object_get(line, PREP_JOURNAL_KEY_CORTE);
    const char *id = json_string_value(json_object_get(corte, "id"));

    if (!id) {
        id = json_string_value(json_object_get(line, "to"));
    }
    if (!id) {
        id = json_string_value(json_object_get(line, "served"));
    }
    return id ? id : "";
}

/* The package file of the line in the store, when it is there. */
static const char *package_path(const prep_feed_t *f, json_t *line,
                                const char *package, apr_pool_t *p)
{
    const char *dirs[] = {PREP_PROCESSED_DIR, PREP_REJECTED_DIR};
    int i;

    if (!*package || strchr(package, '/') || !strcmp(package, "..")) {
        return "";
    }
    if (!strcmp(str_of(line, PREP_JOURNAL_KEY_EVENT), "refused")) {
        dirs[0] = PREP_REJECTED_DIR;
        dirs[1] = PREP_PROCESSED_DIR;
    }
    for (i = 0; i < 2; i++) {
        const char *path =
            apr_pstrcat(p, f->store, "/", dirs[i], "/", package, NULL);
        apr_finfo_t fi;

        if (apr_stat(&fi, path, APR_FINFO_TYPE, p) == APR_SUCCESS &&
            fi.filetype == APR_REG) {
            return path;
        }
    }
    return "";
}

/* The record of a line for the notifier: the event, the corte id of the
 * arguments and the PREP_* environment. */
static json_t *event_record(intake_feed_t *in, json_t *line, apr_pool_t *p)
{
    const prep_feed_t *f = &in->feed->conf;
    json_t *rec = json_object(), *env = json_object();
    json_t *corte = json_object_get(line, PREP_JOURNAL_KEY_CORTE);
    json_t *served = served_json(in, p);
    const char *corte_id = line_corte_id(line);
    const char *corte_time = str_of(corte, "time");
    const char *package = str_of(line, PREP_JOURNAL_KEY_PACKAGE);
    const char *reason = str_of(line, PREP_JOURNAL_KEY_REASON);
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (!*package) {
        package = str_of(corte, "package");
    }
    if (!*corte_time && *corte_id && !strcmp(corte_id, str_of(served, "id"))) {
        corte_time = str_of(served, "time");
    }
    /* why a republish, who closed: the reason of events that have one */
    if (!*reason) {
        reason = str_of(line, "why");
    }
    if (!*reason) {
        reason = str_of(line, "by");
    }
    json_object_set_new(env, "PREP_EVENT",
                        json_string(str_of(line, PREP_JOURNAL_KEY_EVENT)));
    json_object_set_new(env, "PREP_FEED", json_string(f->name));
    json_object_set_new(env, "PREP_AT",
                        json_string(str_of(line, PREP_JOURNAL_KEY_AT)));
    json_object_set_new(env, "PREP_CORTE_ID", json_string(corte_id));
    json_object_set_new(env, "PREP_CORTE_TIME", json_string(corte_time));
    json_object_set_new(env, "PREP_PACKAGE", json_string(package));
    json_object_set_new(env, "PREP_PACKAGE_PATH",
                        json_string(package_path(f, line, package, p)));
    json_object_set_new(env, "PREP_REASON", json_string(reason));
    json_object_set_new(env, "PREP_MESSAGE",
                        json_string(str_of(line, PREP_JOURNAL_KEY_MESSAGE)));
    json_object_set_new(env, "PREP_USER",
                        json_string(str_of(line, PREP_JOURNAL_KEY_USER)));
    json_object_set_new(env, "PREP_SERVED_ID", json_string(in->published_id));
    json_object_set_new(
        env, "PREP_SERVED_TIME",
        json_string(in->published_id[0] &&
                            !strcmp(in->published_id, str_of(served, "id"))
                        ? str_of(served, "time")
                        : ""));
    json_object_set_new(env, "PREP_STORE", json_string(f->store));
    json_object_set_new(env, "PREP_INCOMING", json_string(f->incoming));
    json_object_set_new(
        env, "PREP_DRILL",
        json_string(json_is_true(json_object_get(line, PREP_JOURNAL_KEY_DRILL))
                        ? "1"
                        : "0"));
    json_object_set_new(env, "PREP_JOURNAL", json_string(text ? text : ""));
    free(text);
    json_decref(served);
    json_object_set_new(rec, "feed", json_string(f->name));
    json_object_set_new(rec, "event",
                        json_string(str_of(line, PREP_JOURNAL_KEY_EVENT)));
    json_object_set_new(rec, "at",
                        json_string(str_of(line, PREP_JOURNAL_KEY_AT)));
    json_object_set_new(rec, "corte_id", json_string(corte_id));
    json_object_set_new(rec, "env", env);
    return rec;
}

void notify_cursor_start(intake_feed_t *in)
{
    if (in->feed->conf.notify) {
        prep_journal_cursor_end(&in->notify_cursor, in->feed->conf.store);
    }
}

void notify_follow(intake_feed_t *in, apr_pool_t *p)
{
    const prep_feed_t *f = &in->feed->conf;
    /* a loader completing the corte it published: its "published" is told
     * now, not once the variants are made (a CDN purged seconds late) */
    int completing =
        in->loader && apr_atomic_read32(&in->feed->shm->completing);
    json_t *lines;
    apr_status_t rv;
    size_t i;

    if (!f->notify || (in->loader && !completing)) {
        return;
    }
    lines = json_array();
    rv = prep_journal_follow(&in->notify_cursor, f->store, NOTIFY_FOLLOW_BUDGET,
                             collect_line, lines, NULL, p);
    if (rv != APR_SUCCESS && !in->notify_follow_failing) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, ap_server_conf,
                     "PREP0153: feed %s: PrepNotify: cannot read the journal "
                     "%s/" PREP_JOURNAL_FILE,
                     f->name, f->store);
    }
    in->notify_follow_failing = rv != APR_SUCCESS;
    if (!json_array_size(lines)) {
        json_decref(lines);
        return;
    }
    /* every line read was written after what it tells (the writers
     * journal after their change): in the slot now, before it is told;
     * while a loader completes a corte the slot is its own, and names that
     * corte (it set `completing` after it published it) */
    if (completing) {
        prep_shm_read_id(in->feed->shm, in->published_id);
    } else {
        follow_store(in, p);
    }
    for (i = 0; i < json_array_size(lines); i++) {
        json_t *line = json_array_get(lines, i);
        const char *event = str_of(line, PREP_JOURNAL_KEY_EVENT);

        if (!strcmp(event, prep_event_name(PREP_EVENT_NOTIFY)) ||
            strcmp(str_of(line, PREP_JOURNAL_KEY_FEED), f->name)) {
            continue;
        }
        if (notifier_gone) {
            continue; /* said once, when it ended */
        }
        /* (while another notifier is to start, its events wait for it) */
        if (outbox_put(&to_notifier, event_record(in, line, p)) != 0) {
            if (!notifier_pipe_full) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                             "PREP0157: feed %s: PrepNotify: the notifier "
                             "takes no more events; %s at %s is dropped (and "
                             "those after it until it does)",
                             f->name, event, str_of(line, PREP_JOURNAL_KEY_AT));
            }
            notifier_pipe_full = 1;
        } else {
            notifier_pipe_full = 0;
        }
    }
    json_decref(lines);
}

typedef struct results_baton {
    intake_feed_t *feeds;
    int n;
    apr_pool_t *p;
} results_baton_t;

/* A result from the notifier, journaled as "notify" for its feed. */
static void take_result(void *baton, json_t *res)
{
    results_baton_t *b = baton;
    const char *feed = str_of(res, "feed");
    const char *key;
    json_t *fields, *value;
    int i;

    for (i = 0; i < b->n; i++) {
        if (!strcmp(b->feeds[i].feed->conf.name, feed)) {
            break;
        }
    }
    if (i == b->n) {
        return;
    }
    fields = json_object();
    json_object_foreach(res, key, value)
    {
        if (strcmp(key, "feed")) {
            json_object_set(fields, key, value);
        }
    }
    journal(&b->feeds[i], PREP_EVENT_NOTIFY, fields, b->p);
}

void notify_results(intake_feed_t *feeds, int n, apr_pool_t *p)
{
    results_baton_t b = {feeds, n, p};
    int status;
    pid_t ended;

    if (!notifier_pid) {
        if (notifier_restart_at && apr_time_now() >= notifier_restart_at) {
            notifier_restart_at = 0;
            notify_start();
        }
        return;
    }
    outbox_flush(&to_notifier);
    inbox_read(&from_notifier, take_result, &b);
    ended = waitpid(notifier_pid, &status, WNOHANG);
    if (ended != notifier_pid && !from_notifier.eof) {
        return;
    }
    if (ended != notifier_pid) {
        /* its pipe closed: it is ending, or a descendant kept it */
        kill(notifier_pid, SIGKILL);
        waitpid(notifier_pid, &status, 0);
    }
    inbox_read(&from_notifier, take_result, &b);
    notifier_pid = 0;
    close(to_notifier.fd);
    close(from_notifier.fd);
    to_notifier.fd = from_notifier.fd = -1;
    /* the intake runs as PrepUser: it cannot become the User again */
    if (prep_registry->loader_user && geteuid() != ap_unixd_config.user_id) {
        to_notifier.len = 0;
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                     "PREP0158: PrepNotify: the notifier ended (status %d); "
                     "the intake runs as PrepUser %s and cannot start it as "
                     "the server's User again: no notification until httpd "
                     "restarts",
                     status, prep_registry->loader_user);
        notifier_gone = 1;
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf,
                 "PREP0159: PrepNotify: the notifier ended (status %d); "
                 "starting another",
                 status);
    /* at once, unless it keeps dying as it starts */
    notifier_restart_at = notifier_started + NOTIFY_RESTART_EVERY;
    notify_results(feeds, n, p);
}

/* check_journal.c — unit tests of the journal (prep_journal.c): its lines
 * and their times, appends read back in order, rotation by size without
 * losing a line, the 30 days kept, a write cut short undone, a lock held
 * too long, damaged lines skipped and counted, the tail the status shows. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root;
static prep_feed_t feed;
static prep_journal_t journal;

#define SEC(n) apr_time_from_sec(n)
#define DAY    SEC(24 * 3600)

static void setup(void)
{
    char tmpl[] = "/tmp/prep-journal-XXXXXX";

    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    root = apr_pstrdup(pool, tmpl);
    test_feed_in(&feed, root, pool);
    prep_journal_init(&journal, &feed, 0);
}

static void teardown(void)
{
    ck_assert_int_eq(system(apr_psprintf(pool, "rm -rf '%s'", root)), 0);
    apr_pool_destroy(pool);
}

static const char *path_of(const char *name)
{
    return apr_pstrcat(pool, feed.store, "/", name, NULL);
}

static off_t size_of(const char *name)
{
    struct stat st;

    return stat(path_of(name), &st) == 0 ? st.st_size : -1;
}

/* Every line read back, in order. */
static apr_status_t collect(void *baton, json_t *line)
{
    json_array_append(baton, line);
    return APR_SUCCESS;
}

static json_t *read_all(apr_time_t since, apr_uint64_t *bad)
{
    json_t *lines = json_array();

    ck_assert_int_eq(
        prep_journal_each(feed.store, since, collect, lines, bad, pool),
        APR_SUCCESS);
    return lines;
}

static const char *str(const json_t *line, const char *key)
{
    return json_string_value(json_object_get(line, key));
}

/* An event with a number, to tell the lines apart. */
static void append_numbered(prep_event_e e, apr_time_t at, int n)
{
    json_t *line = prep_journal_line(&journal, e, at);

    json_object_set_new(line, "n", json_integer(n));
    ck_assert_int_eq(prep_journal_append(&journal, line, pool), APR_SUCCESS);
}

static int number(const json_t *line)
{
    return (int)json_integer_value(json_object_get(line, "n"));
}

START_TEST(test_event_names)
{
    int e;

    for (e = 0; e < PREP_EVENTS; e++) {
        ck_assert_ptr_nonnull(prep_event_name((prep_event_e)e));
        ck_assert_int_eq(prep_event_of_name(prep_event_name((prep_event_e)e)),
                         e);
    }
    ck_assert_str_eq(prep_event_name(PREP_EVENT_SAME_CORTE), "same-corte");
    ck_assert_str_eq(prep_event_name(PREP_EVENT_EMBARGO_LIFTED),
                     "embargo-lifted");
    ck_assert_str_eq(prep_event_name(PREP_EVENT_INTAKE_RESTART),
                     "intake-restart");
    ck_assert_int_eq(prep_event_of_name("nonsense"), PREP_EVENTS);
    ck_assert_int_eq(prep_event_of_name(NULL), PREP_EVENTS);
    ck_assert_str_eq(prep_event_name(PREP_EVENTS), "unknown");
}
END_TEST

START_TEST(test_line_has_time_feed_event)
{
    /* 2024-06-02T21:05:00.250-06:00 */
    apr_time_t at = SEC(1717383900) + 250000;
    json_t *line = prep_journal_line(&journal, PREP_EVENT_PUBLISHED, at);
    apr_time_t back;

    ck_assert_str_eq(str(line, "at"), "2024-06-02T21:05:00.250-06:00");
    ck_assert_str_eq(str(line, "feed"), "qro");
    ck_assert_str_eq(str(line, "event"), "published");
    ck_assert_ptr_null(json_object_get(line, "drill"));
    ck_assert_int_eq(prep_journal_time(&back, str(line, "at")), APR_SUCCESS);
    ck_assert(back == at);
    json_decref(line);
    /* in a drill every line says so */
    journal.drill = 1;
    line = prep_journal_line(&journal, PREP_EVENT_SEEN, at);
    ck_assert(json_is_true(json_object_get(line, "drill")));
    json_decref(line);
}
END_TEST

START_TEST(test_time_forms)
{
    apr_time_t t;

    ck_assert_int_eq(prep_journal_time(&t, "2024-06-02T21:05:00-06:00"),
                     APR_SUCCESS);
    ck_assert(t == SEC(1717383900));
    ck_assert_int_eq(prep_journal_time(&t, "2024-06-03T03:05:00.5Z"),
                     APR_SUCCESS);
    ck_assert(t == SEC(1717383900) + 500000);
    ck_assert_int_eq(prep_journal_time(&t, "2024-06-02T21:05:00.123456-06:00"),
                     APR_SUCCESS);
    ck_assert(t == SEC(1717383900) + 123456);
    ck_assert_int_eq(prep_journal_time(&t, "2024-06-02T21:05:00.-06:00"),
                     APR_EINVAL);
    ck_assert_int_eq(prep_journal_time(&t, "2024-06-02T21:05:00"), APR_EINVAL);
    ck_assert_int_eq(prep_journal_time(&t, "yesterday"), APR_EINVAL);
    ck_assert_int_eq(prep_journal_time(&t, NULL), APR_EINVAL);
}
END_TEST

START_TEST(test_appended_lines_read_back_in_order)
{
    prep_verdict_t v = {"truncated", "the archive ends early"};
    prep_corte_t c;
    json_t *lines, *corte;
    apr_uint64_t bad = 0;
    char *text;
    apr_size_t len;
    int i;

    memset(&c, 0, sizeof(c));
    c.id = "20240603T030500Z-0123abcd";
    c.time = SEC(1717383900);
    c.package = "PREP_QRO.tar.gz";
    c.sha256 = "0123abcd";
    c.files = 8000;
    c.bytes = 100000000;
    c.load_ms = 2100;
    ck_assert_int_eq(prep_journal_event(&journal, PREP_EVENT_START, NULL, pool),
                     APR_SUCCESS);
    ck_assert_int_eq(
        prep_journal_corte(&journal, PREP_EVENT_PUBLISHED, &c, NULL, pool),
        APR_SUCCESS);
    ck_assert_int_eq(prep_journal_refused(&journal, "malo.tar.gz", &v, pool),
                     APR_SUCCESS);
    lines = read_all(0, &bad);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(json_array_size(lines), 3);
    ck_assert_str_eq(str(json_array_get(lines, 0), "event"), "start");
    ck_assert_str_eq(str(json_array_get(lines, 1), "event"), "published");
    corte = json_object_get(json_array_get(lines, 1), "corte");
    ck_assert_str_eq(str(corte, "id"), c.id);
    ck_assert_str_eq(str(corte, "time"), "2024-06-02T21:05:00-06:00");
    ck_assert_str_eq(str(corte, "package"), "PREP_QRO.tar.gz");
    ck_assert_int_eq(json_integer_value(json_object_get(corte, "files")), 8000);
    ck_assert_int_eq(json_integer_value(json_object_get(corte, "load_ms")),
                     2100);
    ck_assert_str_eq(str(json_array_get(lines, 2), "event"), "refused");
    ck_assert_str_eq(str(json_array_get(lines, 2), "package"), "malo.tar.gz");
    ck_assert_str_eq(str(json_array_get(lines, 2), "reason"), "truncated");
    ck_assert_str_eq(str(json_array_get(lines, 2), "message"),
                     "the archive ends early");
    json_decref(lines);
    /* one object per line, each ended by a newline */
    ck_assert_int_eq(prep_incoming_read_small(&text, &len, AT_FDCWD,
                                              path_of(PREP_JOURNAL_FILE),
                                              1 << 20, NULL, pool),
                     APR_SUCCESS);
    for (i = 0; *text; i++) {
        char *nl = strchr(text, '\n');
        json_t *o;

        ck_assert_ptr_nonnull(nl);
        o = json_loadb(text, (size_t)(nl - text), 0, NULL);
        ck_assert(json_is_object(o));
        json_decref(o);
        text = nl + 1;
    }
    ck_assert_int_eq(i, 3);
    /* the files are readable by the workers, which show the events */
    ck_assert_int_eq(size_of(PREP_JOURNAL_FILE) > 0, 1);
}
END_TEST

START_TEST(test_since_filters_older_lines)
{
    apr_time_t now = apr_time_now();
    json_t *lines;

    append_numbered(PREP_EVENT_SEEN, now - SEC(3600), 1);
    append_numbered(PREP_EVENT_SEEN, now - SEC(60), 2);
    append_numbered(PREP_EVENT_SEEN, now, 3);
    lines = read_all(now - SEC(120), NULL);
    ck_assert_int_eq(json_array_size(lines), 2);
    ck_assert_int_eq(number(json_array_get(lines, 0)), 2);
    ck_assert_int_eq(number(json_array_get(lines, 1)), 3);
    json_decref(lines);
}
END_TEST

START_TEST(test_rotation_keeps_every_line)
{
    apr_time_t now = apr_time_now();
    json_t *lines;
    int i;

    journal.rotate_bytes = 600; /* a few lines per file */
    for (i = 0; i < 40; i++) {
        append_numbered(PREP_EVENT_SEEN, now, i);
    }
    ck_assert_int_gt(size_of(PREP_JOURNAL_FILE ".1"), 0);
    ck_assert_int_gt(size_of(PREP_JOURNAL_FILE ".3"), 0);
    ck_assert_int_le(size_of(PREP_JOURNAL_FILE), 600);
    lines = read_all(0, NULL);
    ck_assert_int_eq(json_array_size(lines), 40);
    for (i = 0; i < 40; i++) {
        ck_assert_int_eq(number(json_array_get(lines, (size_t)i)), i);
    }
    json_decref(lines);
    /* the status's tail crosses into .1 when the new file is short */
    lines = prep_journal_tail(feed.store, 12, pool);
    ck_assert_int_eq(json_array_size(lines), 12);
    ck_assert_int_eq(number(json_array_get(lines, 0)), 28);
    ck_assert_int_eq(number(json_array_get(lines, 11)), 39);
    json_decref(lines);
}
END_TEST

START_TEST(test_rotation_drops_only_files_older_than_keep)
{
    apr_time_t now = apr_time_now();
    json_t *lines;
    int i, n;

    journal.rotate_bytes = 600;
    /* 40 days ago, then 10 days ago, then now */
    for (i = 0; i < 10; i++) {
        append_numbered(PREP_EVENT_SEEN, now - 40 * DAY, i);
    }
    for (i = 10; i < 20; i++) {
        append_numbered(PREP_EVENT_SEEN, now - 10 * DAY, i);
    }
    for (i = 20; i < 30; i++) {
        append_numbered(PREP_EVENT_SEEN, now, i);
    }
    lines = read_all(0, NULL);
    /* the files holding only lines of 40 days ago went at the rotations
     * after them; every line younger than 30 days is there, in order */
    n = (int)json_array_size(lines);
    ck_assert_int_ge(n, 20);
    ck_assert_int_lt(n, 30);
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(number(json_array_get(lines, (size_t)(n - 20 + i))),
                         10 + i);
    }
    json_decref(lines);
}
END_TEST

/* A disk that fills during a write: the file cannot grow past a limit
 * (RLIMIT_FSIZE, SIGXFSZ ignored), as on a full disk the write stops
 * short.  The line is refused and the journal keeps its whole lines. */
START_TEST(test_write_cut_short_is_undone)
{
    struct rlimit lim;
    json_t *lines, *line;
    off_t before;
    apr_status_t rv;
    apr_uint64_t bad = 0;

    append_numbered(PREP_EVENT_START, apr_time_now(), 1);
    before = size_of(PREP_JOURNAL_FILE);
    ck_assert_int_gt(before, 0);
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &lim), 0);
    lim.rlim_cur = (rlim_t)before + 20; /* less than a line */
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    line = prep_journal_line(&journal, PREP_EVENT_PUBLISHED, apr_time_now());
    json_object_set_new(line, "message",
                        json_string("a line longer than twenty bytes"));
    rv = prep_journal_append(&journal, line, pool);
    ck_assert_int_ne(rv, APR_SUCCESS);
    ck_assert_int_eq(size_of(PREP_JOURNAL_FILE), before);
    lim.rlim_cur = lim.rlim_max;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    /* and the next event is written whole after it */
    append_numbered(PREP_EVENT_STORE_OK, apr_time_now(), 2);
    lines = read_all(0, &bad);
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(json_array_size(lines), 2);
    ck_assert_int_eq(number(json_array_get(lines, 1)), 2);
    json_decref(lines);
}
END_TEST

START_TEST(test_lock_held_too_long_fails_within_a_second)
{
    int fd = open(path_of(PREP_JOURNAL_LOCK), O_WRONLY | O_CREAT, 0644);
    apr_time_t start;
    apr_status_t rv;
    pid_t pid;
    int status, ready[2];
    char c;

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pipe(ready), 0);
    /* another process holds it (flock locks are per open file) */
    pid = fork();
    if (pid == 0) {
        int other = open(path_of(PREP_JOURNAL_LOCK), O_WRONLY);

        if (other < 0 || flock(other, LOCK_EX) != 0 ||
            write(ready[1], "x", 1) != 1) {
            _exit(1);
        }
        sleep(3);
        _exit(0);
    }
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    start = apr_time_now();
    rv = prep_journal_event(&journal, PREP_EVENT_SEEN, NULL, pool);
    ck_assert_int_ne(rv, APR_SUCCESS);
    ck_assert_int_lt(apr_time_now() - start, SEC(2));
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    close(fd);
    ck_assert_int_eq(prep_journal_event(&journal, PREP_EVENT_SEEN, NULL, pool),
                     APR_SUCCESS);
}
END_TEST

START_TEST(test_damaged_lines_are_skipped_and_counted)
{
    FILE *f;
    json_t *lines;
    apr_uint64_t bad = 0;
    int i;

    append_numbered(PREP_EVENT_START, apr_time_now(), 1);
    f = fopen(path_of(PREP_JOURNAL_FILE), "a");
    ck_assert_ptr_nonnull(f);
    fputs("not json\n", f);
    fputs("[1, 2]\n", f);
    fputs("{\"event\": \"seen\"}\n", f);                /* no at */
    fputs("{\"at\": \"soon\", \"event\": \"x\"}\n", f); /* bad at */
    fputs("\n", f);                                     /* empty: not bad */
    for (i = 0; i < 4 * PREP_JOURNAL_LINE_MAX + 10; i++) {
        fputc('x', f); /* longer than any line */
    }
    fputc('\n', f);
    fclose(f);
    append_numbered(PREP_EVENT_SEEN, apr_time_now(), 2);
    /* a torn last line, as a crash in the middle of a write leaves */
    f = fopen(path_of(PREP_JOURNAL_FILE), "a");
    fputs("{\"at\": \"2024-06-02T21:05:00-06:00\", \"ev", f);
    fclose(f);
    lines = read_all(0, &bad);
    ck_assert_int_eq(bad, 6);
    ck_assert_int_eq(json_array_size(lines), 2);
    ck_assert_int_eq(number(json_array_get(lines, 0)), 1);
    ck_assert_int_eq(number(json_array_get(lines, 1)), 2);
    json_decref(lines);
    lines = prep_journal_tail(feed.store, 5, pool);
    ck_assert_int_eq(json_array_size(lines), 2);
    json_decref(lines);
}
END_TEST

START_TEST(test_tail_gives_the_last_lines_oldest_first)
{
    json_t *lines;
    int i;

    lines = prep_journal_tail(feed.store, 5, pool); /* no journal yet */
    ck_assert_int_eq(json_array_size(lines), 0);
    json_decref(lines);
    for (i = 0; i < 30; i++) {
        append_numbered(PREP_EVENT_SEEN, apr_time_now(), i);
    }
    lines = prep_journal_tail(feed.store, PREP_STATUS_EVENTS, pool);
    ck_assert_int_eq(json_array_size(lines), PREP_STATUS_EVENTS);
    ck_assert_int_eq(number(json_array_get(lines, 0)), 30 - PREP_STATUS_EVENTS);
    ck_assert_int_eq(number(json_array_get(lines, PREP_STATUS_EVENTS - 1)), 29);
    json_decref(lines);
    lines = prep_journal_tail(feed.store, 0, pool);
    ck_assert_int_eq(json_array_size(lines), 0);
    json_decref(lines);
}
END_TEST

START_TEST(test_long_line_is_cut)
{
    json_t *line =
               prep_journal_line(&journal, PREP_EVENT_REFUSED, apr_time_now()),
           *lines;
    char *huge = apr_palloc(pool, 2 * PREP_JOURNAL_LINE_MAX);

    memset(huge, 'a', 2 * PREP_JOURNAL_LINE_MAX - 1);
    huge[2 * PREP_JOURNAL_LINE_MAX - 1] = '\0';
    json_object_set_new(line, "message", json_string(huge));
    json_object_set_new(line, "reason", json_string("verify"));
    ck_assert_int_eq(prep_journal_append(&journal, line, pool), APR_SUCCESS);
    ck_assert_int_lt(size_of(PREP_JOURNAL_FILE), PREP_JOURNAL_LINE_MAX);
    lines = read_all(0, NULL);
    ck_assert_int_eq(json_array_size(lines), 1);
    line = json_array_get(lines, 0);
    ck_assert_str_eq(str(line, "event"), "refused");
    ck_assert_str_eq(str(line, "reason"), "verify");
    ck_assert(json_is_true(json_object_get(line, "cut")));
    ck_assert_ptr_null(json_object_get(line, "message"));
    json_decref(lines);
}
END_TEST

START_TEST(test_unwritable_store_is_an_error_not_a_crash)
{
    json_t *lines;

    if (geteuid() == 0) {
        return; /* root writes anyway */
    }
    ck_assert_int_eq(chmod(feed.store, 0555), 0);
    ck_assert_int_ne(prep_journal_event(&journal, PREP_EVENT_SEEN, NULL, pool),
                     APR_SUCCESS);
    lines = read_all(0, NULL);
    ck_assert_int_eq(json_array_size(lines), 0);
    json_decref(lines);
    ck_assert_int_eq(chmod(feed.store, 0755), 0);
}
END_TEST

/* --- following ------------------------------------------------------ */

static json_t *follow(prep_journal_cursor_t *c, apr_off_t budget,
                      apr_uint64_t *bad)
{
    json_t *lines = json_array();

    ck_assert_int_eq(
        prep_journal_follow(c, feed.store, budget, collect, lines, bad, pool),
        APR_SUCCESS);
    return lines;
}

static void append_raw(const char *text)
{
    int fd =
        open(path_of(PREP_JOURNAL_FILE), O_WRONLY | O_APPEND | O_CREAT, 0644);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

START_TEST(test_follow_gives_only_lines_after_the_cursor)
{
    prep_journal_cursor_t c;
    json_t *lines;

    /* no journal yet: the cursor waits at the start of the file to come */
    prep_journal_cursor_end(&c, feed.store);
    lines = follow(&c, 0, NULL);
    ck_assert_int_eq(json_array_size(lines), 0);
    json_decref(lines);
    append_numbered(PREP_EVENT_START, apr_time_now(), 1);
    append_numbered(PREP_EVENT_SEEN, apr_time_now(), 2);
    lines = follow(&c, 0, NULL);
    ck_assert_int_eq(json_array_size(lines), 2);
    ck_assert_int_eq(number(json_array_get(lines, 0)), 1);
    ck_assert_int_eq(number(json_array_get(lines, 1)), 2);
    json_decref(lines);
    /* nothing new: nothing again */
    lines = follow(&c, 0, NULL);
    ck_assert_int_eq(json_array_size(lines), 0);
    json_decref(lines);
    /* a new follower at the end sees only what comes after */
    prep_journal_cursor_end(&c, feed.store);
    append_numbered(PREP_EVENT_PUBLISHED, apr_time_now(), 3);
    lines = follow(&c, 0, NULL);
    ck_assert_int_eq(json_array_size(lines), 1);
    ck_assert_int_eq(number(json_array_get(lines, 0)), 3);
    ck_assert_str_eq(str(json_array_get(lines, 0), "event"), "published");
    json_decref(lines);
}
END_TEST

START_TEST(test_follow_leaves_a_partial_line_for_next_time)
{
    prep_journal_cursor_t c;
    apr_uint64_t bad = 0;
    json_t *lines;

    append_numbered(PREP_EVENT_START, apr_time_now(), 1);
    prep_journal_cursor_end(&c, feed.store);
    append_raw("{\"at\":\"2024-06-02T21:05:00.000-06:00\",\"feed\":\"qro\",");
    lines = follow(&c, 0, &bad);
    ck_assert_int_eq(json_array_size(lines), 0);
    ck_assert_int_eq(bad, 0);
    json_decref(lines);
    append_raw("\"event\":\"seen\",\"n\":7}\n");
    lines = follow(&c, 0, &bad);
    ck_assert_int_eq(json_array_size(lines), 1);
    ck_assert_int_eq(number(json_array_get(lines, 0)), 7);
    ck_assert_int_eq(bad, 0);
    json_decref(lines);
}
END_TEST

START_TEST(test_follow_finishes_the_rotated_file_then_the_new_one)
{
    prep_journal_cursor_t c;
    json_t *lines;
    int i, n = 0;

    journal.rotate_bytes = 600; /* a few lines per file */
    append_numbered(PREP_EVENT_START, apr_time_now(), 0);
    prep_journal_cursor_end(&c, feed.store);
    /* enough to rotate once, not twice */
    for (i = 1; size_of(PREP_JOURNAL_FILE ".1") < 0; i++) {
        append_numbered(PREP_EVENT_SEEN, apr_time_now(), i);
    }
    append_numbered(PREP_EVENT_SEEN, apr_time_now(), i);
    ck_assert_int_lt(size_of(PREP_JOURNAL_FILE ".2"), 0);
    lines = follow(&c, 0, NULL);
    ck_assert_int_eq(json_array_size(lines), i);
    for (n = 0; n < i; n++) {
        ck_assert_int_eq(number(json_array_get(lines, (size_t)n)), n + 1);
    }
    json_decref(lines);
    /* and the new file goes on from where it was left */
    append_numbered(PREP_EVENT_PUBLISHED, apr_time_now(), 100);
    lines = follow(&c, 0, NULL);
    ck_assert_int_eq(json_array_size(lines), 1);
    ck_assert_int_eq(number(json_array_get(lines, 0)), 100);
    json_decref(lines);
}
END_TEST

START_TEST(test_follow_skips_and_counts_damaged_lines)
{
    prep_journal_cursor_t c;
    apr_uint64_t bad = 0;
    json_t *lines;
    char *huge;

    prep_journal_cursor_end(&c, feed.store);
    append_numbered(PREP_EVENT_START, apr_time_now(), 1);
    append_raw("not json at all\n");
    append_raw("{\"feed\":\"qro\",\"event\":\"seen\"}\n"); /* no "at" */
    huge = apr_palloc(pool, 5 * PREP_JOURNAL_LINE_MAX + 2);
    memset(huge, 'x', 5 * PREP_JOURNAL_LINE_MAX);
    strcpy(huge + 5 * PREP_JOURNAL_LINE_MAX, "\n");
    append_raw(huge);
    append_raw("\n");
    append_numbered(PREP_EVENT_SEEN, apr_time_now(), 2);
    lines = follow(&c, 0, &bad);
    ck_assert_int_eq(json_array_size(lines), 2);
    ck_assert_int_eq(number(json_array_get(lines, 0)), 1);
    ck_assert_int_eq(number(json_array_get(lines, 1)), 2);
    ck_assert_int_eq(bad, 3);
    json_decref(lines);
}
END_TEST

START_TEST(test_follow_reads_at_most_its_budget)
{
    prep_journal_cursor_t c;
    json_t *lines;
    int i, got = 0, calls = 0;

    prep_journal_cursor_end(&c, feed.store);
    for (i = 1; i <= 20; i++) {
        append_numbered(PREP_EVENT_SEEN, apr_time_now(), i);
    }
    /* about one line per call: every line once, in order */
    while (got < 20 && calls < 100) {
        size_t k;

        lines = follow(&c, 150, NULL);
        for (k = 0; k < json_array_size(lines); k++) {
            ck_assert_int_eq(number(json_array_get(lines, k)), ++got);
        }
        json_decref(lines);
        calls++;
    }
    ck_assert_int_eq(got, 20);
    ck_assert_int_gt(calls, 5);
}
END_TEST

Suite *suite_journal(void)
{
    Suite *s = suite_create("journal");
    TCase *tc = tcase_create("journal");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_event_names);
    tcase_add_test(tc, test_line_has_time_feed_event);
    tcase_add_test(tc, test_time_forms);
    tcase_add_test(tc, test_appended_lines_read_back_in_order);
    tcase_add_test(tc, test_since_filters_older_lines);
    tcase_add_test(tc, test_rotation_keeps_every_line);
    tcase_add_test(tc, test_rotation_drops_only_files_older_than_keep);
    tcase_add_test(tc, test_write_cut_short_is_undone);
    tcase_add_test(tc, test_lock_held_too_long_fails_within_a_second);
    tcase_add_test(tc, test_damaged_lines_are_skipped_and_counted);
    tcase_add_test(tc, test_tail_gives_the_last_lines_oldest_first);
    tcase_add_test(tc, test_long_line_is_cut);
    tcase_add_test(tc, test_unwritable_store_is_an_error_not_a_crash);
    tcase_add_test(tc, test_follow_gives_only_lines_after_the_cursor);
    tcase_add_test(tc, test_follow_leaves_a_partial_line_for_next_time);
    tcase_add_test(tc, test_follow_finishes_the_rotated_file_then_the_new_one);
    tcase_add_test(tc, test_follow_skips_and_counts_damaged_lines);
    tcase_add_test(tc, test_follow_reads_at_most_its_budget);
    suite_add_tcase(s, tc);
    return s;
}

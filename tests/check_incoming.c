/* check_incoming.c — unit tests of the intake's decisions over PrepIncoming
 * (prep_incoming.c): when a package has settled, which is read first, the
 * wait for its sidecar, the hold of a truncated upload, a loader's crash,
 * and the refusals the intake makes itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <apr_file_io.h>
#include <apr_strings.h>
#include <jansson.h>

#include "prep.h"
#include "test_prep.h"

static apr_pool_t *pool;
static const char *root; /* temporary directory of one test */
static prep_feed_t feed;

#define SEC(n) apr_time_from_sec(n)
#define T0     SEC(1717383900) /* an upload's mtime */
#define SETTLE SEC(5)

static void setup(void)
{
    char tmpl[] = "/tmp/prep-incoming-XXXXXX";

    apr_pool_create(&pool, NULL);
    ck_assert_ptr_nonnull(mkdtemp(tmpl));
    root = apr_pstrdup(pool, tmpl);
    test_feed_in(&feed, root, pool);
    feed.settle = SETTLE;
}

static void teardown(void)
{
    ck_assert_int_eq(system(apr_psprintf(pool, "rm -rf '%s'", root)), 0);
    apr_pool_destroy(pool);
}

static prep_file_identity_t identity_at(apr_time_t mtime, apr_off_t size)
{
    prep_file_identity_t id;

    memset(&id, 0, sizeof(id));
    id.dev = 8;
    id.ino = 4242;
    id.size = size;
    id.mtime = mtime;
    id.ctime = mtime;
    return id;
}

/* The entry after `polls` polls that all saw identity id. */
static prep_seen_t seen_for(const prep_file_identity_t *id, int polls)
{
    prep_seen_t s, last;
    int i;

    prep_incoming_seen(&s, NULL, id);
    for (i = 0; i < polls; i++) {
        last = s;
        prep_incoming_seen(&s, &last, id);
    }
    return s;
}

/* A file in incoming with `text` and mtime `mtime` (seconds). */
static void put(const char *name, const char *text, apr_time_t mtime)
{
    const char *path = apr_pstrcat(pool, feed.incoming, "/", name, NULL);
    FILE *f = fopen(path, "w");

    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    ck_assert_int_eq(apr_file_mtime_set(path, mtime, pool), APR_SUCCESS);
}

static int exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

START_TEST(a_package_settles_after_two_polls_and_the_settle_time)
{
    prep_file_identity_t id = identity_at(T0, 1000);
    prep_seen_t first = seen_for(&id, 0), second = seen_for(&id, 1);

    /* seen once: never read, however old */
    ck_assert(!prep_incoming_settled(&first, SETTLE, T0 + SEC(3600)));
    /* seen unchanged at two polls: read once the settle time is over */
    ck_assert_int_eq(second.polls, 1);
    ck_assert(!prep_incoming_settled(&second, SETTLE, T0 + SEC(4)));
    ck_assert(prep_incoming_settled(&second, SETTLE, T0 + SETTLE));
    ck_assert_int_eq(prep_incoming_mode(&second), PREP_LOAD_NEW);
}
END_TEST

START_TEST(another_identity_under_the_name_starts_afresh)
{
    prep_file_identity_t id = identity_at(T0, 1000);
    prep_file_identity_t grown = identity_at(T0, 2000);
    prep_file_identity_t other = identity_at(T0, 1000);
    prep_seen_t last = seen_for(&id, 3), s;

    last.done = 1;
    last.hold_until = T0 + SEC(60);
    prep_incoming_seen(&s, &last, &grown);
    ck_assert_int_eq(s.polls, 0);
    ck_assert_int_eq(s.done, 0);
    ck_assert(s.hold_until == 0);
    ck_assert_int_eq(s.id.size, 2000);
    other.ino = 4343; /* renamed over it */
    prep_incoming_seen(&s, &last, &other);
    ck_assert_int_eq(s.polls, 0);
    ck_assert(!prep_incoming_settled(&s, SETTLE, T0 + SEC(3600)));
    /* the same identity keeps what was learnt of it */
    prep_incoming_seen(&s, &last, &id);
    ck_assert_int_eq(s.polls, 4);
    ck_assert_int_eq(s.done, 1);
}
END_TEST

START_TEST(a_package_read_is_not_read_again_until_it_changes)
{
    static const prep_load_outcome_e done[] = {
        PREP_LOAD_PUBLISHED, PREP_LOAD_SAME, PREP_LOAD_REFUSED,
        PREP_LOAD_CHANGED};
    prep_file_identity_t id = identity_at(T0, 1000);
    size_t i;

    for (i = 0; i < sizeof(done) / sizeof(done[0]); i++) {
        prep_seen_t s = seen_for(&id, 1), next;

        prep_incoming_load_ended(&s, &id, done[i]);
        ck_assert_msg(!prep_incoming_settled(&s, SETTLE, T0 + SEC(3600)),
                      "outcome %d read again", (int)done[i]);
        prep_incoming_seen(&next, &s, &id);
        ck_assert(!prep_incoming_settled(&next, SETTLE, T0 + SEC(3600)));
    }
}
END_TEST

START_TEST(busy_and_crashed_loads_are_tried_again)
{
    prep_file_identity_t id = identity_at(T0, 1000);
    prep_seen_t s = seen_for(&id, 1);

    prep_incoming_load_ended(&s, &id, PREP_LOAD_BUSY);
    ck_assert(prep_incoming_settled(&s, SETTLE, T0 + SETTLE));
    prep_incoming_load_ended(&s, &id, PREP_LOAD_CRASHED);
    ck_assert(prep_incoming_settled(&s, SETTLE, T0 + SETTLE));
}
END_TEST

START_TEST(the_end_of_a_load_of_another_file_changes_nothing)
{
    prep_file_identity_t id = identity_at(T0, 1000);
    prep_file_identity_t loaded = identity_at(T0 - SEC(60), 900);
    prep_seen_t s = seen_for(&id, 1);

    prep_incoming_load_ended(&s, &loaded, PREP_LOAD_REFUSED);
    ck_assert(prep_incoming_settled(&s, SETTLE, T0 + SETTLE));
    prep_incoming_load_ended(&s, &loaded, PREP_LOAD_HELD);
    ck_assert(s.hold_until == 0);
    prep_incoming_load_ended(NULL, &loaded, PREP_LOAD_REFUSED); /* gone */
}
END_TEST

START_TEST(a_held_package_is_read_once_more_after_its_hold)
{
    prep_file_identity_t id = identity_at(T0, 1000);
    prep_seen_t s = seen_for(&id, 1), next;

    prep_incoming_load_ended(&s, &id, PREP_LOAD_HELD);
    ck_assert(s.hold_until == T0 + PREP_HOLD_TRUNCATED);
    ck_assert(!prep_incoming_settled(&s, SETTLE, T0 + SEC(59)));
    prep_incoming_seen(&next, &s, &id);
    ck_assert(!prep_incoming_settled(&next, SETTLE, T0 + SEC(59)));
    ck_assert(prep_incoming_settled(&next, SETTLE, T0 + SEC(60)));
    /* the second time, a truncated package is refused */
    ck_assert_int_eq(prep_incoming_mode(&next), PREP_LOAD_FINAL);
}
END_TEST

START_TEST(only_a_recent_upload_written_under_its_name_is_held)
{
    prep_file_identity_t id = identity_at(T0, 1000);
    prep_file_identity_t renamed = id;

    ck_assert(prep_incoming_holds_truncated(&id, PREP_LOAD_NEW, T0 + SEC(59)));
    ck_assert(!prep_incoming_holds_truncated(&id, PREP_LOAD_NEW, T0 + SEC(60)));
    ck_assert(
        !prep_incoming_holds_truncated(&id, PREP_LOAD_FINAL, T0 + SEC(1)));
    ck_assert(
        !prep_incoming_holds_truncated(&id, PREP_LOAD_REPUBLISH, T0 + SEC(1)));
    /* NAME.part renamed to NAME: complete when it came, refused at once */
    renamed.ctime = T0 + SEC(1);
    ck_assert(
        !prep_incoming_holds_truncated(&renamed, PREP_LOAD_NEW, T0 + SEC(2)));
}
END_TEST

/* issue 13: what inotify tells of a name changes when it settles. */
START_TEST(a_package_renamed_in_settles_at_once)
{
    prep_file_identity_t id = identity_at(T0, 1000);
    prep_seen_t s = seen_for(&id, 0), next;

    /* seen once, just now: polled, it would wait for two polls and the
     * settle time; renamed in (NAME.part -> NAME), it is complete */
    ck_assert(!prep_incoming_settled(&s, SETTLE, T0));
    prep_incoming_watched(&s, 1, 0);
    ck_assert(prep_incoming_settled(&s, SETTLE, T0));
    ck_assert(prep_incoming_settles_at(&s, SETTLE) == 0);
    /* ... as long as it is the file seen right after the rename */
    next = s;
    prep_incoming_seen(&next, &s, &id);
    ck_assert(prep_incoming_settled(&next, SETTLE, T0));
    id.size = 2000;
    prep_incoming_seen(&next, &s, &id);
    ck_assert_int_eq(next.renamed_in, 0);
    ck_assert(!prep_incoming_settled(&next, SETTLE, T0 + SEC(1)));
    /* read: not again; held as truncated: not before its hold is over */
    s.done = 1;
    ck_assert(!prep_incoming_settled(&s, SETTLE, T0));
    s.done = 0;
    s.hold_until = T0 + SEC(60);
    ck_assert(!prep_incoming_settled(&s, SETTLE, T0 + SEC(59)));
    ck_assert(prep_incoming_settled(&s, SETTLE, T0 + SEC(60)));
}
END_TEST

START_TEST(a_package_closed_settles_after_the_settle_time_from_the_close)
{
    /* copied with its old mtime kept (cp -p, sftp put -p): polled, it
     * would settle at the second poll; the close is what counts */
    prep_file_identity_t id = identity_at(T0 - SEC(3600), 1000);
    prep_seen_t s = seen_for(&id, 0), next;

    prep_incoming_watched(&s, 0, T0);
    ck_assert(prep_incoming_settles_at(&s, SETTLE) == T0 + SETTLE);
    next = s;
    prep_incoming_seen(&next, &s, &id);
    ck_assert_int_eq(next.polls, 1);
    ck_assert(!prep_incoming_settled(&next, SETTLE, T0 + SETTLE - 1));
    ck_assert(prep_incoming_settled(&next, SETTLE, T0 + SETTLE));
    /* seen only once since the close: never at once, however long */
    ck_assert(!prep_incoming_settled(&s, SETTLE, T0 + SEC(3600)));
    /* an mtime later than the close (a clock set forward) counts from it */
    id.mtime = T0 + SEC(10);
    next = seen_for(&id, 1);
    prep_incoming_watched(&next, 0, T0);
    next.polls = 1;
    ck_assert(prep_incoming_settles_at(&next, SETTLE) == T0 + SEC(10) + SETTLE);
    ck_assert(!prep_incoming_settled(&next, SETTLE, T0 + SETTLE));
}
END_TEST

START_TEST(a_write_after_the_close_starts_the_wait_again)
{
    prep_file_identity_t id = identity_at(T0, 1000);
    prep_seen_t s = seen_for(&id, 0), next;

    prep_incoming_watched(&s, 0, T0);
    /* written again, closed again: the wait starts from the new close */
    id.size = 1500;
    id.mtime = T0 + SEC(3);
    prep_incoming_seen(&next, &s, &id);
    ck_assert(next.closed_at == 0);
    prep_incoming_watched(&next, 0, T0 + SEC(3));
    s = next;
    prep_incoming_seen(&next, &s, &id);
    ck_assert(!prep_incoming_settled(&next, SETTLE, T0 + SETTLE));
    ck_assert(prep_incoming_settles_at(&next, SETTLE) == T0 + SEC(3) + SETTLE);
    ck_assert(prep_incoming_settled(&next, SETTLE, T0 + SEC(3) + SETTLE));
    /* a close without a change of identity starts it again too */
    s = next;
    prep_incoming_watched(&s, 0, T0 + SEC(20));
    ck_assert_int_eq(s.polls, 0);
    ck_assert(!prep_incoming_settled(&s, SETTLE, T0 + SEC(21)));
    /* a renamed-in file written to after the rename is a write */
    s = seen_for(&id, 0);
    prep_incoming_watched(&s, 1, 0);
    prep_incoming_watched(&s, 0, T0 + SEC(30));
    ck_assert_int_eq(s.renamed_in, 0);
    ck_assert(!prep_incoming_settled(&s, SETTLE, T0 + SEC(30)));
    /* renamed in over a name that had been closed: complete */
    prep_incoming_watched(&s, 1, 0);
    ck_assert(prep_incoming_settled(&s, SETTLE, T0 + SEC(30)));
    ck_assert(prep_incoming_settles_at(&s, SETTLE) == 0);
}
END_TEST

START_TEST(the_newest_package_is_read_first_then_by_name)
{
    prep_file_identity_t old = identity_at(T0, 1),
                         young = identity_at(T0 + 1, 1);
    prep_seen_t a = seen_for(&old, 1), b = seen_for(&young, 1);

    ck_assert(prep_incoming_before(&b, "a_2100.tar.gz", &a, "z_2105.tar.gz"));
    ck_assert(!prep_incoming_before(&a, "z_2105.tar.gz", &b, "a_2100.tar.gz"));
    /* moved in together: the institute's names carry the corte time */
    b = seen_for(&old, 1);
    ck_assert(
        prep_incoming_before(&b, "qro_2105.tar.gz", &a, "qro_2100.tar.gz"));
    ck_assert(
        !prep_incoming_before(&a, "qro_2100.tar.gz", &b, "qro_2105.tar.gz"));
    ck_assert(!prep_incoming_before(&a, "same", &a, "same"));
}
END_TEST

START_TEST(the_sidecar_is_waited_for)
{
    apr_time_t t = apr_time_from_sec(apr_time_sec(apr_time_now())) - SEC(600);
    apr_time_t wait_over = t + SETTLE + PREP_SIDECAR_WAIT;
    int dirfd;

    put("a.tar.gz", "package", t);
    dirfd = open(feed.incoming, O_RDONLY | O_DIRECTORY);
    ck_assert_int_ge(dirfd, 0);
    /* without PrepVerify there is nothing to wait for */
    ck_assert(prep_incoming_sidecar_ready(&feed, dirfd, "a.tar.gz", t,
                                          t + SETTLE, pool));
    /* PrepVerify sha256: no sidecar yet, waited for until the wait is over */
    feed.verify = PREP_VERIFY_SHA256;
    ck_assert(!prep_incoming_sidecar_ready(&feed, dirfd, "a.tar.gz", t,
                                           wait_over - 1, pool));
    ck_assert(prep_incoming_sidecar_ready(&feed, dirfd, "a.tar.gz", t,
                                          wait_over, pool));
    /* a sidecar still being written (just changed) is waited for too */
    put("a.tar.gz.sha256", "0000", t + SEC(10));
    ck_assert(!prep_incoming_sidecar_ready(&feed, dirfd, "a.tar.gz", t,
                                           t + SEC(14), pool));
    ck_assert(prep_incoming_sidecar_ready(&feed, dirfd, "a.tar.gz", t,
                                          t + SEC(15), pool));
    /* PrepVerify signature looks for NAME.sig, not NAME.sha256 */
    feed.verify = PREP_VERIFY_SIGNATURE;
    ck_assert(!prep_incoming_sidecar_ready(&feed, dirfd, "a.tar.gz", t,
                                           t + SEC(15), pool));
    /* a link or a FIFO is not waited for: the package is refused at once */
    ck_assert_int_eq(symlinkat("/etc/hostname", dirfd, "a.tar.gz.sig"), 0);
    ck_assert(prep_incoming_sidecar_ready(&feed, dirfd, "a.tar.gz", t,
                                          t + SETTLE, pool));
    ck_assert_int_eq(unlinkat(dirfd, "a.tar.gz.sig", 0), 0);
    ck_assert_int_eq(mkfifoat(dirfd, "a.tar.gz.sig", 0644), 0);
    ck_assert(prep_incoming_sidecar_ready(&feed, dirfd, "a.tar.gz", t,
                                          t + SETTLE, pool));
    close(dirfd);
}
END_TEST

START_TEST(a_crash_is_tried_once_more_then_set_aside)
{
    prep_crash_memory_t m = {NULL, {0, 0, 0, 0, 0}};
    prep_file_identity_t id = identity_at(T0, 1000);
    prep_file_identity_t other = identity_at(T0 + SEC(1), 1000);

    ck_assert_int_eq(prep_incoming_crashed(&m, "a.tar.gz", &id),
                     PREP_CRASH_TRY_AGAIN);
    ck_assert_int_eq(prep_incoming_crashed(&m, "a.tar.gz", &id),
                     PREP_CRASH_SET_ASIDE);
    ck_assert_ptr_null(m.name); /* forgotten once set aside */
    ck_assert_int_eq(prep_incoming_crashed(&m, "a.tar.gz", &id),
                     PREP_CRASH_TRY_AGAIN);
    /* another package, or another upload under the name, in between: each
     * gets its own second chance */
    ck_assert_int_eq(prep_incoming_crashed(&m, "b.tar.gz", &id),
                     PREP_CRASH_TRY_AGAIN);
    ck_assert_int_eq(prep_incoming_crashed(&m, "b.tar.gz", &other),
                     PREP_CRASH_TRY_AGAIN);
    ck_assert_int_eq(prep_incoming_crashed(&m, "b.tar.gz", &other),
                     PREP_CRASH_SET_ASIDE);
}
END_TEST

START_TEST(a_crash_says_how_the_loader_ended)
{
    ck_assert_str_eq(prep_incoming_crash_message(11, pool),
                     "the loader died of signal 11");
    ck_assert_str_eq(prep_incoming_crash_message(70 << 8, pool),
                     "the loader exited with status 70");
}
END_TEST

START_TEST(a_loader_tells_its_outcome_by_its_exit_status)
{
    static const prep_load_outcome_e all[] = {
        PREP_LOAD_PUBLISHED, PREP_LOAD_SAME, PREP_LOAD_REFUSED, PREP_LOAD_BUSY,
        PREP_LOAD_CHANGED,   PREP_LOAD_HELD, PREP_LOAD_RETAINED};
    size_t i, j;

    for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        int status = prep_load_exit_status(all[i]);

        ck_assert_int_eq(prep_load_outcome_of(status), all[i]);
        for (j = 0; j < i; j++) {
            ck_assert_int_ne(status, prep_load_exit_status(all[j]));
        }
    }
    ck_assert_int_eq(prep_load_exit_status(PREP_LOAD_PUBLISHED), 0);
    ck_assert_int_eq(prep_load_exit_status(PREP_LOAD_BUSY), 75);
    /* a retained corte is no crash, whatever the intake does with it */
    ck_assert_int_eq(prep_load_exit_status(PREP_LOAD_RETAINED), 5);
    ck_assert_int_ne(prep_load_outcome_of(5), PREP_LOAD_CRASHED);
    /* what no loader exits with: it died */
    ck_assert_int_eq(prep_load_outcome_of(70), PREP_LOAD_CRASHED);
    ck_assert_int_eq(prep_load_outcome_of(139), PREP_LOAD_CRASHED);
}
END_TEST

START_TEST(the_intake_refuses_with_a_reason_into_the_store)
{
    const char *rejected = apr_pstrcat(pool, feed.store, "/rejected", NULL);
    prep_verdict_t v = {"crash", "the loader died of signal 11"};
    prep_file_identity_t id;
    json_t *state, *item;
    char reason[128];
    FILE *f;
    int dirfd;

    put("a.tar.gz", "package", apr_time_now());
    put("a.tar.gz.sha256", "0000", apr_time_now());
    dirfd = open(feed.incoming, O_RDONLY | O_DIRECTORY);
    ck_assert_int_eq(prep_incoming_classify(dirfd, "a.tar.gz", &id),
                     PREP_INCOMING_PACKAGE);
    close(dirfd);
    ck_assert_int_eq(
        prep_incoming_reject(&feed, -1, "a.tar.gz", NULL, &id, &v, pool),
        APR_SUCCESS);
    ck_assert(!exists(apr_pstrcat(pool, feed.incoming, "/a.tar.gz", NULL)));
    ck_assert(exists(apr_pstrcat(pool, rejected, "/a.tar.gz", NULL)));
    ck_assert(exists(apr_pstrcat(pool, rejected, "/a.tar.gz.sha256", NULL)));
    f = fopen(apr_pstrcat(pool, rejected, "/a.tar.gz.reason", NULL), "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_nonnull(fgets(reason, sizeof(reason), f));
    fclose(f);
    ck_assert_str_eq(reason, "crash: the loader died of signal 11\n");
    state = prep_store_read_state(feed.store, pool);
    item = json_array_get(json_object_get(state, "rejected"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(item, "package")),
                     "a.tar.gz");
    ck_assert_str_eq(json_string_value(json_object_get(item, "reason")),
                     "crash");
    json_decref(state);
    /* an upload that replaced it meanwhile is left for its own turn */
    put("b.tar.gz", "package", apr_time_now());
    id.ino++;
    ck_assert_int_eq(
        prep_incoming_reject(&feed, -1, "b.tar.gz", NULL, &id, &v, pool),
        APR_EMISMATCH);
    ck_assert(exists(apr_pstrcat(pool, feed.incoming, "/b.tar.gz", NULL)));
}
END_TEST

/* Every line of the feed's journal, oldest first, into the array baton. */
static apr_status_t keep_journal_line(void *baton, json_t *line)
{
    json_array_append((json_t *)baton, line);
    return APR_SUCCESS;
}

/* The one path that refuses a package for good journals it, as a drill's
 * when the feed runs one; a journal that cannot be written never keeps the
 * package from being set aside. */
START_TEST(a_refusal_is_journaled_with_its_package_and_reason)
{
    prep_verdict_t v = {"timeout", "the load ran longer than 5 min"};
    prep_control_t control;
    prep_file_identity_t id;
    apr_status_t journaled = APR_EGENERAL;
    json_t *lines = json_array(), *line;
    int dirfd;

    put("a \x01.tar.gz", "package", apr_time_now());
    dirfd = open(feed.incoming, O_RDONLY | O_DIRECTORY);
    ck_assert_int_eq(prep_incoming_classify(dirfd, "a \x01.tar.gz", &id),
                     PREP_INCOMING_PACKAGE);
    close(dirfd);
    ck_assert_int_eq(prep_incoming_reject_journaled(&feed, -1, "a \x01.tar.gz",
                                                    NULL, &id, &v, &journaled,
                                                    pool),
                     APR_SUCCESS);
    ck_assert_int_eq(journaled, APR_SUCCESS);
    /* in a drill */
    prep_control_default(&control);
    control.drill = 1;
    ck_assert_int_eq(prep_control_write(feed.store, &control, pool),
                     APR_SUCCESS);
    put("b.tar.gz", "package", apr_time_now());
    dirfd = open(feed.incoming, O_RDONLY | O_DIRECTORY);
    ck_assert_int_eq(prep_incoming_classify(dirfd, "b.tar.gz", &id),
                     PREP_INCOMING_PACKAGE);
    close(dirfd);
    ck_assert_int_eq(
        prep_incoming_reject(&feed, -1, "b.tar.gz", NULL, &id, &v, pool),
        APR_SUCCESS);
    ck_assert_int_eq(
        prep_journal_each(feed.store, 0, keep_journal_line, lines, NULL, pool),
        APR_SUCCESS);
    ck_assert_uint_eq(json_array_size(lines), 2);
    line = json_array_get(lines, 0);
    ck_assert_str_eq(json_string_value(json_object_get(line, "event")),
                     "refused");
    ck_assert_str_eq(json_string_value(json_object_get(line, "feed")), "qro");
    ck_assert_str_eq(json_string_value(json_object_get(line, "package")),
                     "a \\x01.tar.gz");
    ck_assert_str_eq(json_string_value(json_object_get(line, "reason")),
                     "timeout");
    ck_assert_str_eq(json_string_value(json_object_get(line, "message")),
                     "the load ran longer than 5 min");
    ck_assert_ptr_null(json_object_get(line, "drill"));
    line = json_array_get(lines, 1);
    ck_assert_str_eq(json_string_value(json_object_get(line, "package")),
                     "b.tar.gz");
    ck_assert(json_is_true(json_object_get(line, "drill")));
    json_decref(lines);
    /* no journal can be written: set aside all the same, the error told */
    ck_assert_int_eq(system(apr_psprintf(pool,
                                         "rm -f '%s/journal.jsonl' && "
                                         "mkdir '%s/journal.jsonl'",
                                         feed.store, feed.store)),
                     0);
    put("c.tar.gz", "package", apr_time_now());
    dirfd = open(feed.incoming, O_RDONLY | O_DIRECTORY);
    ck_assert_int_eq(prep_incoming_classify(dirfd, "c.tar.gz", &id),
                     PREP_INCOMING_PACKAGE);
    close(dirfd);
    ck_assert_int_eq(prep_incoming_reject_journaled(&feed, -1, "c.tar.gz", NULL,
                                                    &id, &v, &journaled, pool),
                     APR_SUCCESS);
    ck_assert_int_ne(journaled, APR_SUCCESS);
    ck_assert(exists(apr_pstrcat(pool, feed.store,
                                 "/" PREP_REJECTED_DIR "/c.tar.gz", NULL)));
}
END_TEST

/* An lstat result of a file of owner uid, group gid and mode. */
static struct stat stat_of(mode_t type, mode_t mode, uid_t uid, gid_t gid)
{
    struct stat st;

    memset(&st, 0, sizeof(st));
    st.st_mode = type | mode;
    st.st_uid = uid;
    st.st_gid = gid;
    return st;
}

/* The decision over a name in incoming, from its lstat result, for a
 * loader account of uid 1001, group 1001, also in group 2002 (the
 * institute's, as in the account layout of docs/operations.md). */
START_TEST(a_file_the_loader_cannot_read_is_unreadable_by_its_mode)
{
    static const apr_gid_t groups[] = {2002};
    const prep_reader_t loader = {1001, 1001, groups, 1};
    const prep_reader_t root_reader = {0, 0, NULL, 0};
    struct stat st;

    /* another account's upload, 0600: only its owner reads it */
    st = stat_of(S_IFREG, 0600, 3003, 2002);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &loader),
                     PREP_INCOMING_UNREADABLE);
    /* 0644, or 0640 in a group of the loader's */
    st = stat_of(S_IFREG, 0644, 3003, 2002);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &loader),
                     PREP_INCOMING_PACKAGE);
    st = stat_of(S_IFREG, 0640, 3003, 2002);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &loader),
                     PREP_INCOMING_PACKAGE);
    st = stat_of(S_IFREG, 0640, 3003, 1001);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &loader),
                     PREP_INCOMING_PACKAGE);
    /* 0640 in a group the loader is not in */
    st = stat_of(S_IFREG, 0640, 3003, 4004);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &loader),
                     PREP_INCOMING_UNREADABLE);
    /* the owner's bits are the owner's, even when others may read */
    st = stat_of(S_IFREG, 0044, 1001, 1001);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &loader),
                     PREP_INCOMING_UNREADABLE);
    st = stat_of(S_IFREG, 0400, 1001, 1001);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &loader),
                     PREP_INCOMING_PACKAGE);
    /* so are the group's */
    st = stat_of(S_IFREG, 0604, 3003, 2002);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &loader),
                     PREP_INCOMING_UNREADABLE);
    /* root reads everything */
    st = stat_of(S_IFREG, 0000, 3003, 2002);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &root_reader),
                     PREP_INCOMING_PACKAGE);
    /* an upload in progress is one whatever its mode */
    st = stat_of(S_IFREG, 0600, 3003, 2002);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz.part", &st, &loader),
                     PREP_INCOMING_IN_PROGRESS);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz.filepart", &st, &loader),
                     PREP_INCOMING_IN_PROGRESS);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz.sha256", &st, &loader),
                     PREP_INCOMING_IN_PROGRESS);
    /* links, FIFOs, directories and the rest are what they are, whatever
     * their mode */
    st = stat_of(S_IFLNK, 0777, 3003, 2002);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &loader),
                     PREP_INCOMING_LINK);
    st = stat_of(S_IFIFO, 0600, 3003, 2002);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &loader),
                     PREP_INCOMING_FIFO);
    st = stat_of(S_IFDIR, 0700, 3003, 2002);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &loader),
                     PREP_INCOMING_DIRECTORY);
    st = stat_of(S_IFSOCK, 0600, 3003, 2002);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &loader),
                     PREP_INCOMING_SPECIAL);
    st = stat_of(S_IFCHR, 0600, 3003, 2002);
    ck_assert_int_eq(prep_incoming_kind_of("a.tar.gz", &st, &loader),
                     PREP_INCOMING_SPECIAL);
    ck_assert_str_eq(prep_incoming_kind_text(PREP_INCOMING_UNREADABLE),
                     "not readable by the loader account");
}
END_TEST

/* The refusal says what is wrong and how to fix it: the mode, the owner,
 * the account that must read it, and the three ways. */
START_TEST(the_unreadable_verdict_tells_the_mode_the_reader_and_the_fix)
{
    struct stat st = stat_of(S_IFREG, 0600, 0, 0);
    prep_verdict_t v = {NULL, NULL};

    prep_incoming_unreadable_verdict(&v, &st, "prep", pool);
    ck_assert_str_eq(v.reason, "unreadable");
    ck_assert_ptr_nonnull(
        strstr(v.message, "the loader account prep cannot read the package"));
    ck_assert_ptr_nonnull(strstr(v.message, "mode 0600"));
    ck_assert_ptr_nonnull(strstr(v.message, "owner root, group root"));
    ck_assert_ptr_nonnull(
        strstr(v.message, "readable by prep, with mode 0644"));
    ck_assert_ptr_nonnull(strstr(v.message, "chmod 0644"));
    ck_assert_ptr_nonnull(strstr(v.message, "internal-sftp -u 0022"));
    ck_assert_ptr_nonnull(strstr(v.message, "-m 0644"));
    /* an owner without a name is told by its number */
    st = stat_of(S_IFREG, 0640, 4000111, 4000222);
    prep_incoming_unreadable_verdict(&v, &st, "prep", pool);
    ck_assert_ptr_nonnull(strstr(v.message, "mode 0640"));
    ck_assert_ptr_nonnull(strstr(v.message, "owner 4000111, group 4000222"));
}
END_TEST

/* An unreadable upload is renamed as it is, not copied: a link, a FIFO or
 * a directory renamed over its name between the check and the rename is
 * put back, never left in the store. */
START_TEST(
    an_unreadable_upload_swapped_before_its_rename_stays_out_of_the_store)
{
    const char *rejected = apr_pstrcat(pool, feed.store, "/rejected", NULL);
    const char *const swaps[] = {"link", "fifo", "dir"};
    struct stat st, back;
    int dirfd, to_fd;
    size_t i;

    ck_assert_int_eq(mkdir(rejected, 0755), 0);
    dirfd = open(feed.incoming, O_RDONLY | O_DIRECTORY);
    to_fd = open(rejected, O_RDONLY | O_DIRECTORY);
    ck_assert_int_ge(dirfd, 0);
    ck_assert_int_ge(to_fd, 0);

    /* the file checked is the file moved */
    put("x.tar.gz", "package", T0);
    ck_assert_int_eq(fstatat(dirfd, "x.tar.gz", &st, AT_SYMLINK_NOFOLLOW), 0);
    ck_assert_int_eq(prep_incoming_move_unread(dirfd, "x.tar.gz", &st, to_fd),
                     APR_SUCCESS);
    ck_assert(exists(apr_pstrcat(pool, rejected, "/x.tar.gz", NULL)));
    ck_assert(!exists(apr_pstrcat(pool, feed.incoming, "/x.tar.gz", NULL)));

    for (i = 0; i < sizeof(swaps) / sizeof(swaps[0]); i++) {
        const char *name = apr_pstrcat(pool, swaps[i], ".tar.gz", NULL);

        put(name, "package", T0);
        ck_assert_int_eq(fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW), 0);
        /* the uploader's swap, after the check */
        ck_assert_int_eq(unlinkat(dirfd, name, 0), 0);
        if (i == 0) {
            ck_assert_int_eq(symlinkat("/etc/passwd", dirfd, name), 0);
        } else if (i == 1) {
            ck_assert_int_eq(mkfifoat(dirfd, name, 0644), 0);
        } else {
            ck_assert_int_eq(mkdirat(dirfd, name, 0777), 0);
        }
        ck_assert_int_eq(prep_incoming_move_unread(dirfd, name, &st, to_fd),
                         APR_EMISMATCH);
        ck_assert_msg(fstatat(to_fd, name, &back, AT_SYMLINK_NOFOLLOW) != 0,
                      "a %s swapped in is in the store", swaps[i]);
        ck_assert_int_eq(fstatat(dirfd, name, &back, AT_SYMLINK_NOFOLLOW), 0);
        ck_assert(i == 0   ? S_ISLNK(back.st_mode)
                  : i == 1 ? S_ISFIFO(back.st_mode)
                           : S_ISDIR(back.st_mode));
    }
    close(to_fd);
    close(dirfd);
}
END_TEST

/* What prep_incoming_refuse_unreadable must do, run as the loader account
 * (an account that cannot read a.tar.gz); 0 when all held, else the number
 * of the check that failed (the test may run it in a child process). */
static int refuse_unreadable_checks(void)
{
    const char *rejected = apr_pstrcat(pool, feed.store, "/rejected", NULL);
    prep_file_identity_t id, other;
    prep_verdict_t v = {NULL, NULL};
    json_t *state, *item, *lines = json_array(), *line;
    char reason[512];
    FILE *f;
    int dirfd = open(feed.incoming, O_RDONLY | O_DIRECTORY);
    int bad = 0;

    if (dirfd < 0) {
        return 1;
    }
    if (prep_incoming_classify(dirfd, "a.tar.gz", &id) !=
        PREP_INCOMING_UNREADABLE) {
        return 2;
    }
    /* another file under the name now: left for its own turn */
    other = id;
    other.ino++;
    if (prep_incoming_refuse_unreadable(&feed, dirfd, "a.tar.gz", &other, &v,
                                        pool) != APR_EMISMATCH ||
        !exists(apr_pstrcat(pool, feed.incoming, "/a.tar.gz", NULL))) {
        return 3;
    }
    /* a file the loader can read is a package, never refused here */
    if (prep_incoming_classify(dirfd, "b.tar.gz", &other) !=
            PREP_INCOMING_PACKAGE ||
        prep_incoming_refuse_unreadable(&feed, dirfd, "b.tar.gz", &other, &v,
                                        pool) != APR_EMISMATCH ||
        !exists(apr_pstrcat(pool, feed.incoming, "/b.tar.gz", NULL))) {
        return 4;
    }
    if (prep_incoming_refuse_unreadable(&feed, dirfd, "a.tar.gz", &id, &v,
                                        pool) != APR_SUCCESS ||
        strcmp(v.reason, "unreadable") || !strstr(v.message, "mode 0600")) {
        return 5;
    }
    close(dirfd);
    /* moved, as it is, with its sidecar, and its reason beside it */
    if (exists(apr_pstrcat(pool, feed.incoming, "/a.tar.gz", NULL)) ||
        !exists(apr_pstrcat(pool, rejected, "/a.tar.gz", NULL)) ||
        !exists(apr_pstrcat(pool, rejected, "/a.tar.gz.sha256", NULL))) {
        return 6;
    }
    f = fopen(apr_pstrcat(pool, rejected, "/a.tar.gz.reason", NULL), "r");
    if (!f || !fgets(reason, sizeof(reason), f) ||
        strncmp(reason, "unreadable: the loader account ", 31)) {
        return 7;
    }
    fclose(f);
    /* in the status's recent refusals */
    state = prep_store_read_state(feed.store, pool);
    item = json_array_get(json_object_get(state, "rejected"), 0);
    if (strcmp(json_string_value(json_object_get(item, "package")),
               "a.tar.gz") ||
        strcmp(json_string_value(json_object_get(item, "reason")),
               "unreadable")) {
        bad = 8;
    }
    json_decref(state);
    /* and journaled as refused */
    if (!bad && prep_journal_each(feed.store, 0, keep_journal_line, lines, NULL,
                                  pool) != APR_SUCCESS) {
        bad = 9;
    }
    line = json_array_get(lines, json_array_size(lines) - 1);
    if (!bad &&
        (!line ||
         strcmp(json_string_value(json_object_get(line, "event")), "refused") ||
         strcmp(json_string_value(json_object_get(line, "reason")),
                "unreadable"))) {
        bad = 10;
    }
    json_decref(lines);
    return bad;
}

/* For real: a.tar.gz, 0600, is another account's (root's, when this runs
 * as root: the checks then run as nobody, to whom incoming and the store
 * belong, as they belong to the loader account); the loader account
 * cannot read it, yet, owning incoming, it may rename it. */
START_TEST(a_settled_unreadable_upload_is_refused_into_the_store)
{
    const char *a = apr_pstrcat(pool, feed.incoming, "/a.tar.gz", NULL);
    int status;
    pid_t pid;

    put("a.tar.gz", "package", apr_time_now() - SEC(60));
    put("a.tar.gz.sha256", "0000", apr_time_now() - SEC(60));
    put("b.tar.gz", "package", apr_time_now() - SEC(60));
    ck_assert_int_eq(chmod(a, 0600), 0);
    if (geteuid() != 0) {
        ck_assert_int_eq(chmod(a, 0000), 0); /* even its owner's bits */
        ck_assert_int_eq(refuse_unreadable_checks(), 0);
        return;
    }
    ck_assert_int_eq(chmod(root, 0755), 0);
    ck_assert_int_eq(chown(feed.incoming, 65534, 65534), 0);
    ck_assert_int_eq(chmod(feed.incoming, 01770), 0);
    ck_assert_int_eq(chown(feed.store, 65534, 65534), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
            setuid(65534) != 0) {
            _exit(99);
        }
        _exit(refuse_unreadable_checks());
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    /* as it was sent: root's, 0600, never read */
    {
        struct stat st;

        ck_assert_int_eq(
            lstat(apr_pstrcat(pool, feed.store, "/rejected/a.tar.gz", NULL),
                  &st),
            0);
        ck_assert_uint_eq(st.st_uid, 0);
        ck_assert_uint_eq(st.st_mode & 07777, 0600);
    }
}
END_TEST

START_TEST(a_package_that_grows_while_read_has_changed)
{
    const char *path = apr_pstrcat(pool, feed.incoming, "/a.tar.gz", NULL);
    prep_file_identity_t id;
    apr_file_t *package;
    FILE *f;
    int dirfd;

    put("a.tar.gz", "package", apr_time_now() - SEC(60));
    dirfd = open(feed.incoming, O_RDONLY | O_DIRECTORY);
    ck_assert_int_eq(
        prep_incoming_open(&package, &id, dirfd, "a.tar.gz", NULL, pool),
        APR_SUCCESS);
    close(dirfd);
    ck_assert(prep_incoming_unchanged(package, &id));
    f = fopen(path, "a");
    ck_assert_ptr_nonnull(f);
    fputs(" and more", f);
    fclose(f);
    ck_assert(!prep_incoming_unchanged(package, &id));
}
END_TEST

Suite *suite_incoming(void)
{
    Suite *s = suite_create("incoming");
    TCase *tc = tcase_create("decisions");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_package_settles_after_two_polls_and_the_settle_time);
    tcase_add_test(tc, another_identity_under_the_name_starts_afresh);
    tcase_add_test(tc, a_package_read_is_not_read_again_until_it_changes);
    tcase_add_test(tc, busy_and_crashed_loads_are_tried_again);
    tcase_add_test(tc, the_end_of_a_load_of_another_file_changes_nothing);
    tcase_add_test(tc, a_held_package_is_read_once_more_after_its_hold);
    tcase_add_test(tc, only_a_recent_upload_written_under_its_name_is_held);
    tcase_add_test(tc, a_package_renamed_in_settles_at_once);
    tcase_add_test(
        tc, a_package_closed_settles_after_the_settle_time_from_the_close);
    tcase_add_test(tc, a_write_after_the_close_starts_the_wait_again);
    tcase_add_test(tc, the_newest_package_is_read_first_then_by_name);
    tcase_add_test(tc, the_sidecar_is_waited_for);
    tcase_add_test(tc, a_crash_is_tried_once_more_then_set_aside);
    tcase_add_test(tc, a_crash_says_how_the_loader_ended);
    tcase_add_test(tc, a_loader_tells_its_outcome_by_its_exit_status);
    tcase_add_test(tc, a_refusal_is_journaled_with_its_package_and_reason);
    tcase_add_test(tc, the_intake_refuses_with_a_reason_into_the_store);
    tcase_add_test(tc, a_package_that_grows_while_read_has_changed);
    tcase_add_test(tc, a_file_the_loader_cannot_read_is_unreadable_by_its_mode);
    tcase_add_test(
        tc, the_unreadable_verdict_tells_the_mode_the_reader_and_the_fix);
    tcase_add_test(tc, a_settled_unreadable_upload_is_refused_into_the_store);
    tcase_add_test(
        tc,
        an_unreadable_upload_swapped_before_its_rename_stays_out_of_the_store);
    suite_add_tcase(s, tc);
    return s;
}

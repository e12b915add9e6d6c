/* test_log.c - the logger's file handling: reopening after a rotation, a reopen
 * that fails (the path cannot be opened) keeps the old file and says so, and the
 * log is 0600 whatever the umask (an older 0644 one is made private). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tr_log.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/tr-test-log.XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[256];
    tr_log_close();
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.moved'", dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The whole of a (small) file, NUL-terminated, into buf. */
static const char *slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_reopen_after_rotation(void **state)
{
    (void)state;
    char path[128], rotated[128], buf[4096];
    snprintf(path, sizeof path, "%s/a.log", dir);
    snprintf(rotated, sizeof rotated, "%s/a.log.1", dir);
    assert_int_equal(tr_log_open("test", TR_LOG_INFO, path), 0);
    tr_log_info("before");
    assert_int_equal(rename(path, rotated), 0);
    assert_int_equal(tr_log_reopen(), 0);
    tr_log_info("after");
    assert_non_null(strstr(slurp(rotated, buf, sizeof buf), "before"));
    assert_null(strstr(buf, "after"));
    slurp(path, buf, sizeof buf);
    assert_non_null(strstr(buf, "INFO test["));
    assert_non_null(strstr(buf, "log reopened: "));
    assert_non_null(strstr(buf, "after"));
}

static void test_failed_reopen_keeps_the_old_file(void **state)
{
    (void)state;
    char path[128], moved_dir[80], moved[160], buf[4096];
    snprintf(path, sizeof path, "%s/d/a.log", dir);
    snprintf(moved_dir, sizeof moved_dir, "%s.moved", dir);
    snprintf(buf, sizeof buf, "%s/d", dir);
    assert_int_equal(mkdir(buf, 0700), 0);
    assert_int_equal(tr_log_open("test", TR_LOG_INFO, path), 0);
    tr_log_info("before");
    /* The log's directory goes away: the path cannot be opened any more. */
    assert_int_equal(rename(dir, moved_dir), 0);
    errno = 0;
    assert_int_equal(tr_log_reopen(), -1);
    assert_int_equal(errno, ENOENT);
    tr_log_info("after");
    snprintf(moved, sizeof moved, "%s/d/a.log", moved_dir);
    slurp(moved, buf, sizeof buf);
    assert_non_null(strstr(buf, "before"));
    assert_non_null(strstr(buf, "ERROR test["));
    assert_non_null(strstr(buf, "cannot reopen the log "));
    assert_non_null(strstr(buf, strerror(ENOENT)));
    assert_null(strstr(buf, "log reopened"));
    assert_non_null(strstr(buf, "after")); /* still the log */
    assert_int_equal(rename(moved_dir, dir), 0);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_log_is_private(void **state)
{
    (void)state;
    char fresh[128], old[128];
    snprintf(fresh, sizeof fresh, "%s/fresh.log", dir);
    snprintf(old, sizeof old, "%s/old.log", dir);
    mode_t saved = umask(022);
    FILE *f = fopen(old, "w"); /* 0644 under umask 022, as an older version left it */
    assert_non_null(f);
    fclose(f);
    assert_int_equal(mode_of(old), 0644);
    assert_int_equal(tr_log_open("test", TR_LOG_INFO, fresh), 0);
    assert_int_equal(mode_of(fresh), 0600);
    tr_log_close();
    assert_int_equal(tr_log_open("test", TR_LOG_INFO, old), 0);
    assert_int_equal(mode_of(old), 0600);
    umask(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reopen_after_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_reopen_keeps_the_old_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_is_private, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

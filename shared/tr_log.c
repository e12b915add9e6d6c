#define _GNU_SOURCE /* dup3 */
#include "tr_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tr_clock.h"

/* Process-wide logger configuration (the one kind of global we keep). */
static struct {
    char program[64];
    char path[4096];
    tr_log_level level;
    int fd;  /* 2 (stderr) when no file is open */
    int pid; /* taken at tr_log_open (after any fork): getpid() is a syscall per line */
} tr_logger = {"timerush", "", TR_LOG_INFO, 2, 0};

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR"};

int tr_log_level_parse(const char *name, tr_log_level *out)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (tr_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(name, "WARN") == 0) {
        *out = TR_LOG_WARNING;
        return 0;
    }
    return -1;
}

/* Opens `path` for appending and makes it the log, closing the file it replaces.
 * Returns 0, or -1 with errno; then the log stays where it was. */
static int switch_to(const char *path)
{
    /* The log may name timers and destinations: 0600 whatever the umask, and an
     * older regular file left group- or world-readable is made private too. */
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 ||
        (S_ISREG(st.st_mode) && (st.st_mode & 077) != 0 && fchmod(fd, st.st_mode & 0700) != 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (tr_logger.fd == 2) {
        tr_logger.fd = fd;
        return 0;
    }
    /* A reopen: the new file takes the old one's descriptor number in one step, so
     * another thread writing a line at that moment writes into one file or the
     * other, never into a closed (or reused) descriptor. */
    int rc = dup3(fd, tr_logger.fd, O_CLOEXEC);
    int e = errno;
    close(fd);
    errno = e;
    return rc < 0 ? -1 : 0;
}

int tr_log_open(const char *program, tr_log_level level, const char *path)
{
    snprintf(tr_logger.program, sizeof tr_logger.program, "%s", program ? program : "timerush");
    tr_logger.level = level;
    tr_logger.pid = (int)getpid();
    tr_logger.path[0] = '\0';
    if (path == NULL || path[0] == '\0')
        return 0;
    if (strlen(path) >= sizeof tr_logger.path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (switch_to(path) != 0)
        return -1;
    snprintf(tr_logger.path, sizeof tr_logger.path, "%s", path);
    return 0;
}

int tr_log_reopen(void)
{
    if (tr_logger.path[0] == '\0')
        return 0;
    if (switch_to(tr_logger.path) != 0) {
        int e = errno;
        tr_log_error("cannot reopen the log %s: %s; still writing to the old file",
                     tr_logger.path, strerror(e));
        errno = e;
        return -1;
    }
    tr_log_info("log reopened: %s", tr_logger.path);
    return 0;
}

void tr_log_close(void)
{
    if (tr_logger.fd != 2)
        close(tr_logger.fd);
    tr_logger.fd = 2;
}

int tr_log_enabled(tr_log_level level)
{
    return level >= tr_logger.level;
}

/* The "YYYY-MM-DDTHH:MM:SS" of the last second logged: formatting the date once a
 * second instead of once a line matters at thousands of lines per second. One per
 * thread (timerush-fcgi's request threads log concurrently). */
static _Thread_local struct {
    time_t secs;
    char text[64]; /* room for any int the compiler imagines; 19 bytes used */
} tr_log_stamp = {-1, ""};

static const char *second_text(time_t secs)
{
    if (secs != tr_log_stamp.secs) {
        struct tm tm;
        gmtime_r(&secs, &tm);
        snprintf(tr_log_stamp.text, sizeof tr_log_stamp.text, "%04d-%02d-%02dT%02d:%02d:%02d",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        tr_log_stamp.secs = secs;
    }
    return tr_log_stamp.text;
}

/* printf-like on (fmt, ap): lets -Wformat-nonliteral check the callers' formats. */
__attribute__((format(printf, 2, 0))) static void log_line(tr_log_level level, const char *fmt,
                                                          va_list ap)
{
    char line[4096];
    int64_t now_ms = tr_clock_wall_ms();
    int n = snprintf(line, sizeof line, "%s.%03dZ %s %s[%d] ", second_text((time_t)(now_ms / 1000)),
                     (int)(now_ms % 1000), level_names[level], tr_logger.program,
                     tr_logger.pid ? tr_logger.pid : (int)getpid());
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len >= sizeof line - 1) {
        /* Long lines are cut, and say so, rather than dropped. */
        static const char cut[] = "...[cut]";
        len = sizeof line - 1 - (sizeof cut - 1) - 1;
        memcpy(line + len, cut, sizeof cut - 1);
        len += sizeof cut - 1;
    }
    line[len++] = '\n';
    /* One write keeps lines from different processes whole; a failed log write
     * has nowhere better to be reported, so it is dropped. */
    ssize_t w = write(tr_logger.fd, line, len);
    (void)w;
}

#define TR_LOG_FN(name, lvl)                                                                   \
    void name(const char *fmt, ...)                                                            \
    {                                                                                          \
        if (lvl < tr_logger.level)                                                             \
            return;                                                                            \
        va_list ap;                                                                            \
        va_start(ap, fmt);                                                                     \
        log_line(lvl, fmt, ap);                                                                \
        va_end(ap);                                                                            \
    }

TR_LOG_FN(tr_log_debug, TR_LOG_DEBUG)
TR_LOG_FN(tr_log_info, TR_LOG_INFO)
TR_LOG_FN(tr_log_warning, TR_LOG_WARNING)
TR_LOG_FN(tr_log_error, TR_LOG_ERROR)

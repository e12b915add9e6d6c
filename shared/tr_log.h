/* tr_log.h - process-wide logging.
 *
 * One line per event: "2026-11-26T14:30:00.123Z INFO timerush-scheduler[123] text".
 * Each line is one write(2) to a file opened with O_APPEND, so several processes
 * (the spawn-fcgi children) can share one log file without interleaving.
 * Lines about a timer start with "key=<key>" so `grep <key>` follows its life.
 * Never log secrets (client certificate passwords, API tokens).
 *
 * The logger is process-wide configuration: tr_log_open() once at start,
 * tr_log_reopen() after SIGHUP (logrotate), tr_log_close() at exit.
 */
#ifndef TR_LOG_H
#define TR_LOG_H

typedef enum tr_log_level {
    TR_LOG_DEBUG = 0,
    TR_LOG_INFO = 1,
    TR_LOG_WARNING = 2,
    TR_LOG_ERROR = 3
} tr_log_level;

/* Parses "DEBUG", "INFO", "WARNING" (or "WARN"), "ERROR", any case.
 * Returns 0 and sets *out, or -1 when the name is unknown. */
int tr_log_level_parse(const char *name, tr_log_level *out);

/* Starts logging as `program` (copied) at `level` to `path` (appended), or to
 * stderr when path is NULL or empty. Call it after any fork (-d): the pid shown on
 * each line is read here. Returns 0, or -1 with errno when the file
 * cannot be opened (logging then goes to stderr). */
int tr_log_open(const char *program, tr_log_level level, const char *path);

/* Reopens the log file at the same path (after logrotate moved it) and logs the
 * outcome: "log reopened: PATH" (INFO) in the new file, or, when the path cannot be
 * opened, "cannot reopen the log PATH: <errno text>; still writing to the old file"
 * (ERROR) in the old one, which stays the log. Returns 0, or -1 with errno. Callers
 * log nothing more. */
int tr_log_reopen(void);

void tr_log_close(void);

/* Nonzero when a line at `level` would be written: check before costly formatting. */
int tr_log_enabled(tr_log_level level);

void tr_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tr_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tr_log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tr_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

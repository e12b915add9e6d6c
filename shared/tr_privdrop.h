/* tr_privdrop.h - --user: giving up root once a program is set up, as nginx does.
 *
 * Neither program needs root: started as root (by an init system, or ./timerush
 * run as root) they switch to --user's uid, primary gid and supplementary groups
 * for good, after opening their log and before any thread, Redis connection or
 * delivery. Called once, from main; not thread-safe (getpwnam).
 */
#ifndef TR_PRIVDROP_H
#define TR_PRIVDROP_H

#include <stddef.h>

/* What tr_privdrop_apply() did. */
typedef enum tr_privdrop_result {
    TR_PRIVDROP_FAILED = -1,  /* err says why; the process must exit */
    TR_PRIVDROP_NOTHING = 0,  /* not root, or --user names the user we already are */
    TR_PRIVDROP_DROPPED = 1,  /* now running as --user; root cannot be regained */
    TR_PRIVDROP_STAYED_ROOT = 2 /* root and no --user (or --user root): warn */
} tr_privdrop_result;

/* Checks --user without changing anything (for --check and before apply): `user`
 * empty is fine; else it must exist, and a process that is not root may only name
 * itself. Returns 0, or -1 with a one-line reason in err (exit 2: configuration). */
int tr_privdrop_check(const char *user, char *err, size_t errlen);

/* tr_privdrop_check(), then, when root and `user` names another user:
 * initgroups + setgid + setuid (real, effective and saved ids), each checked, then a
 * check that setuid(0) now fails. */
tr_privdrop_result tr_privdrop_apply(const char *user, char *err, size_t errlen);

/* tr_privdrop_apply() with its outcome in the log (tr_log must be open): an error, a
 * warning when staying root, a line when dropped. Returns 0, or -1 when the process
 * must exit. */
int tr_privdrop_apply_logged(const char *user);

#endif

#define _GNU_SOURCE /* setresuid, setresgid, initgroups */
#include "tr_privdrop.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "tr_log.h"

/* The passwd entry of `user`, or NULL with err set. Valid until the next getpw* call. */
static const struct passwd *lookup(const char *user, char *err, size_t errlen)
{
    errno = 0;
    const struct passwd *pw = getpwnam(user);
    if (pw == NULL)
        snprintf(err, errlen, "--user %s: %s", user,
                 errno != 0 ? strerror(errno) : "no such user");
    return pw;
}

int tr_privdrop_check(const char *user, char *err, size_t errlen)
{
    if (user[0] == '\0')
        return 0;
    const struct passwd *pw = lookup(user, err, errlen);
    if (pw == NULL)
        return -1;
    if (geteuid() != 0 && pw->pw_uid != geteuid()) {
        snprintf(err, errlen, "--user %s: only root can switch users (running as uid %u)", user,
                 (unsigned)geteuid());
        return -1;
    }
    return 0;
}

tr_privdrop_result tr_privdrop_apply(const char *user, char *err, size_t errlen)
{
    if (tr_privdrop_check(user, err, errlen) != 0)
        return TR_PRIVDROP_FAILED;
    if (geteuid() != 0)
        return TR_PRIVDROP_NOTHING;
    if (user[0] == '\0')
        return TR_PRIVDROP_STAYED_ROOT;
    const struct passwd *pw = lookup(user, err, errlen);
    if (pw == NULL)
        return TR_PRIVDROP_FAILED;
    if (pw->pw_uid == 0)
        return TR_PRIVDROP_STAYED_ROOT;
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    /* Groups first, then the gid, then the uid: each later step needs root. */
    if (initgroups(user, gid) != 0) {
        snprintf(err, errlen, "--user %s: initgroups: %s", user, strerror(errno));
        return TR_PRIVDROP_FAILED;
    }
    if (setresgid(gid, gid, gid) != 0) {
        snprintf(err, errlen, "--user %s: setresgid(%u): %s", user, (unsigned)gid,
                 strerror(errno));
        return TR_PRIVDROP_FAILED;
    }
    if (setresuid(uid, uid, uid) != 0) {
        snprintf(err, errlen, "--user %s: setresuid(%u): %s", user, (unsigned)uid,
                 strerror(errno));
        return TR_PRIVDROP_FAILED;
    }
    /* Fail closed if anything of root is left: a saved id would let setuid(0) work. */
    if (setuid(0) == 0 || getuid() != uid || geteuid() != uid || getgid() != gid ||
        getegid() != gid) {
        snprintf(err, errlen, "--user %s: root could be regained after the switch", user);
        return TR_PRIVDROP_FAILED;
    }
    return TR_PRIVDROP_DROPPED;
}

int tr_privdrop_apply_logged(const char *user)
{
    char err[512];
    switch (tr_privdrop_apply(user, err, sizeof err)) {
    case TR_PRIVDROP_FAILED:
        tr_log_error("%s", err);
        return -1;
    case TR_PRIVDROP_STAYED_ROOT:
        tr_log_warning("running as root: give --user to run as an unprivileged user");
        break;
    case TR_PRIVDROP_DROPPED:
        tr_log_info("running as user %s", user);
        break;
    case TR_PRIVDROP_NOTHING:
        break;
    }
    return 0;
}

#include "tr_secret_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tr_secret_file_read(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
    int rc = -1;
    size_t n = 0;
    if (len < 2) {
        snprintf(err, errlen, "%s: no room for a secret", path);
        return -1;
    }
    buf[0] = '\0';
    /* O_NONBLOCK: a fifo put in the file's place must not hang the start. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        goto done;
    }
    if ((st.st_mode & 077) != 0) {
        snprintf(err, errlen, "%s: mode %03o lets group or others read or write it (chmod 600)",
                 path, (unsigned)(st.st_mode & 0777));
        goto done;
    }
    for (;;) {
        ssize_t got = read(fd, buf + n, len - 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            goto done;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n == len - 1) {
            /* Only a newline may follow a secret of the largest size. */
            char extra[2];
            ssize_t more = read(fd, extra, sizeof extra);
            if (more < 0) {
                snprintf(err, errlen, "%s: %s", path, strerror(errno));
                goto done;
            }
            if (more > 1 || (more == 1 && extra[0] != '\n')) {
                snprintf(err, errlen, "%s: longer than %zu bytes (or more than one line)", path,
                         len - 1);
                goto done;
            }
            break;
        }
    }
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (n == 0) {
        snprintf(err, errlen, "%s: empty", path);
        goto done;
    }
    if (memchr(buf, '\0', n) != NULL || memchr(buf, '\n', n) != NULL ||
        memchr(buf, '\r', n) != NULL) {
        snprintf(err, errlen, "%s: holds more than one line (or a NUL byte)", path);
        goto done;
    }
    buf[n] = '\0';
    rc = 0;
done:
    if (rc != 0)
        memset(buf, 0, len); /* no half-read secret left behind */
    close(fd);
    return rc;
}

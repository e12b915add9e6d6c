/* tr_secret_file.h - reading a secret (a password, a token) from a private file.
 *
 * Secrets travel in files, never on argv (which every local user can read in
 * /proc/PID/cmdline). The file must be a regular file that neither its group nor
 * others may read or write (mode 0600 or 0400): a file readable by others is
 * refused rather than trusted, since the secret is then no longer one.
 */
#ifndef TR_SECRET_FILE_H
#define TR_SECRET_FILE_H

#include <stddef.h>

/* Reads the secret in `path` into buf (len bytes, NUL-terminated): the file's one
 * line, without its trailing newline ("\n" or "\r\n"). Returns 0, or -1 with a
 * one-line reason in err (which never holds the secret) when the file is missing,
 * not a regular file, readable or writable by group or others, empty, longer than
 * len - 1 bytes, or holds a NUL or a second line. buf holds nothing on failure. */
int tr_secret_file_read(const char *path, char *buf, size_t len, char *err, size_t errlen);

#endif

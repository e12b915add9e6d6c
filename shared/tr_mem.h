/* tr_mem.h - small memory and string helpers every module shares.
 */
#ifndef TR_MEM_H
#define TR_MEM_H

#include <stddef.h>
#include <stdio.h>

/* A new buffer holding the len bytes at p and a NUL after them (p need not be
 * NUL-terminated; it may be NULL when len is 0). Caller frees with free().
 * NULL when out of memory. */
char *tr_dup_bytes(const char *p, size_t len);

/* Strips spaces and tabs from both ends of s, and CR and LF from its end, in place
 * (a line as fgets gives it). Returns the first kept character, inside s. */
char *tr_str_trim(char *s);

/* The next line of f (a config or token file) that holds anything once a '#' comment
 * and the blanks at either end are cut: 1 with *out pointing to it inside buf, 0 at
 * the end of the file (or a read error: check ferror), -1 when a line does not fit in
 * cap - 1 bytes. *lineno counts every line read, so it names the line returned. */
int tr_line_next(FILE *f, char *buf, size_t cap, int *lineno, char **out);

#endif

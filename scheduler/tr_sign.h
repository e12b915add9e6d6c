/* tr_sign.h - Standard Webhooks signatures for callbacks (docs/SIGNING.md).
 *
 * A signer holds 1..TR_SIGN_KEYS_MAX HMAC-SHA256 secrets, read from a file of
 * "whsec_<base64>" lines (--signing-secret-file). Every secret signs every message,
 * so a receiver can move from the old secret to the new one without downtime.
 * The signed content is exactly "<id>.<timestamp>.<body>"; the webhook-signature
 * value is "v1,<base64 of the HMAC>" per secret, separated by one space.
 *
 * The file: one secret a line; blank lines and lines starting with '#' (after
 * spaces) are skipped; a secret is "whsec_" and standard padded base64 decoding to
 * TR_SIGN_SECRET_MIN..TR_SIGN_SECRET_MAX bytes. Anything else, no secret at all,
 * more than TR_SIGN_KEYS_MAX, a file that is not a regular file, larger than
 * TR_SIGN_FILE_MAX, or readable or writable by group or others (mode & 077) is an
 * error whose message names the line but never a secret.
 *
 * Ownership: tr_sign_load()/tr_sign_from_text() return a signer the caller frees
 * with tr_sign_free() (NULL ok), which wipes the secrets. A signer keeps one keyed
 * OpenSSL MAC context per secret and reuses them, so it is for one thread.
 */
#ifndef TR_SIGN_H
#define TR_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "tr_timer.h"

#define TR_SIGN_KEYS_MAX 8         /* secrets in one file */
#define TR_SIGN_SECRET_MIN 24      /* decoded bytes: the spec's minimum (192 bits) */
#define TR_SIGN_SECRET_MAX 64      /* decoded bytes: the spec's maximum (512 bits) */
#define TR_SIGN_FILE_MAX 65536     /* bytes of the secrets file */
#define TR_SIGN_ONE_LEN 47         /* "v1," + base64 of a 32-byte HMAC-SHA256 */
/* The webhook-signature value for every secret, NUL included. */
#define TR_SIGN_VALUE_MAX (TR_SIGN_KEYS_MAX * (TR_SIGN_ONE_LEN + 1))
/* A webhook-id made by tr_sign_id() from a key of at most TR_KEY_MAX bytes, NUL
 * included: "msg_", the key with each byte escaped at worst as %XX, two numbers of at
 * most 20 characters with their '_', and "_failure". */
#define TR_SIGN_ID_MAX (4 + 3 * TR_KEY_MAX + 2 * 21 + 8 + 1)

typedef struct tr_sign tr_sign;

/* Reads and checks the secrets file `path` (see above). A signer, or NULL with a
 * one-line reason in err (the path is named; no secret is). */
tr_sign *tr_sign_load(const char *path, char *err, size_t errlen);

/* Like tr_sign_load() on text[0..len) already read (no file checks); for tests.
 * Errors name the line as "line N". */
tr_sign *tr_sign_from_text(const char *text, size_t len, char *err, size_t errlen);

/* Wipes and frees. Takes NULL. */
void tr_sign_free(tr_sign *s);

/* Secrets held: 1..TR_SIGN_KEYS_MAX. */
int tr_sign_count(const tr_sign *s);

/* Writes the webhook-signature value for the message (id, timestamp_s, body[0..len))
 * into out[0..cap), NUL-terminated. 0, or -1 when cap is too small or OpenSSL
 * failed (out then holds ""). */
int tr_sign_value(tr_sign *s, const char *id, int64_t timestamp_s, const void *body,
                  size_t len, char *out, size_t cap);

/* Writes the webhook-id of a delivery into out[0..cap) as snprintf does and returns
 * the length it needs (>= cap: cut short). The id is "msg_<key>_<due_ms>_<attempt>"
 * ("..._failure" for the failure notice of that attempt when `notice`), where <key>
 * keeps A-Z a-z 0-9 '_' ':' '-' and writes any other byte as %XX: a timer key may
 * hold '.', which the spec keeps out of ids (it separates the signed parts), and the
 * escape keeps the id unique and a valid header value. due_ms (the firing's due time)
 * tells a recurring timer's firings and a replay apart, whose attempts start at 1
 * again. A delivery sent again under the same attempt number (released at the
 * drain deadline of a shutdown, held back by its destination) keeps both, hence
 * the id; a retry is the next attempt, so a new id. */
size_t tr_sign_id(char *out, size_t cap, const char *key, int64_t due_ms, int64_t attempt,
                  int notice);

#endif

/* tr_fcgi_io.h - moving a tr_http request/response over libfcgi. */
#ifndef TR_FCGI_IO_H
#define TR_FCGI_IO_H

#include <fcgiapp.h>
#include <stddef.h>

#include "tr_http.h"

/* Fills *req from the accepted FastCGI request fr: REQUEST_METHOD, the path
 * (DOCUMENT_URI, else SCRIPT_NAME, else REQUEST_URI without the query) and the
 * body, read fully when CONTENT_LENGTH <= max_body (absent counts as 0). A larger
 * body is drained, not kept, and req->body_ret is TR_RET_TOO_LARGE (an unreadable
 * CONTENT_LENGTH: drained, TR_RET_BAD_JSON). *body_buf gets the buffer that
 * req->body, and a path taken from REQUEST_URI, point into (caller frees it after
 * the response; NULL when nothing needed it). The input is read to its end either
 * way, so a kept-alive connection is ready for its next request once the answer is
 * written. The other strings of req live until
 * FCGX_Finish_r(fr). Returns 0, or -1 when out of memory. */
int tr_fcgi_read_request(FCGX_Request *fr, size_t max_body, tr_http_request *req,
                         char **body_buf);

/* Writes resp to fr: Status, Content-Type application/json, Content-Length, the
 * extra headers, the body. Returns 0, or -1 when the web server went away. */
int tr_fcgi_write_response(FCGX_Request *fr, const tr_http_response *resp);

#endif

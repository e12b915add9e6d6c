/* tr_rest_admin.h - /v1/pause, /v1/resume, /v1/stats, /healthz, /metrics.
 * Same contract as tr_rest_timers.h. */
#ifndef TR_REST_ADMIN_H
#define TR_REST_ADMIN_H

#include "tr_config.h"
#include "tr_http.h"
#include "tr_store.h"

int tr_rest_pause(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                  tr_http_response *resp);
int tr_rest_resume(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                   tr_http_response *resp);
int tr_rest_stats(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                  tr_http_response *resp);
/* 200 {"status":"ok"} when Redis answers PING, else 503 {"status":"unavailable"}. */
int tr_rest_healthz(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                    tr_http_response *resp);
/* Prometheus text format 0.0.4 (docs/API.md lists the series). */
int tr_rest_metrics(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                    tr_http_response *resp);

#endif

#include "tr_notifier.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_clock.h"
#include "tr_notify_http.h"
#include "tr_url.h"

typedef struct notifier {
    const tr_notifier_ops *ops; /* NULL: no notifier of this kind */
    void *impl;
    size_t wfirst, wcount;      /* its slice of the poll array in the last wait */
} notifier;

struct tr_notifiers {
    tr_deliver *dl;             /* the poller (borrowed) */
    notifier n[TR_NOTIFY_KINDS];
    struct curl_waitfd *w;      /* poll array: the loop's fds, then each notifier's */
    size_t wcap;
};

tr_notifiers *tr_notifiers_new(tr_deliver *dl)
{
    tr_notifiers *ns = calloc(1, sizeof *ns);
    if (ns == NULL)
        return NULL;
    ns->dl = dl;
    ns->n[TR_NOTIFY_HTTP].ops = &tr_notify_http_ops;
    ns->n[TR_NOTIFY_HTTP].impl = dl;
    return ns;
}

int tr_notifiers_add(tr_notifiers *ns, tr_notify_kind kind, const tr_notifier_ops *ops,
                     void *impl)
{
    if (kind <= TR_NOTIFY_HTTP || kind >= TR_NOTIFY_KINDS || ns->n[kind].ops != NULL) {
        ops->free(impl);
        return -1;
    }
    ns->n[kind].ops = ops;
    ns->n[kind].impl = impl;
    return 0;
}

tr_notify_kind tr_notifiers_kind(const char *url)
{
    if (tr_url_is_stream(url))
        return TR_NOTIFY_STREAM;
    return tr_url_is_tcp(url) ? TR_NOTIFY_TCP : TR_NOTIFY_HTTP;
}

void tr_notifiers_free(tr_notifiers *ns)
{
    if (ns == NULL)
        return;
    /* The others first: what they hold goes back to the tr_deliver's pool. */
    for (int k = TR_NOTIFY_KINDS - 1; k >= 0; k--)
        if (ns->n[k].ops != NULL)
            ns->n[k].ops->free(ns->n[k].impl);
    free(ns->w);
    free(ns);
}

int tr_notifiers_start(tr_notifiers *ns, tr_xfer *x)
{
    notifier *n = &ns->n[x->spec.url != NULL ? tr_notifiers_kind(x->spec.url) : TR_NOTIFY_HTTP];
    if (n->ops == NULL) {
        snprintf(x->errbuf, sizeof x->errbuf, "no notifier for this target");
        return -1;
    }
    return n->ops->start(n->impl, x);
}

tr_xfer *tr_notifiers_done(tr_notifiers *ns)
{
    for (int k = 0; k < TR_NOTIFY_KINDS; k++) {
        if (ns->n[k].ops == NULL)
            continue;
        tr_xfer *x = ns->n[k].ops->done(ns->n[k].impl);
        if (x != NULL)
            return x;
    }
    return NULL;
}

tr_xfer *tr_notifiers_abort_one(tr_notifiers *ns)
{
    /* The others first: their side transfers in libcurl then find nothing waiting. */
    for (int k = TR_NOTIFY_KINDS - 1; k >= 0; k--) {
        if (ns->n[k].ops == NULL)
            continue;
        tr_xfer *x = ns->n[k].ops->abort_one(ns->n[k].impl);
        if (x != NULL)
            return x;
    }
    return NULL;
}

int tr_notifiers_running(const tr_notifiers *ns)
{
    int r = 0;
    for (int k = 0; k < TR_NOTIFY_KINDS; k++)
        if (ns->n[k].ops != NULL)
            r += ns->n[k].ops->running(ns->n[k].impl);
    return r;
}

/* Room for `need` entries in the poll array. 0 or -1. */
static int wreserve(tr_notifiers *ns, size_t need)
{
    if (need <= ns->wcap)
        return 0;
    size_t cap = ns->wcap ? ns->wcap : 16;
    while (cap < need)
        cap *= 2;
    struct curl_waitfd *w = realloc(ns->w, cap * sizeof *w);
    if (w == NULL)
        return -1;
    ns->w = w;
    ns->wcap = cap;
    return 0;
}

static int perform_all(tr_notifiers *ns, int polled)
{
    int rc = 0;
    for (int k = 0; k < TR_NOTIFY_KINDS; k++) {
        notifier *n = &ns->n[k];
        if (n->ops == NULL)
            continue;
        const struct curl_waitfd *w = polled && n->wcount > 0 ? ns->w + n->wfirst : NULL;
        if (n->ops->perform(n->impl, w, w != NULL ? n->wcount : 0) != 0)
            rc = -1;
    }
    return rc;
}

int tr_notifiers_perform(tr_notifiers *ns)
{
    return perform_all(ns, 0);
}

int tr_notifiers_wait(tr_notifiers *ns, const int *fds, int *ready, unsigned n, int timeout_ms)
{
    if (n > TR_NOTIFIERS_LOOP_FDS_MAX || wreserve(ns, TR_NOTIFIERS_LOOP_FDS_MAX + 16) != 0)
        return -1;
    size_t m = 0;
    for (unsigned i = 0; i < n; i++) {
        ready[i] = 0;
        if (fds[i] >= 0)
            ns->w[m++] = (struct curl_waitfd){.fd = fds[i], .events = CURL_WAIT_POLLIN};
    }
    size_t loop_fds = m;
    int64_t now = tr_clock_mono_ms();
    for (int k = 0; k < TR_NOTIFY_KINDS; k++) {
        notifier *nt = &ns->n[k];
        nt->wfirst = m;
        nt->wcount = 0;
        if (nt->ops == NULL)
            continue;
        if (nt->ops->waitfds != NULL) {
            size_t want = nt->ops->waitfds(nt->impl, ns->w + m, ns->wcap - m);
            if (want > ns->wcap - m) {
                if (wreserve(ns, m + want) != 0)
                    return -1;
                want = nt->ops->waitfds(nt->impl, ns->w + m, ns->wcap - m);
            }
            for (size_t i = 0; i < want; i++)
                ns->w[m + i].revents = 0;
            nt->wcount = want;
            m += want;
        }
        if (nt->ops->next_ms != NULL) {
            int64_t due = nt->ops->next_ms(nt->impl);
            if (due >= 0 && due - now < timeout_ms)
                timeout_ms = due - now > 0 ? (int)(due - now) : 0;
        }
    }
    if (tr_deliver_poll(ns->dl, ns->w, (unsigned)m, timeout_ms) != 0)
        return -1;
    for (unsigned i = 0, j = 0; i < n && j < loop_fds; i++) {
        if (fds[i] < 0)
            continue;
        ready[i] = (ns->w[j].revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI)) != 0;
        j++;
    }
    return perform_all(ns, 1);
}

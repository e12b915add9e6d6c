/* ctl_hist.h - a Prometheus histogram read from /metrics text, and its quantiles.
 *
 * `top` reads timerush_delivery_lateness_seconds twice and takes the difference: the
 * deliveries of the interval between two samples. The quantile is estimated as
 * Prometheus' histogram_quantile() does: linear within the bucket it falls in.
 */
#ifndef CTL_HIST_H
#define CTL_HIST_H

#define CTL_HIST_MAX 32 /* finite buckets kept */

typedef struct ctl_hist {
    int n;                   /* finite buckets */
    double le[CTL_HIST_MAX]; /* upper bounds in seconds, ascending */
    double cum[CTL_HIST_MAX];/* observations <= le[i] (cumulative) */
    double count;            /* every observation (the +Inf bucket) */
} ctl_hist;

/* Reads histogram `name` (its NAME_bucket lines) from the text format. 0, or -1 when
 * it has no finite bucket, more than CTL_HIST_MAX, or a line that does not parse. */
int ctl_hist_parse(const char *text, const char *name, ctl_hist *out);

/* later - earlier into *out: the observations between the two samples. -1 when the
 * buckets differ or a count went down (the stats were reset). */
int ctl_hist_delta(const ctl_hist *later, const ctl_hist *earlier, ctl_hist *out);

/* The q-quantile (0 < q <= 1) in seconds into *out: 0, or -1 when h holds no
 * observation. *beyond is 1 when it falls in the +Inf bucket (then *out is the
 * highest finite bound: "more than"). */
int ctl_hist_quantile(const ctl_hist *h, double q, double *out, int *beyond);

#endif

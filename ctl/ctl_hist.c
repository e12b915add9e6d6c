/* ctl_hist.c - Prometheus histograms (ctl_hist.h). */
#include "ctl_hist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A number of the text format at s, ending at one of the bytes of `ends`. */
static int num_at(const char *s, const char *ends, double *out, const char **after)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || strchr(ends, *end) == NULL)
        return -1;
    *out = v;
    *after = end;
    return 0;
}

int ctl_hist_parse(const char *text, const char *name, ctl_hist *out)
{
    memset(out, 0, sizeof *out);
    size_t nlen = strlen(name);
    int have_inf = 0;
    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        if (strncmp(line, name, nlen) == 0 && strncmp(line + nlen, "_bucket{le=\"", 12) == 0) {
            const char *p = line + nlen + 12, *after;
            double le = 0, v = 0; /* set by num_at on each path that reads them */
            int inf = strncmp(p, "+Inf\"", 5) == 0;
            if (inf)
                after = p + 4;
            else if (num_at(p, "\"", &le, &after) != 0)
                return -1;
            if (strncmp(after, "\"} ", 3) != 0 || num_at(after + 3, "\n", &v, &after) != 0)
                return -1;
            if (inf) {
                out->count = v;
                have_inf = 1;
            } else {
                if (out->n == CTL_HIST_MAX || (out->n > 0 && le <= out->le[out->n - 1]))
                    return -1;
                out->le[out->n] = le;
                out->cum[out->n] = v;
                out->n++;
            }
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    if (out->n == 0)
        return -1;
    if (!have_inf)
        out->count = out->cum[out->n - 1];
    return 0;
}

int ctl_hist_delta(const ctl_hist *later, const ctl_hist *earlier, ctl_hist *out)
{
    if (later->n != earlier->n || later->count < earlier->count)
        return -1;
    *out = *later;
    for (int i = 0; i < later->n; i++) {
        if (later->le[i] != earlier->le[i] || later->cum[i] < earlier->cum[i])
            return -1;
        out->cum[i] = later->cum[i] - earlier->cum[i];
    }
    out->count = later->count - earlier->count;
    return 0;
}

int ctl_hist_quantile(const ctl_hist *h, double q, double *out, int *beyond)
{
    *beyond = 0;
    if (h->count <= 0 || h->n == 0)
        return -1;
    double rank = q * h->count;
    for (int i = 0; i < h->n; i++) {
        if (h->cum[i] >= rank) {
            double lo = i == 0 ? 0 : h->le[i - 1];
            double below = i == 0 ? 0 : h->cum[i - 1];
            double in = h->cum[i] - below;
            *out = in > 0 ? lo + (h->le[i] - lo) * (rank - below) / in : h->le[i];
            return 0;
        }
    }
    *out = h->le[h->n - 1];
    *beyond = 1;
    return 0;
}

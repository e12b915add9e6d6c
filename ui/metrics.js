// metrics.js - reads the Prometheus text of GET /metrics (format 0.0.4) into
// samples, and a histogram's cumulative buckets into per-bucket counts.

// parseMetrics(text): [{name, labels: {k: v}, value}], comments and blank lines skipped.
export function parseMetrics(text) {
  const out = [];
  const line = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/;
  const label = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const l of text.split('\n')) {
    if (l === '' || l[0] === '#') continue;
    const m = line.exec(l);
    if (!m) continue;
    const labels = {};
    if (m[2]) for (const lm of m[2].matchAll(label)) labels[lm[1]] = lm[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

// value(samples, name): the first sample's value, or null.
export function value(samples, name) {
  const s = samples.find((x) => x.name === name);
  return s ? s.value : null;
}

// histogram(samples, name): {bounds: [seconds..., Infinity], counts: [per bucket],
// count, sum} from NAME_bucket{le=..}, NAME_count and NAME_sum; null when absent.
export function histogram(samples, name) {
  const b = samples
    .filter((s) => s.name === name + '_bucket' && s.labels.le !== undefined)
    .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), cum: s.value }))
    .sort((x, y) => x.le - y.le);
  if (b.length === 0) return null;
  const counts = b.map((x, i) => Math.max(0, x.cum - (i > 0 ? b[i - 1].cum : 0)));
  return {
    bounds: b.map((x) => x.le),
    counts,
    count: value(samples, name + '_count') ?? b[b.length - 1].cum,
    sum: value(samples, name + '_sum') ?? 0,
  };
}

// quantile(h, q): the q-quantile (0..1) by linear interpolation inside its bucket,
// as Prometheus's histogram_quantile does; the last finite bound when it falls in
// +Inf; null without observations.
export function quantile(h, q) {
  const total = h.counts.reduce((a, c) => a + c, 0);
  if (total === 0) return null;
  const rank = q * total;
  let cum = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const next = cum + h.counts[i];
    if (next >= rank && h.counts[i] > 0) {
      const hi = h.bounds[i];
      const lo = i > 0 ? h.bounds[i - 1] : 0;
      if (hi === Infinity) return lo;
      return lo + (hi - lo) * ((rank - cum) / h.counts[i]);
    }
    cum = next;
  }
  return h.bounds[h.bounds.length - 2] ?? null;
}

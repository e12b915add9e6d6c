// chart.js - a bar chart of a histogram's buckets, drawn as SVG elements (built
// with the DOM, so nothing inline needs a Content-Security-Policy exception).

const NS = 'http://www.w3.org/2000/svg';

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// seconds as the shortest label: 0.001 -> "1ms", 2.5 -> "2.5s".
export function durationLabel(s) {
  if (s === Infinity) return '+Inf';
  if (s < 1) return +(s * 1000).toPrecision(3) + 'ms';
  return +s.toPrecision(3) + 's';
}

// drawHistogram(svg, h): replaces svg's content with one bar per bucket of h
// (metrics.js histogram()), labelled "<= bound", the count above each bar.
export function drawHistogram(svg, h) {
  const W = 640;
  const H = 200;
  const top = 18;
  const bottom = 36;
  const left = 8;
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  if (!h) {
    svg.append(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'axis' }, 'no data'));
    return;
  }
  const n = h.counts.length;
  const slot = (W - left * 2) / n;
  const max = Math.max(1, ...h.counts);
  const plotH = H - top - bottom;
  svg.append(el('line', { x1: left, y1: H - bottom, x2: W - left, y2: H - bottom, class: 'baseline' }));
  h.counts.forEach((c, i) => {
    const x = left + i * slot;
    const bh = c === 0 ? 0 : Math.max(1, (c / max) * plotH);
    const bar = el('rect', {
      x: x + slot * 0.12, y: H - bottom - bh, width: slot * 0.76, height: bh, class: 'bar',
    });
    const lo = i > 0 ? durationLabel(h.bounds[i - 1]) : '0';
    bar.append(el('title', {}, `${lo} .. ${durationLabel(h.bounds[i])}: ${c}`));
    svg.append(bar);
    svg.append(el('text', { x: x + slot / 2, y: H - bottom - bh - 4, 'text-anchor': 'middle', class: 'count' },
      c === 0 ? '' : compact(c)));
    const label = h.bounds[i] === Infinity ? '>' + durationLabel(h.bounds[i - 1]) : '≤' + durationLabel(h.bounds[i]);
    svg.append(el('text', { x: x + slot / 2, y: H - bottom + 16, 'text-anchor': 'middle', class: 'axis' }, label));
  });
}

// 1234567 -> "1.23M": bar labels stay short.
function compact(n) {
  if (n < 10000) return String(n);
  if (n < 1e6) return +(n / 1e3).toPrecision(3) + 'k';
  return +(n / 1e6).toPrecision(3) + 'M';
}

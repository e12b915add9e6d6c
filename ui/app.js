// app.js - the dashboard: counts, rates and totals (GET /v1/stats), the lateness and
// duration histograms (GET /metrics), the pending and dead lists one page at a time
// through the API's cursor (never all of them: a million pending timers cost the
// same as ten), a timer's details and its actions, pause and resume.
import { ApiError, getToken, setToken, getJson, postJson, deleteJson, request, paths } from './api.js';
import { parseMetrics, histogram, quantile } from './metrics.js';
import { drawHistogram, durationLabel } from './chart.js';

const REFRESH_MS = 5000;
const TOTALS = ['created', 'delivered', 'failed', 'retried', 'dead', 'cancelled', 'chained', 'fired'];
const EXTRA = ['replayed', 'reaped', 'released', 'held', 'stale', 'chain_refused'];

const $ = (id) => document.getElementById(id);
const fmt = new Intl.NumberFormat('en-US');

const state = {
  stats: null, // the last /v1/stats answer
  prev: null, // {t, totals} of the refresh before, for the rates
  tab: 'pending', // the list shown: pending | dead
  limit: 50,
  cursors: [null], // cursors[i]: where page i starts (null: the beginning)
  page: 0,
  next: null, // next_cursor of the page shown
  listSeq: 0, // loadList() calls so far
  selected: null, // key whose details are open
  refreshing: false,
  again: false, // refresh() was called while one ran
  timer: 0,
};

// --- messages -------------------------------------------------------------------

function say(text, bad = false) {
  const m = $('message');
  m.textContent = text;
  m.classList.toggle('bad', bad);
}

// A 401/403 gets its own banner: what is wrong and what to do. kind 'read' (the
// counts, a list) goes away when a read succeeds again; kind 'action' (pause,
// replay, ...) stays until the next action or token.
function authProblem(e, kind) {
  const box = $('auth-error');
  box.dataset.kind = kind;
  if (e.status === 401) {
    box.textContent = getToken()
      ? '401 unauthorized: the server does not accept this token. Enter a valid API token above.'
      : '401 unauthorized: this server needs an API token. Enter it above (kept in this tab only).';
  } else {
    box.textContent = `403 forbidden: this token lacks the scope for ${e.method} ${e.path.split('?')[0]} ` +
      '(read: the counts and lists; write: reschedule and cancel; admin: pause, resume, replay and dead letters).';
  }
  box.hidden = false;
  if (e.status === 401) $('token').focus();
}

// report(e, what, kind): shows a failure: an API error, or an answer that was not
// the JSON expected.
function report(e, what, kind = 'read') {
  if (!(e instanceof ApiError)) say(`${what}: ${e.message}`, true);
  else if (e.status === 401 || e.status === 403) authProblem(e, kind);
  else say(`${what}: ${e.status ? 'HTTP ' + e.status + ' ' : ''}${e.code}: ${e.message}`, true);
}

function clearAuthProblem(kind = 'read') {
  const box = $('auth-error');
  if (kind === 'all' || box.dataset.kind === kind) box.hidden = true;
}

// --- counts, totals, rates --------------------------------------------------------

function showStats(s) {
  state.stats = s;
  for (const k of ['pending', 'in_flight', 'dead']) $('n-' + k).textContent = fmt.format(s[k]);
  $('tab-pending').textContent = `Pending (${fmt.format(s.pending)})`;
  $('tab-dead').textContent = `Dead letters (${fmt.format(s.dead)})`;
  const badge = $('run-state');
  badge.textContent = s.paused ? 'paused' : 'running';
  badge.classList.toggle('paused', s.paused);
  const btn = $('pause-btn');
  btn.textContent = s.paused ? 'Resume deliveries' : 'Pause deliveries';
  btn.disabled = false;

  const now = performance.now();
  if (state.prev) {
    const dt = (now - state.prev.t) / 1000;
    for (const k of ['delivered', 'created', 'failed']) {
      const d = s.totals[k] - state.prev.totals[k];
      $('rate-' + k).textContent = dt > 0 && d >= 0 ? (d / dt).toFixed(d / dt < 10 ? 1 : 0) : '–';
    }
  }
  state.prev = { t: now, totals: s.totals };
  $('updated').textContent = 'at ' + new Date().toISOString().slice(11, 19) + ' UTC';
}

function showTotals(totals, samples) {
  const cells = TOTALS.map((k) => [k, totals[k]]);
  if (samples) {
    for (const k of EXTRA) {
      const s = samples.find((x) => x.name === `timerush_timers_${k}_total`);
      if (s) cells.push([k, s.value]);
    }
  }
  const body = $('totals').tBodies[0];
  body.replaceChildren();
  for (let i = 0; i < cells.length; i += 4) {
    const tr = body.insertRow();
    for (const [k, v] of cells.slice(i, i + 4)) {
      tr.insertCell().textContent = k;
      const td = tr.insertCell();
      td.textContent = fmt.format(v);
      td.id = 'total-' + k;
    }
  }
}

function showHistogram(name, samples, chartId, summaryId) {
  const h = samples ? histogram(samples, name) : null;
  drawHistogram($(chartId), h);
  const sum = $(summaryId);
  if (!h || h.count === 0) {
    sum.textContent = h ? 'no deliveries yet' : '';
    return;
  }
  const q = (x) => durationLabel(quantile(h, x));
  sum.textContent = `${fmt.format(h.count)} deliveries, mean ${durationLabel(h.sum / h.count)}, ` +
    `p50 ≈ ${q(0.5)}, p99 ≈ ${q(0.99)}`;
}

// refresh(): stats and metrics, side by side. /metrics may be refused (a token without
// read or metrics, --metrics-auth): the counts still show, the charts say why not.
async function refresh() {
  // One at a time; a call meanwhile (a new token, an action) runs once this one ends.
  if (state.refreshing) {
    state.again = true;
    return;
  }
  state.refreshing = true;
  state.again = false;
  try {
    const [st, mt] = await Promise.allSettled([getJson(paths.stats()), request('GET', paths.metrics())]);
    if (st.status === 'rejected') {
      report(st.reason, 'stats');
      return;
    }
    clearAuthProblem();
    showStats(st.value);
    let samples = null;
    if (mt.status === 'fulfilled') {
      samples = parseMetrics(mt.value);
    } else {
      $('lateness-summary').textContent = `(/metrics: ${mt.reason.status} ${mt.reason.code})`;
    }
    showTotals(st.value.totals, samples);
    if (samples) {
      showHistogram('timerush_delivery_lateness_seconds', samples, 'lateness-chart', 'lateness-summary');
      showHistogram('timerush_delivery_duration_seconds', samples, 'duration-chart', 'duration-summary');
    }
    updatePageInfo();
  } finally {
    state.refreshing = false;
    if (state.again) refresh();
  }
}

function schedule() {
  clearInterval(state.timer);
  state.timer = setInterval(() => {
    if (!document.hidden) refresh();
  }, REFRESH_MS);
}

// --- lists ------------------------------------------------------------------------

// Epoch ms as "2026-12-01 22:42:24.695 UTC" (list cells leave out the " UTC": the
// column's title says it).
function iso(ms, zone = ' UTC') {
  return ms == null ? '' : new Date(ms).toISOString().replace('T', ' ').replace('Z', zone);
}

function updatePageInfo() {
  const total = state.stats ? state.stats[state.tab] : null;
  const first = state.page * state.limit + 1;
  const rows = $('timer-list').tBodies[0].querySelectorAll('tr[data-key]').length;
  let text = `page ${state.page + 1}`;
  if (rows > 0) text += `, rows ${fmt.format(first)}–${fmt.format(first + rows - 1)}`;
  if (total != null) text += ` of ${fmt.format(total)}`;
  $('page-info').textContent = text;
  $('page-prev').disabled = state.page === 0;
  $('page-first').disabled = state.page === 0;
  $('page-next').disabled = !state.next;
}

async function loadList() {
  const cursor = state.cursors[state.page];
  // Only the latest call draws: quick clicks must not show an older page last.
  const seq = ++state.listSeq;
  let ans;
  try {
    ans = await getJson(paths.list(state.tab, state.limit, cursor));
  } catch (e) {
    if (seq === state.listSeq) report(e, 'list');
    return;
  }
  if (seq !== state.listSeq) return;
  clearAuthProblem();
  state.next = ans.next_cursor;
  $('when-col').textContent = state.tab === 'dead' ? 'dead since (UTC)' : 'due (UTC)';
  const body = $('timer-list').tBodies[0];
  body.replaceChildren();
  for (const t of ans.timers) {
    const tr = body.insertRow();
    tr.dataset.key = t.key;
    tr.tabIndex = 0; // Enter opens it too
    tr.classList.toggle('selected', t.key === state.selected);
    const cells = [t.key, iso(state.tab === 'dead' ? t.dead_at_ms : t.due_ms, ''), t.attempts,
      t.last_status ?? '', t.last_error ?? '', t.url];
    for (const c of cells) {
      const td = tr.insertCell();
      td.textContent = String(c);
      td.title = String(c);
    }
  }
  if (ans.timers.length === 0) {
    const td = body.insertRow().insertCell();
    td.colSpan = 6;
    td.className = 'empty';
    td.textContent = state.page === 0 ? `no ${state.tab === 'dead' ? 'dead' : 'pending'} timers` : 'no more timers';
  }
  updatePageInfo();
}

function showTab(tab) {
  state.tab = tab;
  state.cursors = [null];
  state.page = 0;
  for (const t of ['pending', 'dead']) $('tab-' + t).setAttribute('aria-selected', String(t === tab));
  return loadList();
}

// --- details and actions ------------------------------------------------------------

const FIELDS = ['key', 'state', 'url', 'data', 'due_ms', 'ttl_ms', 'attempts', 'last_status', 'last_error',
  'dead_at_ms', 'headers', 'retry', 'timeout_ms', 'failure_url', 'schedule'];

function showDetails(t) {
  state.selected = t.key;
  $('details').hidden = false;
  $('d-key').textContent = t.key;
  const dl = $('d-fields');
  dl.replaceChildren();
  for (const f of FIELDS) {
    if (!(f in t)) continue;
    let v = t[f];
    if ((f === 'due_ms' || f === 'dead_at_ms') && v != null) v = `${v} (${iso(v)})`;
    else if (v !== null && typeof v === 'object') v = JSON.stringify(v);
    const dt = document.createElement('dt');
    dt.textContent = f;
    const dd = document.createElement('dd');
    dd.textContent = v === null ? 'null' : String(v);
    dd.id = 'd-' + f;
    dl.append(dt, dd);
  }
  $('d-replay').hidden = t.state !== 'dead';
  $('d-resched').hidden = t.state !== 'pending';
  $('d-cancel').hidden = false;
  $('d-cancel').textContent = t.state === 'dead' ? 'Delete dead letter' : 'Cancel timer';
  $('d-cancel').dataset.armed = '';
  for (const tr of $('timer-list').tBodies[0].rows) tr.classList.toggle('selected', tr.dataset.key === t.key);
  $('details').scrollIntoView({ block: 'nearest' });
}

async function openDetails(key) {
  try {
    const ans = await getJson(paths.timer(key));
    showDetails(ans.timer);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      say(`${key}: gone (delivered, cancelled or replayed and delivered)`);
      $('details').hidden = true;
      return;
    }
    report(e, key);
  }
}

// act(what, fn): runs one action, then shows its outcome and reloads what it changed.
// The outcome is said last, once the page shows the new state.
async function act(what, fn) {
  clearAuthProblem('action');
  let text = null;
  let err = null;
  try {
    text = await fn();
  } catch (e) {
    err = e;
  }
  await Promise.all([refresh(), loadList()]);
  if (state.selected) await openDetails(state.selected);
  if (err) report(err, what, 'action');
  else say(text);
}

function wire() {
  $('token').value = '';
  $('token-state').textContent = getToken() ? 'token set for this tab' : 'no token';
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken($('token').value.trim());
    $('token').value = '';
    $('token-state').textContent = getToken() ? 'token set for this tab' : 'no token';
    clearAuthProblem('all');
    say('');
    state.prev = null;
    refresh();
    loadList();
  });
  $('token-forget').addEventListener('click', () => {
    setToken('');
    $('token-state').textContent = 'no token';
    say('token forgotten');
  });
  $('pause-btn').addEventListener('click', () => {
    const pausing = !(state.stats && state.stats.paused);
    act(pausing ? 'pause' : 'resume', async () => {
      const ans = await postJson(pausing ? paths.pause() : paths.resume(), undefined);
      return ans.paused ? 'deliveries paused: no timer is claimed until resume' : 'deliveries resumed';
    });
  });
  $('tab-pending').addEventListener('click', () => showTab('pending'));
  $('tab-dead').addEventListener('click', () => showTab('dead'));
  $('page-size').addEventListener('change', () => {
    state.limit = Number($('page-size').value);
    showTab(state.tab);
  });
  $('list-reload').addEventListener('click', () => loadList());
  $('page-first').addEventListener('click', () => {
    state.page = 0;
    loadList();
  });
  $('page-prev').addEventListener('click', () => {
    if (state.page > 0) state.page -= 1;
    loadList();
  });
  $('page-next').addEventListener('click', () => {
    if (!state.next) return;
    state.cursors[state.page + 1] = state.next;
    state.cursors.length = state.page + 2;
    state.page += 1;
    loadList();
  });
  $('timer-list').tBodies[0].addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr[data-key]');
    if (tr) openDetails(tr.dataset.key);
  });
  $('timer-list').tBodies[0].addEventListener('keydown', (ev) => {
    const tr = ev.target.closest('tr[data-key]');
    if (tr && ev.key === 'Enter') openDetails(tr.dataset.key);
  });
  $('d-close').addEventListener('click', () => {
    state.selected = null;
    $('details').hidden = true;
  });
  $('d-replay').addEventListener('click', () => {
    const key = state.selected;
    act('replay', async () => {
      try {
        const ans = await postJson(paths.replay(key), undefined);
        return `${key} replayed: ${ans.timer.state}, due now`;
      } catch (e) {
        // The API reads the timer for its answer after the replay: a delivery in
        // between answers 404 too (docs/DASHBOARD.md).
        if (e instanceof ApiError && e.status === 404) {
          return `${key} is not dead any more (404): replayed and already delivered, or replayed or deleted elsewhere`;
        }
        throw e;
      }
    });
  });
  $('d-reschedule').addEventListener('click', () => {
    const key = state.selected;
    const seconds = Number($('d-seconds').value);
    act('reschedule', async () => {
      const ans = await postJson(paths.reschedule(key), { seconds });
      return `${key} rescheduled: due ${iso(ans.timer.due_ms)}`;
    });
  });
  // Cancel asks twice (the second click within 5 s): it cannot be undone.
  $('d-cancel').addEventListener('click', () => {
    const b = $('d-cancel');
    const key = state.selected;
    if (b.dataset.armed !== key) {
      b.dataset.armed = key;
      b.textContent = 'Click again to confirm';
      setTimeout(() => {
        if (b.dataset.armed === key) showDetailsLabel(b);
      }, 5000);
      return;
    }
    b.dataset.armed = '';
    act('cancel', async () => {
      const ans = await deleteJson(paths.timer(key));
      state.selected = null;
      $('details').hidden = true;
      return `${key} removed (it was ${ans.state})`;
    });
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) refresh();
  });
}

function showDetailsLabel(b) {
  b.dataset.armed = '';
  b.textContent = $('d-replay').hidden ? 'Cancel timer' : 'Delete dead letter';
}

wire();
schedule();
refresh();
loadList();

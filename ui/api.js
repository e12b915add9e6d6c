// api.js - the REST API as the dashboard calls it. Every request carries the
// operator's token (kept in sessionStorage: typed once per tab, gone when the tab
// closes) as "Authorization: Bearer"; nothing else is stored. A failed call throws an
// ApiError with the HTTP status and the API's error code and message.

const TOKEN_KEY = 'timerush.token';

export class ApiError extends Error {
  constructor(status, code, message, method, path) {
    super(message);
    this.status = status; // HTTP status; 0 when no answer came
    this.code = code; // the API's error.code, or http_<status>
    this.method = method;
    this.path = path;
  }
}

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// request(method, path, body): the answer's text; body (any JSON value) is sent as
// JSON when given. Never cached: every number shown is the server's of now.
export async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', 'no answer from the server (' + e.message + ')', method, path);
  }
  const text = await res.text();
  if (!res.ok) {
    let code = 'http_' + res.status;
    let message = text.trim() || res.statusText;
    try {
      const j = JSON.parse(text);
      if (j && j.error) {
        code = j.error.code;
        message = j.error.message;
      } else if (j && j.msg) {
        message = j.msg;
      }
    } catch (e) {
      // not JSON (a proxy's page): the text as it is
    }
    throw new ApiError(res.status, code, message, method, path);
  }
  return text;
}

export async function getJson(path) {
  return JSON.parse(await request('GET', path));
}

export async function postJson(path, body) {
  return JSON.parse(await request('POST', path, body));
}

export async function deleteJson(path) {
  return JSON.parse(await request('DELETE', path));
}

// The API's paths, with keys and cursors escaped.
export const paths = {
  stats: () => '/v1/stats',
  metrics: () => '/metrics',
  list: (state, limit, cursor) => {
    const q = new URLSearchParams({ state, limit: String(limit) });
    if (cursor) q.set('cursor', cursor);
    return '/v1/timers?' + q.toString();
  },
  timer: (key) => '/v1/timers/' + encodeURIComponent(key),
  replay: (key) => '/v1/timers/' + encodeURIComponent(key) + '/replay',
  reschedule: (key) => '/v1/timers/' + encodeURIComponent(key) + '/reschedule',
  pause: () => '/v1/pause',
  resume: () => '/v1/resume',
};

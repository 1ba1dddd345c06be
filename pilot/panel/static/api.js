// api.js — talking to the πlot API from a browser: JSON calls, and SSE streams read with fetch.
//
// Why not EventSource: it cannot send an Authorization header (nor POST a chat message), so the
// streams are read with fetch() and the small SSE parser below. A stream that breaks (network
// drop, laptop sleep, proxy timeout) is reopened with `Last-Event-ID: <last id seen>`; the server
// then sends exactly the events after it, so nothing is applied twice or missed.

/** An HTTP error answer of the API: `{status_code, detail, extra?}`. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export class Api {
  /** `base`: '' for the page's own origin, or e.g. 'https://api.example.com' (CORS). */
  constructor(base = '', key = '') {
    this.base = base.replace(/\/+$/, '');
    this.key = key;
    this.onUnauthorized = () => {};
  }

  headers(extra = {}) {
    return { Authorization: `Bearer ${this.key}`, ...extra };
  }

  async request(method, path, body) {
    const headers = this.headers(body === undefined ? {} : { 'Content-Type': 'application/json' });
    const response = await fetch(this.base + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) throw this.error(response.status, data);
    return data;
  }

  get(path) { return this.request('GET', path); }
  post(path, body = {}) { return this.request('POST', path, body); }

  error(status, body) {
    if (status === 401) this.onUnauthorized();
    return new ApiError(status, body);
  }
}

// ------------------------------------------------------------------ SSE over fetch

const BLANK_LINE = /\r\n\r\n|\n\n|\r\r/;

/** One SSE message block → `{id, event, data}` (data parsed as JSON); null for comments/pings. */
export function parseBlock(block) {
  let id = null;
  let event = 'message';
  const data = [];
  for (const line of block.split(/\r\n|\n|\r/)) {
    if (!line || line.startsWith(':')) continue; // ":" lines are comments (keep-alive pings)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') id = Number(value);
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return data.length ? { id, event, data: JSON.parse(data.join('\n')) } : null;
}

/** Yield the messages of a text/event-stream body; `onBytes()` runs on every chunk (pings too). */
export async function* readSse(body, onBytes = () => {}) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      onBytes();
      buffer += value;
      let match;
      while ((match = BLANK_LINE.exec(buffer))) {
        const message = parseBlock(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
        if (message) yield message;
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

const sleep = (ms) => new Promise((resolve) => {
  // Come back early when the browser says the network is back (after a drop or a sleep).
  const done = () => { clearTimeout(timer); window.removeEventListener('online', done); resolve(); };
  const timer = setTimeout(done, ms);
  window.addEventListener('online', done);
});

/**
 * Follow one stream to its terminal event, reconnecting with Last-Event-ID until it arrives.
 *
 * - `first`: optional opening request `{method, path, body, onResponse}` (a chat message is a
 *   POST whose answer is the stream); later attempts GET `resume()` (a path, or null if the
 *   stream cannot be resumed yet).
 * - `onEvent({id, event, data})` runs once per event id, in order.
 * - `terminal`: event names that end the stream (`run.finished`, `message.finished`).
 * - `onReconnect(lastEventId)`: before each reconnect; `log` counts reconnects and duplicates.
 * - `idleMs`: no byte for this long (the server pings every 15 s) means a dead connection —
 *   what a laptop waking from sleep usually has — so it is dropped and reopened.
 */
export async function followStream(api, { first, resume, onEvent, terminal, onReconnect = () => {}, idleMs = 45000 }) {
  const log = { lastId: 0, reconnects: 0, duplicates: 0 };
  let request = first || { method: 'GET', path: resume() };
  let delay = 250;
  for (;;) {
    const controller = new AbortController();
    let watchdog = setTimeout(() => controller.abort(), idleMs);
    const alive = () => { clearTimeout(watchdog); watchdog = setTimeout(() => controller.abort(), idleMs); };
    try {
      const headers = api.headers({ Accept: 'text/event-stream' });
      if (request.body !== undefined) headers['Content-Type'] = 'application/json';
      if (log.lastId > 0) headers['Last-Event-ID'] = String(log.lastId);
      const response = await fetch(api.base + request.path, {
        method: request.method || 'GET', headers, signal: controller.signal, cache: 'no-store',
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
      });
      if (!response.ok) {
        const error = api.error(response.status, await response.json().catch(() => null));
        if (response.status < 500 && response.status !== 429) throw error; // will not get better
        throw Object.assign(error, { retry: true });
      }
      request.onResponse?.(response);
      for await (const message of readSse(response.body, alive)) {
        if (message.id !== null && message.id <= log.lastId) { log.duplicates += 1; continue; }
        if (message.id !== null) log.lastId = message.id;
        delay = 250; // data flows again: the next drop starts with a short pause
        onEvent(message);
        if (terminal.includes(message.event)) return log;
      }
      // The body ended without the terminal event (server restart, proxy cut): resume.
    } catch (error) {
      if (error instanceof ApiError && !error.retry) throw error;
    } finally {
      clearTimeout(watchdog);
    }
    const path = resume();
    if (!path) throw new Error('the stream broke before it could be resumed');
    request = { method: 'GET', path };
    log.reconnects += 1;
    onReconnect(log.lastId);
    await sleep(delay);
    delay = Math.min(delay * 2, 5000);
  }
}

// run.js — the run form (built from the input node's `fields`) and one run's live per-node state.
//
// A run is `POST /api/workflows/{id}/execute {input_data}` → 202 `{execution_id, stream_url}`,
// then the stream: run.started, node.started / node.delta / node.retry / node.fallback /
// node.waiting / node.resumed / node.finished / node.failed per node, and run.finished last.

import { ApiError, followStream } from './api.js';
import { t } from './i18n.js';

/** The input node's declared fields (`[{name, type, required, description, default}]`). */
export const inputFields = (workflow) => workflow?.nodes.find((n) => n.type === 'input')?.config?.fields || [];

// How each run event changes the drawing. Unknown events (newer servers) are ignored.
const RUN_EVENTS = {
  'node.started': (g, d) => g.setState(d.node_id, 'running', d.attempt > 1 ? t('attempt', { n: d.attempt }) : ''),
  'node.delta': (g, d) => g.appendText(d.node_id, d.text),
  'node.retry': (g, d) => g.setState(d.node_id, 'retry', `${t('attempt', { n: d.attempt })} · ${d.error}`),
  'node.fallback': (g, d) => g.setState(d.node_id, 'fallback', `${d.from_model} → ${d.to_model}`),
  'node.tool_call': (g, d) => g.setState(d.node_id, 'running', `${d.tool}()`),
  'node.waiting': (g, d) => g.setState(d.node_id, 'waiting', d.kind === 'approval' ? d.approval?.prompt || '' : d.until || ''),
  'node.resumed': (g, d) => g.setState(d.node_id, 'running'),
  'node.finished': (g, d) => g.finish(d.node_id, d.status, d.output, d.error || ''),
  'node.failed': (g, d) => g.finish(d.node_id, 'failed', undefined, d.error),
};

export class RunPanel {
  constructor({ api, graph, root }) {
    Object.assign(this, { api, graph, root, workflow: null });
    this.fields = root.querySelector('#run-fields');
    this.error = root.querySelector('#run-error');
    this.button = root.querySelector('#run-button');
    this.statusEl = root.querySelector('#run-status');
    this.outputs = root.querySelector('#run-outputs');
    root.querySelector('#run-form').addEventListener('submit', (event) => {
      event.preventDefault();
      this.start().catch((error) => { this.error.textContent = error.message; });
    });
  }

  setWorkflow(workflow) {
    this.workflow = workflow;
    this.button.disabled = !workflow;
    const previous = this.values();
    this.fields.replaceChildren(...inputFields(workflow).map((field) => this.fieldFor(field, previous[field.name])));
  }

  fieldFor(field, previous) {
    const row = document.createElement('label');
    row.className = 'field';
    const name = document.createElement('span');
    name.textContent = field.name + (field.required ? ' *' : '');
    const help = document.createElement('small');
    help.textContent = [field.type, field.description].filter(Boolean).join(' — ');
    const structured = !['string', 'number', 'integer', 'boolean'].includes(field.type);
    const input = document.createElement(field.type === 'string' || structured ? 'textarea' : 'input');
    if (field.type === 'number' || field.type === 'integer') input.type = 'number';
    if (field.type === 'number') input.step = 'any';
    if (field.type === 'boolean') input.type = 'checkbox';
    input.name = field.name;
    input.dataset.type = field.type || 'string';
    input.required = Boolean(field.required) && field.type !== 'boolean';
    const initial = previous ?? field.default;
    if (field.type === 'boolean') input.checked = Boolean(initial);
    else if (initial !== undefined && initial !== null) input.value = structured && typeof initial !== 'string' ? JSON.stringify(initial) : initial;
    if (structured) input.placeholder = field.type === 'array' ? '[…]' : '{…}';
    row.append(name, input, help);
    return row;
  }

  /** The form as raw values by field name (kept when the form is rebuilt after an edit). */
  values() {
    const out = {};
    for (const input of this.fields.querySelectorAll('[name]')) out[input.name] = input.type === 'checkbox' ? input.checked : input.value;
    return out;
  }

  /** The form as `input_data`: numbers as numbers, objects/lists parsed as JSON, blanks left out. */
  inputData() {
    const data = {};
    for (const input of this.fields.querySelectorAll('[name]')) {
      const type = input.dataset.type;
      if (type === 'boolean') { data[input.name] = input.checked; continue; }
      if (input.value.trim() === '') continue;
      if (type === 'number' || type === 'integer') data[input.name] = Number(input.value);
      else if (type === 'string') data[input.name] = input.value;
      else {
        try { data[input.name] = JSON.parse(input.value); } catch { throw new Error(t('badJson', { field: input.name })); }
      }
    }
    return data;
  }

  async start() {
    this.error.textContent = '';
    const started = await this.api.post(`/api/workflows/${this.workflow.id}/execute`, { input_data: this.inputData() });
    await this.follow(started.execution_id, started.stream_url);
  }

  /** Show a run live; its stream is followed across reconnects until run.finished. */
  async follow(executionId, streamUrl) {
    const { root, graph } = this;
    const ids = [];
    let status = 'error';
    graph.resetRun();
    Object.assign(root.dataset, { status: 'running', executionId, eventIds: '', reconnects: '0', resumedFrom: '', duplicates: '0' });
    this.statusEl.textContent = t('state.running');
    this.outputs.textContent = '';
    this.button.disabled = true;
    try {
      const log = await followStream(this.api, {
        resume: () => streamUrl,
        terminal: ['run.finished'],
        onEvent: ({ id, event, data }) => {
          ids.push(id); // the page's debug log of applied event ids (a test checks it is 1..n)
          if (event === 'run.finished') status = this.finished(data);
          else RUN_EVENTS[event]?.(graph, data);
          if (this.reconnecting && event !== 'run.finished') {
            this.reconnecting = false;
            this.statusEl.textContent = t('state.running');
          }
        },
        onReconnect: (lastId) => {
          root.dataset.reconnects = String(Number(root.dataset.reconnects) + 1);
          root.dataset.resumedFrom = [root.dataset.resumedFrom, lastId].filter(String).join(',');
          this.statusEl.textContent = t('reconnecting');
          this.reconnecting = true;
        },
      });
      root.dataset.duplicates = String(log.duplicates);
    } catch (error) {
      this.error.textContent = error instanceof ApiError ? error.message : String(error);
    } finally {
      root.dataset.eventIds = ids.join(',');
      root.dataset.status = status; // last: once it is terminal, every other attribute is final
      this.button.disabled = false;
    }
  }

  finished(data) {
    for (const [id, rec] of this.graph.nodes) if (rec.state === 'queued') this.graph.setState(id, 'notrun');
    const seconds = (data.elapsed_ms / 1000).toFixed(2);
    this.statusEl.textContent = `${t(`run.${data.status}`)} (${seconds} s)${data.error ? ` — ${data.error}` : ''}`;
    this.outputs.textContent = JSON.stringify(data.outputs ?? null, null, 2);
    return data.status;
  }
}

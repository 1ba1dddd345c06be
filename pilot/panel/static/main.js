// main.js — the panel's flow, top to bottom: the API key → a chat whose reply draws the workflow
// as it is built → the readiness list → refine by chat / undo → run with live per-node state.
//
// URL options: `?api=https://api.example.com` talks to an API on another origin (the server must
// list this page's origin in PILOT_CORS_ORIGINS); `?workflow=wf_…` opens an existing workflow.

import { Api, followStream } from './api.js';
import { Graph } from './graph.js';
import { lang, setLang, t } from './i18n.js';
import { RunPanel } from './run.js';

const $ = (selector) => document.querySelector(selector);
const KEY = 'pilot.apiKey';
const params = new URLSearchParams(location.search);
// `pilot serve` prints a link with the dev key in the fragment (never sent to a server): keep it for
// this tab, then take it out of the address bar and the history.
const handed = new URLSearchParams(location.hash.slice(1)).get('key');
if (handed) {
  sessionStorage.setItem(KEY, handed);
  history.replaceState(null, '', location.pathname + location.search);
}
const api = new Api(params.get('api') || '', sessionStorage.getItem(KEY) || '');
const graph = new Graph($('#canvas'));
const run = new RunPanel({ api, graph, root: $('#run') });
const chat = { session: null, workflow: null };

// ------------------------------------------------------------------ API key (asked once per tab)

function askKey(message = '') {
  $('#key-error').textContent = message;
  if (!$('#key-dialog').open) $('#key-dialog').showModal();
}

api.onUnauthorized = () => {
  sessionStorage.removeItem(KEY);
  askKey(t('keyRejected'));
};

$('#key-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  api.key = $('#key-input').value.trim();
  try {
    await api.get('/api/workflows?limit=1'); // checks the key
  } catch (error) {
    return askKey(error.message);
  }
  sessionStorage.setItem(KEY, api.key);
  $('#key-dialog').close();
  start().catch(showError);
});

$('#forget-key').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  askKey();
});

// ------------------------------------------------------------------ chat

/** A chat bubble; an assistant bubble fills as its reply streams. */
function bubble(role, text = '') {
  const li = document.createElement('li');
  li.className = `message ${role}`;
  const note = document.createElement('small');
  const body = document.createElement('p');
  body.textContent = text;
  li.append(note, body);
  $('#messages').append(li);
  li.scrollIntoView({ block: 'end' });
  return {
    li,
    note: (value) => { note.textContent = value; },
    append: (value) => { body.textContent += value; },
    set: (value) => { body.textContent = value; },
    error: (value) => { li.classList.add('error'); body.textContent = value; },
    options: (question, options) => {
      body.textContent = question;
      for (const option of options) {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = option.label;
        button.title = option.reason || '';
        button.addEventListener('click', () => send(option.label)); // the server matches the label
        li.append(button);
      }
    },
  };
}

const showError = (error) => bubble('assistant').error(error.message);

// How each chat event changes the page. The workflow.* events are the same edit operations a
// React Flow frontend applies to its nodes/edges state; workflow.ready is the saved result.
const CHAT_EVENTS = {
  'analysis': (d, b) => b.note([d.mode, d.intent].filter(Boolean).join(' · ')),
  'workflow.node_added': (d) => graph.addNode(d.node),
  'workflow.node_updated': (d) => graph.updateNode(d.node),
  'workflow.node_removed': (d) => graph.removeNode(d.node_id),
  'workflow.edge_added': (d) => graph.addEdge(d.edge),
  'workflow.edge_removed': (d) => graph.removeEdge(d.edge_id),
  'workflow.settings_updated': (d, b) => b.note(d.changes.join(', ')),
  'workflow.ready': (d) => showWorkflow(d.workflow, d.readiness),
  'clarification': (d, b) => b.options(d.question, d.options),
  'message.delta': (d, b) => b.append(d.text),
  'message.finished': (d, b) => {
    b.set(d.content);
    if (d.execution_id) run.follow(d.execution_id, d.stream_url); // "run it with text=…"
  },
  'error': (d, b) => b.error(d.message),
};

async function send(content) {
  bubble('user', content);
  const reply = bubble('assistant');
  $('#chat').dataset.state = 'busy';
  $('#send').disabled = true;
  try {
    chat.session ||= await api.post('/api/chat/sessions', {});
    const base = `/api/chat/sessions/${chat.session.id}/messages`;
    let messageId = null;
    await followStream(api, {
      first: { method: 'POST', path: base, body: { content }, onResponse: (r) => { messageId = r.headers.get('X-Message-Id'); } },
      resume: () => messageId && `${base}/${messageId}/stream`,
      terminal: ['message.finished'],
      onEvent: ({ event, data }) => {
        if (event === 'message.started') messageId = data.message_id;
        CHAT_EVENTS[event]?.(data, reply);
      },
    });
    await refreshUndo();
  } catch (error) {
    reply.error(error.message);
  } finally {
    $('#chat').dataset.state = 'idle';
    $('#send').disabled = false;
  }
}

$('#chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const content = $('#prompt').value.trim();
  if (!content) return;
  $('#prompt').value = '';
  send(content);
});

$('#prompt').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) $('#chat-form').requestSubmit();
});

async function refreshUndo() {
  const state = await api.get(`/api/chat/sessions/${chat.session.id}`);
  $('#undo').disabled = !state.can_undo;
}

$('#undo').addEventListener('click', async () => {
  $('#undo').disabled = true;
  try {
    const undone = await api.post(`/api/chat/sessions/${chat.session.id}/undo`);
    // The page words it from the structured answer, in the page's language.
    bubble('assistant', t('undone', { restored: undone.restored_version, version: undone.workflow.version }));
    await showWorkflow(undone.workflow);
  } catch (error) {
    bubble('assistant').error(error.message);
  }
  await refreshUndo();
});

// ------------------------------------------------------------------ workflow, readiness

async function showWorkflow(workflow, readiness) {
  chat.workflow = workflow;
  graph.sync(workflow);
  run.setWorkflow(workflow);
  $('#board').dataset.version = String(workflow.version);
  showReadiness(readiness || await api.get(`/api/workflows/${workflow.id}/readiness?lang=${lang()}`));
}

function showReadiness(report) {
  const list = $('#readiness-items');
  list.replaceChildren();
  $('#readiness').dataset.ready = String(report.ready);
  if (report.ready) {
    const li = document.createElement('li');
    li.className = 'ok';
    li.textContent = t('ready');
    list.append(li);
  }
  for (const item of report.items) {
    const li = document.createElement('li');
    li.className = `kind-${item.kind}`;
    li.dataset.kind = item.kind;
    li.textContent = item.message;
    list.append(li);
  }
}

graph.onSelect = (rec) => {
  const shown = rec.output !== undefined ? rec.output : rec.text || rec.node.config;
  $('#node-detail').textContent = `${rec.node.title || rec.node.id}\n${typeof shown === 'string' ? shown : JSON.stringify(shown, null, 2)}`;
};

// ------------------------------------------------------------------ start

async function start() {
  const workflowId = params.get('workflow');
  if (!workflowId || chat.session) return;
  chat.session = await api.post('/api/chat/sessions', { workflow_id: workflowId });
  await showWorkflow(chat.session.workflow);
}

// For poking at from the browser console (and for the browser tests): the page's live objects.
window.pilotPanel = { api, graph, run, chat };

$('#lang').value = lang();
$('#lang').addEventListener('change', (event) => setLang(event.target.value));
setLang(lang());
if (api.key) start().catch(showError);
else askKey();

// graph.js — draws a workflow as SVG at the positions the API gives, animates edits in place and
// shows each node's run state.
//
// The data maps one to one onto React Flow: `node.position` → `position` (no layout needed),
// `edge.source_handle` → `sourceHandle`, and a condition node's source handles are its case ids
// plus its `else` branch (`handlesOf` below).
//
// Rendering is batched: node.delta text and node moves only mark what changed, and one
// requestAnimationFrame paints it, so a model streaming 100 tokens a second costs at most one
// repaint per frame, not one per token.

import { t } from './i18n.js';

const SVG = 'http://www.w3.org/2000/svg';
export const NODE_W = 220;
export const NODE_H = 90;
const MOVE_MS = 350; // how long a node takes to slide to its new position
const PAD = 60;
const MIN_SCALE = 0.6; // a wide workflow scrolls rather than shrinking to unreadable text

function svg(name, attrs, parent) {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  parent?.appendChild(el);
  return el;
}

function label(parent, cls, x, y, text) {
  const el = svg('text', { class: cls, x, y }, parent);
  el.textContent = text;
  return el;
}

const wide = (ch) => /[\u2e80-\uffff]/.test(ch); // CJK and full-width: two columns

/** Shorten to about `width` columns. */
export function clip(text, width) {
  let used = 0;
  let out = '';
  for (const ch of String(text)) {
    used += wide(ch) ? 2 : 1;
    if (used > width) return out + '…';
    out += ch;
  }
  return out;
}

/** The end of `text` that fits in about `width` columns (what a streaming node shows). */
export function tail(text, width) {
  const chars = [...String(text).replace(/\s+/g, ' ')];
  let used = 0;
  let start = chars.length;
  while (start > 0 && used + (wide(chars[start - 1]) ? 2 : 1) <= width) {
    used += wide(chars[start - 1]) ? 2 : 1;
    start -= 1;
  }
  return (start > 0 ? '…' : '') + chars.slice(start).join('');
}

/** A node's source handles: a condition's case ids then its else branch; one unnamed handle otherwise. */
export function handlesOf(node) {
  if (node.type !== 'condition') return [null];
  const config = node.config || {};
  return [...(config.cases || []).map((c) => c.id), config.else || 'else'];
}

const handleY = (index, count) => (NODE_H * (index + 1)) / (count + 1);

function kindOf(node) {
  const c = node.config || {};
  const detail = c.model || c.tool || c.trigger?.kind || '';
  return detail ? `${node.type} · ${detail}` : node.type;
}

function restart(el, cls, ms = 700) {
  el.classList.remove(cls);
  void el.getBBox(); // reflow, so the CSS animation starts again
  el.classList.add(cls);
  setTimeout(() => el.classList.remove(cls), ms);
}

export class Graph {
  constructor(root) {
    this.root = root;
    this.edgeLayer = svg('g', { class: 'edges' }, root);
    this.nodeLayer = svg('g', { class: 'nodes' }, root);
    this.nodes = new Map(); // id → {node, g, x, y, move, state, text, pending, finals, …}
    this.edges = new Map(); // id → {edge, path}
    this.frame = 0;
    this.stats = { deltas: 0, paints: 0 };
    this.onSelect = () => {};
  }

  // ---------------------------------------------------------------- structure (chat events)

  addNode(node) {
    if (this.nodes.has(node.id)) return this.updateNode(node);
    const g = svg('g', { class: `node type-${node.type}`, 'data-node-id': node.id }, this.nodeLayer);
    const { x = 0, y = 0 } = node.position || {};
    const rec = { node, g, x, y, move: null, state: 'idle', detail: '', text: '', pending: '', finals: 0 };
    g.addEventListener('click', () => this.onSelect(rec));
    this.nodes.set(node.id, rec);
    this.draw(rec);
    this.place(rec);
    restart(g, 'entering');
    this.fit();
  }

  updateNode(node) {
    const rec = this.nodes.get(node.id);
    if (!rec) return this.addNode(node);
    rec.node = node;
    this.draw(rec);
    this.moveTo(rec, node.position);
    this.routeEdgesOf(new Set([node.id]));
    restart(rec.g, 'flash');
  }

  removeNode(id) {
    const rec = this.nodes.get(id);
    if (!rec) return;
    this.nodes.delete(id);
    rec.g.classList.add('leaving');
    setTimeout(() => rec.g.remove(), 300);
    for (const [edgeId, { edge }] of this.edges) if (edge.source === id || edge.target === id) this.removeEdge(edgeId);
    this.fit();
  }

  addEdge(edge) {
    this.removeEdge(edge.id, false);
    const path = svg('path', { class: 'edge', 'data-edge-id': edge.id }, this.edgeLayer);
    if (edge.source_handle) path.dataset.handle = edge.source_handle;
    const rec = { edge, path };
    this.edges.set(edge.id, rec);
    this.route(rec);
    restart(path, 'entering');
  }

  removeEdge(id, animate = true) {
    const rec = this.edges.get(id);
    if (!rec) return;
    this.edges.delete(id);
    if (!animate) return rec.path.remove();
    rec.path.classList.add('leaving');
    setTimeout(() => rec.path.remove(), 300);
  }

  /** Make the drawing match a saved workflow (`workflow.ready`, undo): add, remove, update, move. */
  sync(workflow) {
    const ids = new Set(workflow.nodes.map((n) => n.id));
    for (const id of [...this.nodes.keys()]) if (!ids.has(id)) this.removeNode(id);
    for (const node of workflow.nodes) {
      const rec = this.nodes.get(node.id);
      if (!rec) this.addNode(node);
      else if (JSON.stringify({ ...rec.node, position: 0 }) !== JSON.stringify({ ...node, position: 0 })) this.updateNode(node);
      else { rec.node = node; this.moveTo(rec, node.position); }
    }
    const edgeIds = new Set(workflow.edges.map((e) => e.id));
    for (const id of [...this.edges.keys()]) if (!edgeIds.has(id)) this.removeEdge(id);
    for (const edge of workflow.edges) {
      const rec = this.edges.get(edge.id);
      if (!rec || JSON.stringify(rec.edge) !== JSON.stringify(edge)) this.addEdge(edge);
    }
    this.fit();
  }

  // ---------------------------------------------------------------- run state (run events)

  /** A new run: every node queued, texts cleared. */
  resetRun() {
    for (const [id, rec] of this.nodes) {
      Object.assign(rec, { text: '', pending: '', finals: 0, output: undefined });
      rec.g.dataset.finals = '0';
      rec.streamEl.textContent = '';
      this.setState(id, 'queued');
    }
  }

  setState(id, state, detail = '') {
    const rec = this.nodes.get(id);
    if (!rec) return; // e.g. a node inside a loop body: not drawn at the top level
    rec.g.classList.replace(`state-${rec.state}`, `state-${state}`) || rec.g.classList.add(`state-${state}`);
    rec.state = state;
    rec.detail = detail;
    rec.g.dataset.state = state;
    rec.statusEl.textContent = clip([t(`state.${state}`), detail].filter(Boolean).join(' · '), 34);
  }

  /** Streamed text: buffered, painted at most once per frame. */
  appendText(id, text) {
    const rec = this.nodes.get(id);
    if (!rec) return;
    if (rec.state === 'running') this.setState(id, 'streaming');
    rec.pending += text;
    this.stats.deltas += 1;
    this.schedule();
  }

  /** A node's final event (`node.finished` / `node.failed`); counted, so a test can see duplicates. */
  finish(id, state, output, detail = '') {
    const rec = this.nodes.get(id);
    if (!rec) return;
    rec.finals += 1;
    rec.g.dataset.finals = String(rec.finals);
    rec.output = output;
    this.setState(id, state, detail);
  }

  // ---------------------------------------------------------------- drawing

  draw(rec) {
    const { node, g } = rec;
    g.replaceChildren();
    svg('rect', { class: 'box', width: NODE_W, height: NODE_H, rx: 10 }, g);
    label(g, 'title', 12, 24, clip(node.title || node.id, 28));
    label(g, 'kind', 12, 42, clip(kindOf(node), 34));
    rec.statusEl = label(g, 'status', 12, 62, '');
    rec.streamEl = label(g, 'stream', 12, 80, tail(rec.text, 33));
    if (node.type !== 'input') svg('circle', { class: 'handle in', cx: 0, cy: NODE_H / 2, r: 5 }, g);
    if (node.type !== 'output') {
      const handles = handlesOf(node);
      handles.forEach((handle, i) => {
        const y = handleY(i, handles.length);
        svg('circle', { class: 'handle out', cx: NODE_W, cy: y, r: 5, 'data-handle': handle ?? '' }, g);
        if (handle) label(g, 'handle-label', NODE_W + 9, y - 5, clip(handle, 14));
      });
    }
    const cases = (node.config?.cases || []).map((c) => `${c.id}: ${c.when}`);
    svg('title', {}, g).textContent = [node.title || node.id, node.description, ...cases].filter(Boolean).join('\n');
    if (rec.state !== 'idle') this.setState(node.id, rec.state, rec.detail);
  }

  place(rec) {
    rec.g.setAttribute('transform', `translate(${rec.x},${rec.y})`);
  }

  moveTo(rec, position = {}) {
    const { x = 0, y = 0 } = position;
    if (x === rec.x && y === rec.y && !rec.move) return;
    rec.move = { fromX: rec.x, fromY: rec.y, x, y, start: performance.now() };
    this.schedule();
  }

  route({ edge, path }) {
    const from = this.nodes.get(edge.source);
    const to = this.nodes.get(edge.target);
    if (!from || !to) return path.setAttribute('d', '');
    const handles = handlesOf(from.node);
    const index = Math.max(0, handles.indexOf(edge.source_handle ?? null));
    const x1 = from.x + NODE_W;
    const y1 = from.y + handleY(index, handles.length);
    const x2 = to.x;
    const y2 = to.y + NODE_H / 2;
    const bend = Math.max(40, Math.abs(x2 - x1) / 2);
    path.setAttribute('d', `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`);
  }

  routeEdgesOf(ids) {
    for (const rec of this.edges.values()) if (ids.has(rec.edge.source) || ids.has(rec.edge.target)) this.route(rec);
  }

  /** The viewBox around every node's destination (plus room for handle labels). */
  fit() {
    const recs = [...this.nodes.values()];
    if (!recs.length) return this.root.removeAttribute('viewBox');
    const xs = recs.map((r) => r.move?.x ?? r.x);
    const ys = recs.map((r) => r.move?.y ?? r.y);
    const x = Math.min(...xs) - PAD;
    const y = Math.min(...ys) - PAD;
    const width = Math.max(...xs) + NODE_W + 2 * PAD - x;
    const height = Math.max(...ys) + NODE_H + 2 * PAD - y;
    this.root.setAttribute('viewBox', `${x} ${y} ${width} ${height}`);
    this.root.style.minWidth = `${width * MIN_SCALE}px`;
    this.root.style.minHeight = `${height * MIN_SCALE}px`;
  }

  schedule() {
    if (!this.frame) this.frame = requestAnimationFrame((now) => this.paint(now));
  }

  paint(now) {
    this.frame = 0;
    const moved = new Set();
    for (const [id, rec] of this.nodes) {
      if (rec.move) {
        const k = Math.min(1, (now - rec.move.start) / MOVE_MS);
        const ease = 1 - (1 - k) ** 3;
        rec.x = rec.move.fromX + (rec.move.x - rec.move.fromX) * ease;
        rec.y = rec.move.fromY + (rec.move.y - rec.move.fromY) * ease;
        if (k === 1) rec.move = null;
        this.place(rec);
        moved.add(id);
      }
      if (rec.pending) {
        rec.text = (rec.text + rec.pending).slice(-4000);
        rec.pending = '';
        rec.streamEl.textContent = tail(rec.text, 33);
        this.stats.paints += 1;
      }
    }
    if (moved.size) this.routeEdgesOf(moved);
    if ([...this.nodes.values()].some((r) => r.move)) this.schedule();
  }
}

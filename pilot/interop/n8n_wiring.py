"""The connections of an n8n workflow, read for πlot: roles of the nodes, bypassed nodes, loop
bodies and levels, edges with their branch handles, and output nodes for the sinks."""

from __future__ import annotations

from collections import defaultdict, deque
from typing import TYPE_CHECKING, Any

from pilot.interop.n8n_triggers import is_trigger
from pilot.interop.textparts import Untranslatable

if TYPE_CHECKING:
    from pilot.interop.n8n_import import N8nImport, Src

STICKY = "n8n-nodes-base.stickyNote"
BYPASS = frozenset({"n8n-nodes-base.noOp", "n8n-nodes-base.merge"})
LOOP = "n8n-nodes-base.splitInBatches"
MAX_LOOP_ITEMS = 10_000


class Wiring:
    """Connections between the nodes of one import (names are n8n node names)."""

    def __init__(self, importer: N8nImport) -> None:
        self.imp = importer
        self.links: list[tuple[str, str, str, int]] = []  # (source, target, connection type, output index)
        connections = importer.doc.get("connections") if isinstance(importer.doc.get("connections"), dict) else {}
        for source, by_type in connections.items():
            if source not in importer.srcs or not isinstance(by_type, dict):
                continue
            for kind, outputs in by_type.items():
                for index, targets in enumerate(outputs if isinstance(outputs, list) else []):
                    for target in targets if isinstance(targets, list) else []:
                        if isinstance(target, dict) and target.get("node") in importer.srcs:
                            self.links.append((source, target["node"], str(kind), index))
        self.inn: dict[str, list[tuple[str, int]]] = defaultdict(list)  # effective main inputs (bypass resolved)
        self.out: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.raw_inn: dict[str, list[str]] = defaultdict(list)
        self.body: dict[str, set[str]] = {}

    # ------------------------------------------------------------ roles

    def classify(self) -> None:
        b, srcs = self.imp.b, self.imp.srcs
        main = [(s, t, o) for s, t, k, o in self.links if k == "main"]
        has_main_out = {s for s, _t, _o in main}
        for source, target, kind, _o in self.links:
            if kind.startswith("ai_") and source not in has_main_out:
                srcs[source].role = "sub"
                srcs[target].subs[kind].append(srcs[source])
        for src in srcs.values():
            if src.type == STICKY:
                src.role = "annotation"
                b.annotations += 1
                content = str(src.params.get("content", "")).strip().replace("\n", " ")
                b.item("annotation", f"sticky note not imported: {content[:160]}" if content else "empty sticky note not imported")
            elif src.role == "sub":
                continue
            elif is_trigger(src.type):
                src.role = "trigger"
            elif src.type in BYPASS or src.raw.get("disabled"):
                src.role = "bypass"
            elif src.type == LOOP:
                src.role = "loop"
        live = [n for n, s in srcs.items() if s.role not in ("annotation", "sub")]  # file order: the output is deterministic
        live_set = set(live)
        self.raw_in: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for s, t, o in main:
            if s in live_set and t in live_set:
                self.raw_in[t].append((s, o))
                self.raw_inn[t].append(s)
        for name in live:
            if srcs[name].role != "bypass":
                for source, index in self._effective_inputs(name, set()):
                    self._link(source, name, index)
        self._assign_ids()
        self._loops()

    def _link(self, source: str, target: str, index: int) -> None:
        if (source, index) not in self.inn[target]:
            self.inn[target].append((source, index))
            self.out[source].append((target, index))

    def _effective_inputs(self, name: str, seen: set[str]) -> list[tuple[str, int]]:
        """Main inputs of ``name``, looking through bypassed nodes to their own inputs."""
        out: list[tuple[str, int]] = []
        for source, index in self.raw_in[name]:
            if self.imp.srcs[source].role != "bypass":
                out.append((source, index))
            elif source not in seen:
                seen.add(source)
                out += self._effective_inputs(source, seen)
        return out

    def _assign_ids(self) -> None:
        b, srcs = self.imp.b, self.imp.srcs
        triggers = [s for s in srcs.values() if s.role == "trigger"]
        primary = next((t for t in triggers if not t.type.endswith("errorTrigger")), triggers[0] if triggers else None)
        if primary is not None:
            primary.pid = b.new_id(primary.name, "start", prefer=primary.exported_id)
        for src in srcs.values():
            if src.role == "bypass":
                b.status(src.name, "folded")
                reason = ("disabled in the source: it passes its input through" if src.raw.get("disabled") else
                          "πlot steps wait for all their live inputs, so a merge is the join itself" if src.type.endswith("merge")
                          else "a no-op: its inputs connect straight to what follows")
                b.item("folded", f"'{src.name}' left out: {reason}", source=src.name, source_type=src.type)
                if src.type.endswith("merge") and src.params.get("mode") not in (None, "append", "chooseBranch", "passThrough", "wait"):
                    b.item("parameter", f"'{src.name}' combined its inputs ({src.params.get('mode')}); the next steps read each "
                           "input's fields directly", source=src.name, source_type=src.type)
            elif src.role in ("node", "loop"):
                src.pid = b.new_id(src.name, src.type.rsplit(".", 1)[-1].lower() or "step", prefer=src.exported_id)

    # ------------------------------------------------------------ loops

    def _reach(self, starts: list[str], stop: str) -> set[str]:
        seen: set[str] = set()
        queue = deque(s for s in starts if s != stop)
        while queue:
            name = queue.popleft()
            if name in seen or self.imp.srcs[name].role == "trigger":
                continue
            seen.add(name)
            queue.extend(t for t, _i in self.out[name] if t != stop)
        return seen

    def _loops(self) -> None:
        loops = [s for s in self.imp.srcs.values() if s.role == "loop"]
        for loop in loops:
            targets = self.out[loop.name]
            if loop.version >= 3:
                body = self._reach([t for t, i in targets if i == 1], loop.name) - self._reach([t for t, i in targets if i == 0], loop.name)
            else:  # one output: the body is what comes back to the loop
                back = self._reach_back(loop.name)
                body = self._reach([t for t, _i in targets], loop.name) & back
            self.body[loop.name] = body
        for src in self.imp.srcs.values():
            around = [loop for loop in loops if src.name in self.body[loop.name]]
            if around:
                src.level = min(around, key=lambda loop: len(self.body[loop.name])).name

    def _reach_back(self, name: str) -> set[str]:
        seen: set[str] = set()
        queue = deque(s for s, _i in self.inn[name])
        while queue:
            current = queue.popleft()
            if current in seen or current == name:
                continue
            seen.add(current)
            queue.extend(s for s, _i in self.inn[current])
        return seen

    def inside(self, viewer: Src, loop: Src) -> bool:
        level = viewer.level
        while level is not None:
            if level == loop.name:
                return True
            level = self.imp.srcs[level].level
        return False

    def inputs(self, name: str) -> list[str]:
        """Main inputs of a node (bypassed nodes resolved; a loop's own back edges left out)."""
        src = self.imp.srcs[name]
        if src.role == "bypass":
            return list(dict.fromkeys(s for s in self.raw_inn[name]))
        body = self.body.get(name, set())
        return list(dict.fromkeys(s for s, _i in self.inn[name] if s not in body))

    def loop_config(self, src: Src) -> dict[str, Any]:
        from pilot.interop.n8n_nodes import NoMapping
        from pilot.interop.textparts import marker

        if not self.body.get(src.name):
            raise NoMapping("nothing is connected to the loop output")
        try:
            items = self.imp.item_ref(src, [])
        except Untranslatable as exc:
            items = marker("n8n", "$input.all()").jinja
            self.imp.b.item("expression", f"the items of the loop are not translated: {exc}", node_id=src.pid,
                            source=src.name, source_type=src.type, field="items")
        batch = src.params.get("batchSize", 10 if src.version >= 3 else 10)
        concurrency = batch if isinstance(batch, int) and 1 <= batch <= 64 else 4
        self.imp.lost(src, "items", f"the loop runs once per element of {items} (n8n looped over the incoming items; check "
                      f"that this is that list), up to {concurrency} at a time (batch size {batch})")
        return {"type": "loop", "config": {"items": items, "max_concurrency": concurrency, "max_items": MAX_LOOP_ITEMS,
                                           "body": {"nodes": [], "edges": []}}}

    # ------------------------------------------------------------ order, edges, outputs

    def order(self) -> list[Src]:
        """Mapped nodes in topological order (loop back edges ignored; cycles last, in file order)."""
        srcs = self.imp.srcs
        nodes = [s for s in srcs.values() if s.role in ("node", "loop")]
        indegree = {s.name: 0 for s in nodes}
        for s in nodes:
            for pred in self.inputs(s.name):
                if pred in indegree:
                    indegree[s.name] += 1
        queue = deque(s.name for s in nodes if indegree[s.name] == 0)
        done: list[str] = []
        while queue:
            name = queue.popleft()
            done.append(name)
            for target, _i in self.out[name]:
                if target in indegree and name in self.inputs(target):
                    indegree[target] -= 1
                    if indegree[target] == 0:
                        queue.append(target)
        done += [s.name for s in nodes if s.name not in done]
        return [srcs[n] for n in done]

    def edges(self, start_id: str) -> dict[str | None, list[dict[str, Any]]]:
        srcs, b = self.imp.srcs, self.imp.b
        levels: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
        seen: set[tuple[str, str, str | None]] = set()
        for target_name in [n for n in self.imp.srcs if n in self.inn]:
            inputs = self.inn[target_name]
            target = srcs[target_name]
            if target.role not in ("node", "loop"):
                continue
            for source_name, index in inputs:
                source = srcs[source_name]
                if target.role == "loop" and source_name in self.body.get(target_name, ()):
                    continue  # coming back to the loop: the next item
                if source.role == "loop" and target_name in self.body.get(source_name, ()):
                    continue  # the loop output: the body's entry
                level = None if source.role == "trigger" else source.level
                if level != target.level:
                    b.item("structure", f"the connection '{source_name}' → '{target_name}' crosses a loop boundary and was "
                           "left out (a loop body only sees its own steps)", node_id=target.pid, source=target_name)
                    continue
                handle = None
                if source.role == "node" and source.handles and source_name not in self.imp.failed:
                    handle = source.handles.get(index)
                    if handle is None:
                        b.item("structure", f"output {index} of '{source_name}' has no πlot branch; its connection to "
                               f"'{target_name}' was left out", node_id=source.pid, source=source_name)
                        continue
                key = (source.pid or start_id, target.pid, handle)
                if key in seen:
                    continue
                seen.add(key)
                edge = {"id": f"e{len(seen)}", "source": source.pid or start_id, "target": target.pid}
                if handle is not None:
                    edge["source_handle"] = handle
                levels[target.level].append(edge)
        return levels

    def add_outputs(self, levels: dict[str | None, list[dict[str, Any]]], edges: dict[str | None, list[dict[str, Any]]]) -> None:
        """An output node after each top-level sink (n8n's result is what its last nodes produce),
        and the final statuses of sub-nodes nobody used."""
        b = self.imp.b
        top = levels[None]
        with_out = {e["source"] for e in edges.get(None, [])}
        has_output = any(n["type"] == "output" for n in top)  # a Respond to Webhook, or a file πlot exported
        sinks = [] if has_output else [n for n in top if n["id"] not in with_out and (n["type"] != "input" or len(top) == 1)]
        for sink in sinks:
            out_id = b.new_id(f"{sink['id']}_result", "output")
            top.append({"id": out_id, "type": "output", "title": f"Result: {sink.get('title') or sink['id']}"[:200],
                        "config": {"outputs": {"result": "{{ nodes." + sink["id"] + ".output }}"} if sink["type"] != "input" else {}}})
            edges[None].append({"id": f"e_out_{out_id}", "source": sink["id"], "target": out_id})
        for src in self.imp.srcs.values():
            if src.role == "sub" and src.name not in b.statuses:
                parents = [p.name for p in self.imp.srcs.values() if any(src in subs for subs in p.subs.values())]
                b.status(src.name, "folded")
                b.item("folded", f"'{src.name}' ({src.type}) served {', '.join(parents) or 'nothing'}, which πlot does not "
                       "use it for; not imported", source=src.name, source_type=src.type)

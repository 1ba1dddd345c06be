"""The n8n community catalog (../shared/datasets/n8n_templates_cn) as a weak request → structure set.

Each template's *title* is built with :func:`pilot.generation.pipeline.build_offline`; the graph
we build and the template's n8n graph are both reduced to a :class:`Flow` (nodes labelled with a
*kind*, main-path edges, trigger kinds, named services) and compared by five figures:

1. **node-type F1**: F1 of the *sets* of functional kinds present (``KINDS``: llm, condition,
   loop, source, deliver, knowledge, transform). Triggers/outputs are left out (every workflow has
   them). ``f1_no_transform`` is the same without ``transform``: πlot has no transform/code node
   type yet, so ``transform`` (present in most n8n templates as Set/Code) is a miss we cannot help.
2. **trigger accuracy**: the kind of our input node's ``config.trigger`` (absent = ``manual``)
   is one of the template's trigger kinds. A template with several triggers accepts any of them,
   ``manual`` only when it has no other; a messaging-app trigger (Telegram, WhatsApp, Slack…: a
   lexicon service of category ``messaging``) accepts ``chat`` as well as ``app_event`` ("when a
   user messages the bot" is ``chat`` in evals/STRUCTURE.md). Templates whose triggers all have no πlot
   counterpart (sub-workflow, MCP server, error, evaluation, n8n-instance triggers) are not counted.
3. **edge F1**: F1 of the *multisets* of kind pairs ``kind(a) → kind(b)``, one per pair of
   non-glue nodes (a, b) where b follows a directly or only through glue nodes (glue = kind
   ``None``: merge, no-op, wait, output/respond nodes…, see below). ``trigger`` counts as a kind
   here (trigger → source is structure). Only n8n ``main`` connections count (``ai_*`` connections
   attach sub-nodes — models, memories, tools — to their agent; they are not steps in sequence).
   Loops: n8n closes a loop with an edge back into ``splitInBatches``; back edges (found by a DFS
   from the triggers, then from nodes nothing leads to) are dropped, so the body follows the loop node and the loop's "done" output
   follows it too. πlot's loop body is a subgraph: its entry nodes are taken to follow the loop
   node, and its inner edges count. ``edge_f1_no_transform`` treats ``transform`` as glue on both sides.
4. **unrequested side-effect rate**: share of titles where we built a ``deliver`` node whose
   service (resolved with ``lookup_service``) is not among the template's services — we deliver
   somewhere the real workflow does not. A deliver node without a named service is the generic
   ``webhook`` delivery; a template's generic HTTP-request deliver node counts as ``webhook``.
5. **service recall**: mean, over templates naming ≥ 1 resolvable service (the generic ``webhook``
   aside), of the share of those services that appear anywhere in our graph (api ``service``,
   tool, app-event trigger service).

Kinds of n8n nodes (by the type's last dotted segment, case-insensitive; ``*Tool`` variants like
the base node; sticky notes are not in the dataset):

- trigger: ``*Trigger``, ``webhook``, ``cron``, ``schedule``, ``interval``, ``emailReadImap``,
  ``start``. Trigger kind: ``scheduleTrigger``/``cron``/``schedule``/``interval`` → schedule,
  ``webhook`` → webhook, ``formTrigger`` → form, ``chatTrigger``/``manualChatTrigger`` → chat,
  ``manualTrigger``/``start`` → manual, ``emailReadImap`` and every other ``<service>Trigger`` →
  app_event (service = the part before ``Trigger``); none for ``executeWorkflowTrigger``,
  ``mcpTrigger``, ``errorTrigger``, ``evaluationTrigger``, ``n8nTrigger``.
- llm: ``agent``, ``agentTool``, ``chainLlm``, ``chainSummarization``, ``chainRetrievalQa``,
  ``openAi``, ``informationExtractor``, ``textClassifier``, ``sentimentAnalysis``, ``guardrails``,
  ``anthropic``, ``googleGemini``, ``mistralAi``, ``ollama``, ``aiTransform``, chat models ``lm*``.
- condition: ``if``, ``switch``, ``filter``.
- loop: ``splitInBatches``, ``splitOut``, ``loopOverItems``.
- knowledge: ``vectorStore*``, ``retriever*``, ``toolVectorStore``.
- transform: ``set``, ``code`` (n8n's and langchain's), ``function``, ``functionItem``,
  ``aggregate``, ``sort``, ``limit``, ``removeDuplicates``, ``summarize``, ``itemLists``,
  ``renameKeys``, ``dateTime``, ``crypto``, ``xml``, ``markdown``, ``html``, ``htmlExtract``,
  ``convertToFile``, ``extractFromFile``, ``spreadsheetFile``, ``compression``, ``compareDatasets``,
  ``jwt``, ``moveBinaryData``, ``editImage``, ``readPdf``, ``toolCode``, ``toolCalculator``.
- source: web readers with no write side — ``rssFeedRead``, ``toolSerpApi``, ``serpApi``,
  ``toolWikipedia``, ``toolSearXng``, ``toolWolframAlpha``, ``firecrawl*``, ``scrapegraphAi``,
  ``apify``, ``airtop*``, ``brightData``, ``olostepScrape``, ``webpageContentExtractor``,
  ``crawleeNode``, ``puppeteer``, ``jinaAi``, ``tavily``, ``exa``, ``perplexity``,
  ``readBinaryFile(s)``.
- source or deliver: HTTP requests (``httpRequest``, ``httpRequestTool``, ``toolHttpRequest``,
  ``graphql``), ``writeBinaryFile``/``readWriteFile`` and every other node (a service connector:
  Telegram, Gmail, Google Sheets, Postgres…). The dataset keeps no ``parameters``, so the
  operation is read from the node's *name* (n8n names nodes after their operation: "Send a
  message", "Append row in sheet", "Get many rows"): the first word of the name that is a read
  verb (get, fetch, list, search, read, download, scrape…) → source, a write verb (send, post,
  create, append, update, upsert, insert, save, upload, reply, delete, notify…) → deliver.
  A name with neither ("Telegram", "Google Sheets1"): a service the lexicon calls ``messaging``
  or ``role: destination`` → deliver, ``role: source`` → source; otherwise deliver when nothing
  follows the node on the main path (a sink) and source when something does or when it is
  attached to an agent (tools and sub-nodes have no main edges). A node whose service is an LLM
  provider (OpenAI, Gemini, DeepSeek… — HTTP requests named "Send prompt to OpenAI") → llm.
- glue (``None``, collapsed): ``merge``, ``noOp``, ``wait``, ``respondToWebhook``, langchain
  ``chat`` (respond to chat), ``form`` (a form page), ``stopAndError``, ``executeWorkflow``,
  ``toolWorkflow``, ``toolThink``, ``mcpClient(Tool)``, ``executeCommand``, ``ssh``, ``n8n``,
  ``evaluation``, ``executionData``, ``debugHelper``, ``timeSaved``, ``globalConstants``,
  ``modelSelector``, ``embeddings*``, ``memory*``, ``outputParser*``, ``textSplitter*``,
  ``document*Loader``, ``reranker*``. ``merge`` joins branches, which πlot expresses by fan-in
  edges; ``wait`` has no πlot node type yet (issue 12).

Services of an n8n node: trigger (app_event only), source and deliver nodes name one: the type's
last segment without ``Tool``/``Trigger`` (``slack``, ``gmail`` → email, ``emailSend`` → email,
``microsoftSharePoint`` → sharepoint), resolved by ``lookup_service``; for HTTP requests the
service the node's *name* mentions ("Send Slack Alert" → slack, "Google Sheets4" → google_sheets:
many templates call services through HTTP requests named after them), else ``webhook`` for a deliver.

Kinds of πlot nodes: input → trigger; llm/agent → llm; condition, loop, knowledge as such;
transform/code → transform; api GET/HEAD → source, other methods → deliver; tool → deliver
(except the ``wait`` tool: glue); output and wait → glue.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "n8n_templates_cn" / "catalog.jsonl"
KINDS = ("llm", "condition", "loop", "source", "deliver", "knowledge", "transform")
TRIGGER = "trigger"

# ---------------------------------------------------------------- n8n node → kind

_TRIGGER_KIND = {"scheduletrigger": "schedule", "cron": "schedule", "schedule": "schedule", "interval": "schedule",
                 "webhook": "webhook", "formtrigger": "form", "chattrigger": "chat", "manualchattrigger": "chat",
                 "manualtrigger": "manual", "start": "manual", "emailreadimap": "app_event"}
_NO_TRIGGER_KIND = {"executeworkflowtrigger", "mcptrigger", "errortrigger", "evaluationtrigger", "n8ntrigger",
                    "workflowtrigger"}
_LLM = {"agent", "agenttool", "chainllm", "chainsummarization", "chainretrievalqa", "openai", "informationextractor",
        "textclassifier", "sentimentanalysis", "guardrails", "anthropic", "googlegemini", "mistralai", "ollama",
        "aitransform"}
_CONDITION = {"if", "switch", "filter"}
_LOOP = {"splitinbatches", "splitout", "loopoveritems"}
_KNOWLEDGE = {"toolvectorstore"}
_TRANSFORM = {"set", "code", "function", "functionitem", "aggregate", "sort", "limit", "removeduplicates", "summarize",
              "itemlists", "renamekeys", "datetime", "crypto", "xml", "markdown", "html", "htmlextract",
              "converttofile", "extractfromfile", "spreadsheetfile", "compression", "comparedatasets", "jwt",
              "movebinarydata", "editimage", "readpdf", "toolcode", "toolcalculator"}
_SOURCE = {"rssfeedread", "toolserpapi", "serpapi", "toolwikipedia", "toolsearxng", "toolwolframalpha",
           "scrapegraphai", "apify", "brightdata", "olostepscrape", "webpagecontentextractor", "crawleenode",
           "puppeteer", "jinaai", "tavily", "exa", "perplexity", "readbinaryfile", "readbinaryfiles"}
_SOURCE_PREFIXES = ("firecrawl", "airtop")
_HTTP = {"httprequest", "toolhttprequest", "graphql"}
_GLUE = {"merge", "noop", "wait", "respondtowebhook", "chat", "form", "stopanderror", "executeworkflow", "toolworkflow",
         "toolthink", "mcpclient", "mcpclienttool", "executecommand", "ssh", "n8n", "evaluation", "executiondata",
         "debughelper", "timesaved", "globalconstants", "modelselector", "stickynote"}
_GLUE_PREFIXES = ("embeddings", "memory", "outputparser", "textsplitter", "reranker")
_SERVICE_OVERRIDES = {"emailsend": "email", "emailreadimap": "email", "mondaycom": "monday",
                      "facebookgraphapi": "facebook", "awss3": "s3"}
_VENDOR_PREFIXES = ("microsoft", "google", "aws", "amazon")
LLM_SERVICES = frozenset({"openai", "azure_openai", "anthropic", "gemini", "mistral", "cohere", "groq", "openrouter",
                          "ollama", "deepseek", "qwen", "ernie", "doubao", "kimi", "zhipu", "hunyuan", "spark"})
GENERIC = "webhook"  # the service of a delivery to a URL rather than to a named service

READ_VERBS = frozenset("""get fetch read list search find retrieve lookup look query download scrape crawl extract
    check pull load select count receive collect monitor watch browse poll import show""".split())
WRITE_VERBS = frozenset("""send post create add append update upsert insert write save store upload reply publish
    notify delete remove put log record share submit mark move copy archive respond push tweet alert forward edit
    patch close complete label tag clear reset cleanup register assign set change""".split())


def short_type(n8n_type: str) -> str:
    """``n8n-nodes-base.googleSheetsTool`` → ``googlesheetstool``."""
    return n8n_type.rsplit(".", 1)[-1].lower()


def _base(name: str) -> str:
    """The type without its ``tool`` suffix (``gmailtool`` → ``gmail``; ``tool*`` prefixed ones stay)."""
    return name[:-4] if name.endswith("tool") and len(name) > 4 and not name.startswith("tool") else name


def is_trigger_type(n8n_type: str) -> bool:
    name = short_type(n8n_type)
    return name.endswith("trigger") or name in _TRIGGER_KIND


def trigger_kinds(n8n_type: str) -> set[str]:
    """The πlot trigger kinds an n8n trigger type stands for (empty when it has no counterpart)."""
    name = short_type(n8n_type)
    if name in _TRIGGER_KIND:
        return {_TRIGGER_KIND[name]}
    if name in _NO_TRIGGER_KIND or not name.endswith("trigger"):
        return set()
    integ = _lookup(name[: -len("trigger")])
    return {"app_event", "chat"} if integ is not None and integ.category == "messaging" else {"app_event"}


def verb_of(name: str) -> str | None:
    """``"read"`` / ``"write"`` by the first verb among the words of a node name, else None."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    for word in re.findall(r"[a-z]+", spaced.lower()):
        if word in READ_VERBS:
            return "read"
        if word in WRITE_VERBS:
            return "write"
    return None


def static_kind(n8n_type: str) -> str | None:
    """The kind fixed by the type alone; ``"io"`` when it is source or deliver depending on the
    node (see the module docstring); ``None`` for glue."""
    name = short_type(n8n_type)
    base = _base(name)
    if is_trigger_type(n8n_type):
        return TRIGGER
    if name in _GLUE or base in _GLUE or name.startswith(_GLUE_PREFIXES) or (name.startswith("document") and "loader" in name):
        return None
    if name in _LLM or base in _LLM or re.match(r"^lm(chat)?[a-z]*$", name):
        return "llm"
    if name in _CONDITION:
        return "condition"
    if name in _LOOP:
        return "loop"
    if name.startswith(("vectorstore", "retriever")) or name in _KNOWLEDGE:
        return "knowledge"
    if name in _TRANSFORM or base in _TRANSFORM:
        return "transform"
    if name in _SOURCE or base in _SOURCE or name.startswith(_SOURCE_PREFIXES):
        return "source"
    return "io"


def is_http(n8n_type: str) -> bool:
    name = short_type(n8n_type)
    return name in _HTTP or _base(name) in _HTTP


# ---------------------------------------------------------------- services


def _lookup(name: str) -> Any:
    from pilot.generation.entities import lookup_service

    return lookup_service(name) if name else None


def canonical(name: str | None) -> str | None:
    """The lexicon id of a service name or alias; the lower-cased name when the lexicon has none."""
    if not name:
        return None
    integ = _lookup(name)
    return integ.id if integ is not None else re.sub(r"[\s_\-]+", "", name).lower()


def type_service(n8n_type: str) -> str | None:
    """The lexicon id an n8n service node's type names (``n8n-nodes-base.gmailTool`` → ``email``)."""
    name = _base(short_type(n8n_type))
    if name.endswith("trigger"):
        name = name[: -len("trigger")]
    if name.startswith("tool") and len(name) > 4:  # langchain's toolSerpApi, toolWikipedia
        name = name[4:]
    if name in _SERVICE_OVERRIDES:
        return _SERVICE_OVERRIDES[name]
    integ = _lookup(name)
    if integ is None:
        for prefix in _VENDOR_PREFIXES:
            if name.startswith(prefix) and len(name) > len(prefix):
                integ = _lookup(name[len(prefix):])
                break
    return integ.id if integ is not None else None


def name_service(node_name: str) -> str | None:
    """The first service a node's name mentions ("Send Slack Alert" → slack), or None."""
    from pilot.generation.entities import find_integrations
    from pilot.generation.text import normalize

    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", node_name)  # sendSlackAlert → send Slack Alert
    # n8n numbers copies ("Google Sheets4"); "S3" must stay, so the unnumbered name is the fallback.
    for candidate in (text, re.sub(r"(?<=[A-Za-z])\d+$", "", text)):
        found = [s for s in find_integrations(normalize(candidate))[0] if s != GENERIC]
        if found:
            return found[0]
    return None


# ---------------------------------------------------------------- flows


@dataclass
class Flow:
    """A workflow reduced to what the eval compares: each node's kind (``None`` = glue), main-path
    edges (loop bodies flattened, back edges dropped), trigger kinds, services."""

    kinds: dict[str, str | None] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    triggers: set[str] = field(default_factory=set)
    trigger_primary: str | None = None
    services: set[str] = field(default_factory=set)
    deliveries: list[str | None] = field(default_factory=list)  # the service of each deliver node

    def kind_set(self, glue: Iterable[str] = ()) -> set[str]:
        drop = set(glue)
        return {k for k in self.kinds.values() if k in KINDS and k not in drop}

    def pairs(self, glue: Iterable[str] = ()) -> Counter:
        """Multiset of ``(kind(a), kind(b))`` over non-glue a → b, walking through glue nodes."""
        drop = set(glue)
        live = {n for n, k in self.kinds.items() if k is not None and k not in drop}
        succ: dict[str, list[str]] = defaultdict(list)
        for a, b in self.edges:
            succ[a].append(b)
        out: Counter = Counter()
        for a in live:
            seen, stack, hits = {a}, list(succ[a]), set()
            while stack:
                b = stack.pop()
                if b in seen:
                    continue
                seen.add(b)
                if b in live:
                    hits.add(b)
                else:
                    stack.extend(succ[b])
            for b in hits:
                out[(self.kinds[a], self.kinds[b])] += 1
        return out


def _drop_back_edges(names: list[str], edges: list[tuple[str, str]], roots: list[str]) -> list[tuple[str, str]]:
    """The edges that do not close a cycle, by an iterative DFS from ``roots``, then from nodes
    nothing leads to (the dataset misses some edges: a graph may start past its trigger), then
    from every other node."""
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        succ[a].append(b)
    targets = {b for _, b in edges}
    state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = done
    back: set[tuple[str, str]] = set()
    for root in [*roots, *(n for n in names if n not in targets), *names]:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    return [e for e in edges if e not in back]


def n8n_flow(nodes: list[dict], edges: list[dict]) -> Flow:
    """A template's flow from its ``nodes`` ``[{name, type}]`` and ``edges``
    ``[{source, target, conn_type, ...}]`` (the dataset's shape)."""
    flow = Flow()
    types = {n["name"]: n["type"] for n in nodes}
    main = [(e["source"], e["target"]) for e in edges
            if e.get("conn_type", "main") == "main" and e["source"] in types and e["target"] in types]
    has_out = {a for a, _ in main}
    attached = {e["source"] for e in edges if e.get("conn_type", "main") != "main"}  # agent tools, models…
    roots = [n for n, t in types.items() if is_trigger_type(t)]
    flow.edges = _drop_back_edges(list(types), list(dict.fromkeys(main)), roots)
    for name, ntype in types.items():
        kind = static_kind(ntype)
        service: str | None = None
        if kind == TRIGGER:
            kinds = trigger_kinds(ntype)
            flow.triggers |= kinds
            if kinds and (flow.trigger_primary is None or flow.trigger_primary == "manual"):
                flow.trigger_primary = sorted(kinds)[0]
            if "app_event" in kinds:
                service = type_service(ntype)
        elif kind in ("io", "source"):
            http = is_http(ntype)
            service = name_service(name) if http else type_service(ntype)
            if service in LLM_SERVICES:  # "Send prompt to OpenAI" over HTTP is a model call
                kind, service = "llm", None
            elif kind == "io":
                kind = _io_kind(name, service, sink=name not in has_out and name not in attached)
            if http and service is None and kind == "deliver":
                service = GENERIC
        flow.kinds[name] = kind
        if service:
            flow.services.add(service)
        if kind == "deliver":
            flow.deliveries.append(service)
    if len(flow.triggers) > 1:
        flow.triggers.discard("manual")
    return flow


def _io_kind(name: str, service: str | None, *, sink: bool) -> str:
    verb = verb_of(name)
    if verb:
        return "source" if verb == "read" else "deliver"
    integ = _lookup(service) if service else None
    if integ is not None and (integ.kind == "messaging" or integ.role == "destination"):
        return "deliver"
    if integ is not None and integ.role == "source":
        return "source"
    return "deliver" if sink else "source"


def graph_flow(graph: Any) -> Flow:
    """Our :class:`~pilot.workflows.model.WorkflowGraph` as a flow (loop bodies flattened)."""
    from pilot.workflows.model import node_type

    flow = Flow()

    def add(sub: Any, loop_id: str | None) -> None:
        inner = [(e.source, e.target) for e in sub.edges]
        flow.edges += inner
        if loop_id is not None:
            targets = {b for _, b in inner}
            flow.edges += [(loop_id, n.id) for n in sub.nodes if n.id not in targets]
        for node in sub.nodes:
            ntype = node_type(node)
            kind, service = _our_kind(node, ntype)
            flow.kinds[node.id] = kind
            if ntype == "input":
                flow.trigger_primary = _trigger_kind(node.config.trigger)
                flow.triggers = {flow.trigger_primary}
            if service:
                flow.services.add(service)
            if kind == "deliver":
                flow.deliveries.append(service or GENERIC)
            if ntype == "loop":
                add(node.config.body, node.id)

    add(graph, None)
    return flow


def _trigger_kind(trigger: Any) -> str:
    """The tag of an input node's trigger (``manual`` when absent)."""
    return trigger.__struct_config__.tag if trigger is not None else "manual"


def _our_kind(node: Any, ntype: str) -> tuple[str | None, str | None]:
    config = node.config
    if ntype == "input":
        app = _trigger_kind(config.trigger) == "app_event"
        return TRIGGER, canonical(config.trigger.service) if app else None
    if ntype == "api":
        kind = "source" if config.method in ("GET", "HEAD") else "deliver"
        return kind, canonical(config.service)
    if ntype == "tool":
        if config.tool == "wait":
            return None, None
        extra = config.arguments.get("service") if config.tool == "webhook" else None
        return "deliver", canonical(extra if isinstance(extra, str) and extra else config.tool)
    return {"llm": "llm", "agent": "llm", "condition": "condition", "loop": "loop", "knowledge": "knowledge",
            "transform": "transform", "code": "transform"}.get(ntype), None


# ---------------------------------------------------------------- comparing


def f1(predicted: set[str], expected: set[str]) -> float:
    if not predicted and not expected:
        return 1.0
    if not predicted or not expected:
        return 0.0
    tp = len(predicted & expected)
    if tp == 0:
        return 0.0
    p, r = tp / len(predicted), tp / len(expected)
    return 2 * p * r / (p + r)


def multiset_f1(predicted: Counter, expected: Counter) -> float:
    """F1 of two multisets (1.0 when both are empty)."""
    n_p, n_e = sum(predicted.values()), sum(expected.values())
    if not n_p and not n_e:
        return 1.0
    tp = sum((predicted & expected).values())
    return 2 * tp / (n_p + n_e) if tp else 0.0


def unrequested(ours: Flow, theirs: Flow) -> list[str]:
    """Services we deliver to that the template names nowhere."""
    return [s for s in ours.deliveries if s not in theirs.services]


def service_recall(ours: Flow, theirs: Flow) -> float | None:
    """Share of the template's named services (not the generic ``webhook``) that our graph names;
    None when it names none."""
    named = theirs.services - {GENERIC}
    if not named:
        return None
    return len(named & ours.services) / len(named)


def compare(ours: Flow, theirs: Flow) -> dict[str, Any]:
    """Every per-template figure of one (our flow, template flow) pair."""
    trig = (ours.trigger_primary in theirs.triggers) if theirs.triggers else None
    extra = unrequested(ours, theirs)
    return {"f1": f1(ours.kind_set(), theirs.kind_set()),
            "f1_no_transform": f1(ours.kind_set(["transform"]), theirs.kind_set(["transform"])),
            "edge_f1": multiset_f1(ours.pairs(), theirs.pairs()),
            "edge_f1_no_transform": multiset_f1(ours.pairs(["transform"]), theirs.pairs(["transform"])),
            "trigger_ok": trig, "side_effect": bool(extra), "unrequested": extra,
            "service_recall": service_recall(ours, theirs)}


# ---------------------------------------------------------------- the catalog


@dataclass
class Template:
    id: str
    title: str
    lang: str
    nodes: list[dict]
    edges: list[dict]


def load_templates(path: Path = DATASET, *, sample: int | None = None) -> list[Template]:
    """Templates with a parsed graph; ``sample`` keeps every k-th (deterministic) so about
    ``sample`` are scored."""
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    rows = [r for r in rows if r.get("nodes") and r.get("title")]
    if sample and sample < len(rows):
        step = len(rows) / sample
        rows = [rows[int(i * step)] for i in range(sample)]
    return [Template(r["template_id"], r["title"], "zh" if r.get("title_is_chinese") else "en", r["nodes"],
                     r.get("edges") or []) for r in rows]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def _mean(values: list[Any]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return statistics.fmean(kept) if kept else None


def score(build: Callable[[str], Any] | None = None, *, sample: int | None = None, path: Path = DATASET,
          keep_rows: bool = False) -> dict[str, Any]:
    """Build every template title and compare it with the template (see the module docstring).

    Returns ``{"groups": {"all"|"en"|"zh": {...}}, "per_kind": {...}, "trigger_confusion": {...},
    "errors": [...]}`` (plus ``rows`` with ``keep_rows``), or ``{"groups": {}, "skipped": why}``."""
    if not path.exists():
        return {"groups": {}, "skipped": f"{path} not found"}
    if build is None:
        from pilot.generation.pipeline import build_offline as build
    from pilot.workflows.validation import validate_graph

    try:
        build("warm up")  # build indexes and caches before timing
    except Exception:  # noqa: BLE001, S110 - only primes caches; real failures show per title
        pass
    per: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    kind_counts: dict[str, Counter] = defaultdict(Counter)
    confusion: Counter = Counter()
    errors: list[dict[str, str]] = []
    rows: list[dict[str, Any]] = []
    for t in load_templates(path, sample=sample):
        theirs = n8n_flow(t.nodes, t.edges)
        t0 = time.perf_counter()
        try:
            graph = build(t.title)
        except Exception as exc:  # noqa: BLE001 - a failed build scores as an empty manual graph
            graph = None
            errors.append({"id": t.id, "error": f"{type(exc).__name__}: {exc}"[:200]})
        ms = (time.perf_counter() - t0) * 1000
        if graph is None:
            ours, valid = Flow(trigger_primary="manual", triggers={"manual"}), False
        else:
            ours, valid = graph_flow(graph), validate_graph(graph).valid
        m = compare(ours, theirs)
        for key in ("all", t.lang):
            g = per[key]
            for name in ("f1", "f1_no_transform", "edge_f1", "edge_f1_no_transform", "trigger_ok", "side_effect",
                         "service_recall"):
                g[name].append(m[name])
            g["delivers"].append(bool(ours.deliveries))
            g["valid"].append(valid)
            g["ms"].append(ms)
        mine, exp = ours.kind_set(), theirs.kind_set()
        for k in KINDS:
            kind_counts[k].update({"tp": k in mine and k in exp, "predicted": k in mine, "expected": k in exp})
        if theirs.trigger_primary:
            confusion[f"{theirs.trigger_primary}->{ours.trigger_primary}"] += 1
        if keep_rows:
            rows.append({"id": t.id, "title": t.title, "lang": t.lang, **m, "ours": sorted(mine), "theirs": sorted(exp),
                         "services": sorted(theirs.services), "our_services": sorted(ours.services)})
    groups = {}
    for key, g in per.items():
        groups[key] = {"n": len(g["f1"]), "f1": _mean(g["f1"]), "f1_no_transform": _mean(g["f1_no_transform"]),
                       "edge_f1": _mean(g["edge_f1"]), "edge_f1_no_transform": _mean(g["edge_f1_no_transform"]),
                       "trigger_acc": _mean(g["trigger_ok"]), "trigger_n": sum(v is not None for v in g["trigger_ok"]),
                       "side_effect_rate": _mean(g["side_effect"]), "deliver_rate": _mean(g["delivers"]),
                       "service_recall": _mean(g["service_recall"]),
                       "service_n": sum(v is not None for v in g["service_recall"]),
                       "valid": _mean(g["valid"]), "p50_ms": _pct(g["ms"], 0.5), "p95_ms": _pct(g["ms"], 0.95)}
    per_kind = {k: {"precision": c["tp"] / c["predicted"] if c["predicted"] else None,
                    "recall": c["tp"] / c["expected"] if c["expected"] else None,
                    "predicted": c["predicted"], "expected": c["expected"]} for k, c in kind_counts.items()}
    out: dict[str, Any] = {"groups": groups, "per_kind": per_kind, "trigger_confusion": dict(confusion.most_common()),
                           "errors": errors}
    if keep_rows:
        out["rows"] = rows
    return out


def _fmt(v: float | None, pct: bool = False) -> str:
    if v is None:
        return "-"
    return f"{v:.1%}" if pct else f"{v:.3f}"


def render_lines(report: dict[str, Any]) -> list[str]:
    """The n8n block of ``python -m evals``."""
    lines = ["n8n catalog: build_offline(title) vs the template's graph (evals/n8n.py)",
             "F1 = node-kind F1 over llm/condition/loop/source/deliver/knowledge/transform; -t = without transform;",
             "trig = trigger-kind accuracy; side-eff = titles delivering to a service the template does not use;",
             "svc rec = template services named in our graph"]
    if "skipped" in report:
        return [*lines, f"  skipped: {report['skipped']}"]
    lines.append(f"{'set':<10}{'n':>6}{'F1':>7}{'F1-t':>7}{'edgeF1':>8}{'edge-t':>8}{'trig':>8}{'side-eff':>10}"
                 f"{'svc rec':>9}{'valid':>8}{'p50 ms':>8}{'p95 ms':>8}")
    for key in ("all", "en", "zh"):
        if (g := report["groups"].get(key)) is None:
            continue
        lines.append(f"{'n8n ' + key:<10}{g['n']:>6}{_fmt(g['f1']):>7}{_fmt(g['f1_no_transform']):>7}"
                     f"{_fmt(g['edge_f1']):>8}{_fmt(g['edge_f1_no_transform']):>8}{_fmt(g['trigger_acc'], True):>8}"
                     f"{_fmt(g['side_effect_rate'], True):>10}{_fmt(g['service_recall'], True):>9}"
                     f"{_fmt(g['valid'], True):>8}{g['p50_ms']:>8.2f}{g['p95_ms']:>8.2f}")
    if (g := report["groups"].get("all")) is not None:
        lines.append(f"trig over {g['trigger_n']} templates with a mappable trigger, svc rec over {g['service_n']} "
                     f"naming a service; we deliver in {_fmt(g['deliver_rate'], True)} of the titles")
    kinds = report.get("per_kind", {})
    if kinds:
        lines.append("per kind (presence): " + "  ".join(
            f"{k} P {_fmt(v['precision'], True)} R {_fmt(v['recall'], True)}" for k, v in kinds.items()))
    if report.get("errors"):
        lines.append(f"build errors: {len(report['errors'])} (first: {report['errors'][0]['error']})")
    return lines

"""Adapter over the n8n community template catalog (../shared/datasets/n8n_templates_cn).

Each n8n template's node types are mapped to πlot's eight; the workflow generated from the
template's *title* is scored by node-type F1 against them. Only the six "functional" types
are compared (llm, condition, loop, api, knowledge, tool): every πlot workflow has an input
and an output node and every n8n workflow has a trigger, so counting them would only inflate
the score.

Mapping (by the part of the n8n type after the last dot, lower-cased):
- input: every ``*trigger``, ``webhook``, ``cron``, ``emailreadimap`` (they start a run)
- output: ``respondtowebhook``
- llm: ``agent``, ``agenttool``, ``chainllm``, ``chainsummarization``, ``openai``, ``lm*``
  (``lmchatopenai``, ``lmchatollama``, ...), ``informationextractor``, ``textclassifier``,
  ``sentimentanalysis``, ``chat``, ``guardrails``, ``anthropic``, ``googlegemini``, ``mistralai``
- condition: ``if``, ``switch``, ``filter``
- loop: ``splitinbatches``, ``splitout``, ``loopoveritems``
- api: ``httprequest``, ``httprequesttool``, ``toolhttprequest``, ``rssfeedread``, ``graphql``,
  web fetch/scrape services (``firecrawl*``, ``scrapegraphai``, ``apify``, ``airtop*``,
  ``toolserpapi``, ``toolwikipedia``, ``serpapi``, ``jinaai``)
- knowledge: ``vectorstore*``, ``toolvectorstore``, ``retriever*``
- ignored (glue, parts of another node, or local processing with no πlot counterpart): ``set``,
  ``code``, ``function*``, ``merge``, ``noop``, ``wait``, ``aggregate``, ``sort``, ``limit``,
  ``removeduplicates``, ``datetime``, ``crypto``, ``xml``, ``markdown``, ``html``,
  ``converttofile``, ``extractfromfile``, ``*binaryfile``, ``readwritefile``, ``spreadsheetfile``,
  ``editimage``, ``stopanderror``, ``executeworkflow``, ``executecommand``, ``ssh``, ``n8n``,
  ``form``, ``evaluation``, ``summarize``, ``itemlists``, ``compression``, ``stickynote``,
  ``embeddings*``, ``memory*``, ``outputparser*``, ``textsplitter*``, ``documentdefaultdataloader``,
  ``document*loader``, ``toolthink``, ``toolcode``, ``toolcalculator``, ``toolworkflow``,
  ``mcpclienttool``, ``mcptrigger``-style protocol nodes, ``renameKeys``, ``splitinbatches`` aside
- tool: every other node (a named service connector: Telegram, Gmail, Slack, Google Sheets,
  Postgres, Notion, ...; their ``*Tool`` variants too).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "n8n_templates_cn" / "catalog.jsonl"
FUNCTIONAL = ("llm", "condition", "loop", "api", "knowledge", "tool")

_LLM = {"agent", "agenttool", "chainllm", "chainsummarization", "chainretrievalqa", "openai", "informationextractor",
        "textclassifier", "sentimentanalysis", "chat", "guardrails", "anthropic", "googlegemini", "mistralai", "ollama"}
_CONDITION = {"if", "switch", "filter"}
_LOOP = {"splitinbatches", "splitout", "loopoveritems"}
_API = {"httprequest", "httprequesttool", "toolhttprequest", "rssfeedread", "rssfeedreadtool", "graphql", "scrapegraphai",
        "apify", "toolserpapi", "toolwikipedia", "serpapi", "jinaai", "toolsearxng", "perplexity", "perplexitytool"}
_IGNORED = {"set", "code", "function", "functionitem", "merge", "noop", "wait", "aggregate", "sort", "limit",
            "removeduplicates", "datetime", "crypto", "xml", "markdown", "html", "htmlextract", "converttofile",
            "extractfromfile", "readwritefile", "readbinaryfile", "writebinaryfile", "readbinaryfiles", "spreadsheetfile",
            "editimage", "stopanderror", "executeworkflow", "executecommand", "ssh", "n8n", "form", "evaluation",
            "summarize", "itemlists", "compression", "stickynote", "documentdefaultdataloader", "toolthink", "toolcode",
            "toolcalculator", "toolworkflow", "mcpclienttool", "renamekeys", "movebinarydata", "start", "debughelper",
            "comparedatasets", "splittext", "datatable", "executiondata", "respondwith", "totp", "jwt", "manualchattrigger"}


def map_type(n8n_type: str) -> str | None:
    """The πlot node type an n8n node type corresponds to, or None for glue nodes."""
    name = n8n_type.rsplit(".", 1)[-1].lower()
    if name in _IGNORED or name.startswith(("embeddings", "memory", "outputparser", "textsplitter", "document")):
        return None
    if name.endswith("trigger") or name in ("webhook", "cron", "emailreadimap", "interval"):
        return "input"
    if name == "respondtowebhook":
        return "output"
    if name in _LLM or re.match(r"^lm(chat)?[a-z]*$", name):
        return "llm"
    if name in _CONDITION:
        return "condition"
    if name in _LOOP:
        return "loop"
    if name in _API or name.startswith(("firecrawl", "airtop")):
        return "api"
    if name.startswith(("vectorstore", "retriever")) or name == "toolvectorstore":
        return "knowledge"
    return "tool"


def functional_types(types: list[str]) -> set[str]:
    out = set()
    for t in types:
        mapped = map_type(t)
        if mapped in FUNCTIONAL:
            out.add(mapped)
    return out


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


def load(path: Path = DATASET, *, sample: int | None = None) -> Iterator[dict]:
    """Templates with a parsed graph: {id, title, lang, expected: set of functional types}.
    ``sample`` takes every k-th row (deterministic) so about ``sample`` rows are scored."""
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    rows = [r for r in rows if r.get("nodes") and r.get("title")]
    if sample and sample < len(rows):
        step = len(rows) / sample
        rows = [rows[int(i * step)] for i in range(sample)]
    for r in rows:
        yield {"id": r["template_id"], "title": r["title"], "lang": "zh" if r.get("title_is_chinese") else "en",
               "expected": functional_types([n["type"] for n in r["nodes"]])}

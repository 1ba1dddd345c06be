"""Rules that add a v2 step: a ``transform`` ("remove duplicates by email before saving", "保存前按邮箱去重",
"only keep name and email"), a ``workflow`` call ("run the cleanup workflow after that") and a
``code`` step ("add a python step that …", "加一个代码节点…").

Transforms and workflow calls are the plan compiler's nodes (:func:`pilot.chat.anchors.compiled`);
a transform in front of a step becomes what that step reads. A code step is a ``def main(inputs)``
stub that returns its inputs, titled so the user knows to edit it.
"""

from __future__ import annotations

import re

from pilot.chat import builders as b
from pilot.chat.anchors import compiled, data_ref, is_list, is_text, placement, rewire, where
from pilot.chat.edits import AddNode, EditOp, UpdateNode, unique_id
from pilot.chat.phrases import language_of
from pilot.chat.planner_base import Ctx, KnownWorkflow, Note, Step, Unable
from pilot.chat.rules_flow import _reads
from pilot.generation.plan import SubflowStep, TransformStep
from pilot.generation.action_transform_subflow import _NO_SUBFLOW, _SUBFLOW
from pilot.generation.text import normalize as gen_normalize
from pilot.workflows.model import TransformNode

# Chinese (and loose English) field words → the field name a record uses
FIELDS = {"邮箱": "email", "邮件": "email", "电子邮件": "email", "邮箱地址": "email", "e-mail": "email", "email address": "email",
          "姓名": "name", "名字": "name", "名称": "name", "电话": "phone", "手机": "phone", "手机号": "phone", "电话号码": "phone",
          "phone number": "phone", "公司": "company", "订单号": "order_id", "订单": "order_id", "金额": "amount",
          "用户": "user_id", "用户id": "user_id", "客户": "customer", "标题": "title", "链接": "url", "网址": "url", "日期": "date",
          "地址": "address", "城市": "city", "id": "id", "编号": "id"}
_DEDUPE_EN = re.compile(r"\b(?:remove|drop|delete|filter out|get rid of)\s+(?:the\s+|any\s+|all\s+)?duplicat\w*"
                        r"(?:\s+(?P<f1>[a-z_]+?)s?)?(?:\s+(?:by|on|using|based on)\s+(?:the\s+|their\s+|its\s+|same\s+)*(?P<f2>[a-z_ -]{2,24}?))?"
                        r"(?=\s+(?:before|after|then|and|from|in|when)\b|[,.;!?]|$)"
                        r"|\b(?:dedupe|de-?duplicate|deduplicate)(?:\s+(?:them|it|the \w+|rows|records|leads|entries|contacts))?"
                        r"(?:\s+(?:by|on|using|based on)\s+(?:the\s+|their\s+|its\s+|same\s+)*(?P<f3>[a-z_ -]{2,24}?))?"
                        r"(?=\s+(?:before|after|then|and|from|in|when)\b|[,.;!?]|$)")
_DEDUPE_ZH = re.compile(r"(?:按|按照|根据|以)(?P<f>[\u4e00-\u9fffA-Za-z_]{1,8}?)(?:字段)?(?:来)?(?:去重|去掉重复|删除重复|排重)|(?:去重|去掉重复|删除重复|排重)")
_KEEP = re.compile(r"\b(?:only keep|keep only|just keep|keep just)\s+(?:the\s+)?(?P<en>[a-z_ ,&-]+?)(?:\s+(?:fields?|columns?))?"
                   r"(?=\s+(?:before|after|then|from|in|when)\b|[.;!?]|$)"
                   r"|(?:只保留|仅保留|只留下|只要)(?P<zh>[\u4e00-\u9fffA-Za-z_、，,和及与 ]+?)(?:这些|两个|几个)?(?:字段|列)?(?=$|[。；;！!？?]|再|然后|之后|后)")
_CODE_EN = re.compile(r"\b(?:add|insert|put|include|write|create|need|want)\b[^,.;]{0,24}?\b(?:(?P<lang>python|javascript|js|node\.?js)"
                      r"(?:\s+(?:code|script))?(?:\s+(?:step|node|block|snippet|stage|function))?|(?:custom\s+)?(?:code|script)\s+"
                      r"(?:step|node|block|snippet|stage))\b(?:\s*(?:that|to|which|for|:|,)\s*(?P<what>[^.;!?]+))?")
_CODE_ZH = re.compile(r"(?:加|添加|增加|插入|写|新增|来)(?:一个|一段|个|段)?\s*(?P<lang>python|javascript|js|代码|脚本)(?!审|评|检查|质量|规范|风格)"
                      r"\s*(?:节点|步骤|环节)?(?:[，,：:]?\s*(?:来|用来|用于|负责|把)?(?P<what>[^。；;！!？?]+))?")


def _field(word: str) -> str:
    word = word.strip().lower()
    word = re.sub(r"\s+address(?:es)?$|\s+fields?$|\s+columns?$", "", word).strip()
    name = FIELDS.get(word) or FIELDS.get(word.rstrip("s")) or word
    name = re.sub(r"\W+", "_", name).strip("_")
    return name or "id"


def _dedupe_field(c: Ctx, text: str) -> str | None:
    """The field duplicates are judged by (``email``), "id" without one; None when not asked."""
    m = _DEDUPE_EN.search(text)
    if m:
        word = m.group("f2") or m.group("f3") or m.group("f1")
        return _field(word) if word and word not in ("rows", "records", "entries", "items", "them", "it", "lead", "leads") else "id"
    z = _DEDUPE_ZH.search(text)
    if z:
        return _field(z.group("f")) if z.group("f") else "id"
    return None


def _kept(text: str) -> list[str] | None:
    m = _KEEP.search(text)
    if m is None:
        return None
    words = re.split(r"\s*(?:,|&|\band\b|、|，|和|及|与)\s*", m.group("en") or m.group("zh") or "")
    names = [_field(w) for w in words if w.strip()]
    return list(dict.fromkeys(names))[:12] or None


def rule_transform(c: Ctx) -> Step | None:
    """Remove duplicates by a field (aggregate, group_by + first) or keep only some fields (set,
    or map over a list) in front of a step; that step then reads the transform's output."""
    if "transform" in c.consumed:
        return None
    text = gen_normalize(c.raw)
    dedupe = _dedupe_field(c, text)
    keep = None if dedupe else _kept(text)
    if dedupe is None and keep is None:
        return None
    c.consumed.update({"transform", "remove", "integration", "step", "loop"})
    lang = language_of(c.raw)
    existing = next((n for n in c.graph.nodes if isinstance(n, TransformNode) and dedupe and n.config.mode == "aggregate"
                     and (n.config.group_by or "").startswith("item.")), None)
    if existing is not None and existing.config.group_by != f"item.{dedupe}":
        return [UpdateNode(node_id=existing.id, config={"group_by": f"item.{dedupe}"},
                           fields={"title": f"按 {dedupe} 去重" if lang == "zh" else f"Remove duplicates by {dedupe}"})], Note(
            f"'{existing.title or existing.id}' now removes duplicates by {dedupe}.", f"“{existing.title or existing.id}”改为按 {dedupe} 去重。")
    if existing is not None:
        raise Unable(f"'{existing.title or existing.id}' already removes duplicates by {dedupe}.",
                     f"“{existing.title or existing.id}”已经在按 {dedupe} 去重。")
    after, before, anchor = placement(c)
    data = data_ref(c, anchor)
    if is_text(c, data):
        raise Unable(f"{where(after, anchor, 'en').capitalize()} the data is text ({data}), not a list of records, so there is "
                     "nothing to de-duplicate or pick fields from.",
                     f"{where(after, anchor, 'zh')}的数据是文本（{data}），不是记录列表，无法去重或挑选字段。")
    if dedupe:
        step = TransformStep(id="dedupe", dedupe_by=dedupe)
    else:
        step = TransformStep(id="reshape", mode="map" if is_list(c, data) else "set", fields={k: k for k in keep or []})
    node, prep = compiled(c, step, [data])
    ops: list[EditOp] = [*prep, AddNode(node=node, after=after, before=before)]
    if not after and (patch := rewire(anchor, data, f"nodes.{node['id']}.output", kept=None if dedupe or is_list(c, data) else keep)):
        ops.append(UpdateNode(node_id=anchor.id, config=patch))
    what_en = f"removes duplicates by {dedupe}" if dedupe else f"keeps only {', '.join(keep or [])}"
    what_zh = f"按 {dedupe} 去重" if dedupe else f"只保留 {'、'.join(keep or [])}"
    reader_en = "" if after else ", which now uses its result"
    reader_zh = "" if after else "，其结果供该步骤使用"
    return ops, Note(f"Added a step that {what_en} (no AI) {where(after, anchor, 'en')}{reader_en}.",
                     f"{where(after, anchor, 'zh')}新增{what_zh}的数据处理步骤（不用 AI）{reader_zh}。")


def _match_workflow(c: Ctx, spoken: str) -> KnownWorkflow | None:
    """The workspace workflow the spoken name means: the same name, else the only one whose
    name contains it (or is contained in it); several → ask which."""
    def norm(s: str) -> str:
        return re.sub(r"[\s_\-「」“”\"'()（）]+|workflow|flow|工作流|流程", "", s.lower())

    said = norm(spoken)
    if not said or not c.workflows:
        return None
    exact = [w for w in c.workflows if norm(w.name) == said]
    if exact:
        return exact[0]
    near = [w for w in c.workflows if norm(w.name) and (said in norm(w.name) or norm(w.name) in said)]
    if len(near) > 1:
        names = ", ".join(f"'{w.name}'" for w in near[:5])
        raise Unable(f"Several workflows match \"{spoken}\" ({names}); which one should run?",
                     f"有多个工作流与“{spoken}”匹配（{names}），要运行哪一个？")
    return near[0] if near else None


def subflow_name(text: str) -> str | None:
    """The workflow a message asks to run as a step ("run the cleanup workflow" → cleanup), else None
    ("run the workflow", "run this workflow" run the current one)."""
    m = _SUBFLOW.search(gen_normalize(text))
    if m is None or _NO_SUBFLOW.search(m.group(0)):
        return None
    spoken = (m.group("name") or m.group("name2") or "").strip()
    return None if not spoken or spoken in ("this", "that", "it", "the", "a", "another", "另一个", "这个", "该") else spoken


def rule_subflow(c: Ctx) -> Step | None:
    """Run another workflow of the workspace as a step: after the named step or, by default
    ("after that"), at the end before the output; it receives what the workflow produced."""
    if "subflow" in c.consumed:
        return None
    spoken = subflow_name(c.raw)
    if spoken is None:
        return None
    c.consumed.update({"subflow", "step", "integration"})
    lang = language_of(c.raw)
    known = _match_workflow(c, spoken)
    after, before, anchor = placement(c, default="output")
    reads = [data_ref(c, anchor)] if before and not after and anchor.id != (b.output_node(c.graph) or anchor).id else _reads(c.graph)
    node, prep = compiled(c, SubflowStep(id="run_workflow", workflow=spoken), reads[:1])
    if known is not None:
        node["config"]["workflow_id"] = known.id
        if len(known.inputs) == 1 and "data" in node["config"]["inputs"]:
            node["config"]["inputs"] = {known.inputs[0]: node["config"]["inputs"]["data"]}
        node["title"] = f"运行工作流「{known.name}」" if lang == "zh" else f"Run the {known.name} workflow"
    ops: list[EditOp] = [*prep, AddNode(node=node, after=after, before=before)]
    if known is None:
        return ops, Note(f"Added a step that runs the workflow \"{spoken}\"; no workflow of this workspace has that name yet, "
                         "so pick the workflow to run in that step.",
                         f"新增运行工作流“{spoken}”的步骤；此工作区还没有同名工作流，请在该步骤中选择要运行的工作流。")
    return ops, Note(f"Added a step that runs the workflow '{known.name}' with this workflow's result.",
                     f"新增运行工作流“{known.name}”的步骤，传入本工作流的结果。")


def _code(what: str) -> str:
    task = re.sub(r"\s+", " ", what).strip()[:200]
    lines = ["def main(inputs):"]
    if task:
        lines.append(f"    # TODO: {task}")
    lines += ["    # inputs[\"data\"] is what the previous step produced; return any JSON value.",
              "    # Edit this code: as written it passes its inputs through unchanged.",
              "    return inputs", ""]
    return "\n".join(lines)


def rule_code(c: Ctx) -> Step | None:
    """A Python step in front of the output that reads the workflow's result: a ``main(inputs)``
    stub returning its inputs, for the user to fill in (its result is a new output)."""
    if "step" in c.consumed:
        return None
    text = gen_normalize(c.raw)
    m = _CODE_EN.search(text) or _CODE_ZH.search(text)
    if m is None:
        return None
    c.consumed.update({"step", "integration"})
    if m.group("lang") in ("javascript", "js", "nodejs", "node.js"):
        raise Unable("Code steps run Python on this server; JavaScript is not available. Ask for a Python step instead.",
                     "此服务器上的代码节点只支持 Python，不支持 JavaScript；可以改为添加 Python 代码节点。")
    what = (m.group("what") or "").strip(" ,，:：")
    what = re.split(r"\s+(?:before|after)\s+|[,，]\s*(?:then|and)\s+|然后", what)[0].strip()
    lang = language_of(c.raw)
    out = b.output_node(c.graph)
    if out is None:
        return None
    after, before, anchor = placement(c, default="output")
    reads = _reads(c.graph) if anchor.id == out.id else [data_ref(c, anchor)]
    nid = unique_id("python_step", b.all_ids(c.graph))
    short = what[:48]
    if lang == "zh":
        title = f"代码：{short}（请编辑代码）" if short else "代码节点（请编辑代码）"
    else:
        title = f"Python: {short} (edit the code)" if short else "Python step (edit the code)"
    node = {"id": nid, "type": "code", "title": title,
            "config": {"language": "python", "code": _code(what), "inputs": {"data": "{{ " + (reads[0] if reads else "inputs") + " }}"}}}
    ops: list[EditOp] = [AddNode(node=node, after=after, before=before)]
    if anchor.id == out.id:
        key = unique_id(nid, set(out.config.outputs))
        ops.append(UpdateNode(node_id=out.id, config={"outputs": {key: f"{{{{ nodes.{nid}.output }}}}"}}))
    return ops, Note(f"Added a Python step '{title}' that passes its inputs through: open it and write the code.",
                     f"新增代码节点“{title}”，目前原样返回输入：请打开它编写代码。")

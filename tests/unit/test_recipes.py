"""Template recipes (``plan:`` in ``templates/*.yaml``) and :func:`pilot.generation.recipes.apply_recipe`."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import msgspec
import pytest
import yaml

from pilot.core.errors import UnprocessableError
from pilot.generation.blueprint import WorkflowBlueprint
from pilot.generation.compiler import compile_plan
from pilot.generation.offline_analyzer import OfflineAnalyzer
from pilot.generation.pipeline import build_offline, plan_offline
from pilot.generation.plan import AiStep, DeliverStep, SourceStep, WorkflowPlan, plan_from_builtins, walk
from pilot.generation.recipes import apply_recipe, main_step
from pilot.generation.service import GenerationService
from pilot.templates.catalog import TemplateCatalog, TemplateLoadError, default_catalog, package_templates_dir
from pilot.workflows.model import ManualTrigger, ScheduleTrigger, node_type

TEMPLATE_IDS = sorted(p.stem for p in package_templates_dir().glob("*.yaml"))
GOOD = (package_templates_dir() / "translation.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def catalog() -> TemplateCatalog:
    return default_catalog()


def blueprint(template_id: str, confidence: float) -> WorkflowBlueprint:
    return WorkflowBlueprint(intent=template_id, template_id=template_id, confidence=confidence, language="en")


def deliveries(plan: WorkflowPlan) -> Counter:
    return Counter((s.service, s.operation, s.target) for s in walk(plan.steps) if isinstance(s, DeliverStep))


def analyzed(prompt: str) -> WorkflowPlan:
    blueprint = asyncio.run(GenerationService(default_catalog()).analyze(prompt))
    assert blueprint.plan is not None
    return blueprint.plan


# ---------------------------------------------------------------- the recipes themselves


@pytest.mark.parametrize("template_id", TEMPLATE_IDS)
def test_every_template_has_a_recipe_that_compiles_without_deliveries(catalog: TemplateCatalog, template_id: str) -> None:
    recipe = catalog.get(template_id).plan
    assert isinstance(recipe, WorkflowPlan), f"{template_id}.yaml has no plan"
    graph = compile_plan(recipe)
    assert len(graph.nodes) >= 3  # start, at least one step, result
    assert main_step(recipe) is not None  # every recipe has an AI step to draw on
    assert not [s for s in walk(recipe.steps) if isinstance(s, DeliverStep)], "recipes hold no deliveries"
    assert "params." not in msgspec.json.encode(recipe).decode()  # every parameter rendered
    assert plan_from_builtins(msgspec.to_builtins(recipe)) == recipe


def test_recipe_parameters_render(catalog: TemplateCatalog) -> None:
    japanese = catalog.plan("translation", {"target_language": "Japanese", "review": False})
    assert [(s.task, s.language) for s in walk(japanese.steps) if isinstance(s, AiStep)] == [("translate", "Japanese")]
    assert catalog.plan("translation") == catalog.get("translation").plan
    with pytest.raises(UnprocessableError, match="target_lang"):
        catalog.plan("translation", {"target_lang": "Japanese"})


def _with_plan(text: str, mutate) -> str:
    data = yaml.safe_load(text)
    mutate(data["plan"])
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda p: p["steps"].append({"kind": "teleport", "id": "x"}), "plan is not a valid workflow plan"),
        (lambda p: p["steps"][0].update(instruction="in [[ params.dialect ]]"), "the plan uses params.dialect"),
        (lambda p: p["steps"].append({"kind": "respond", "id": "reply", "content": "nodes.ghost.output"}),
         "plan does not compile"),
    ],
)
def test_broken_plan_is_refused_naming_the_file(tmp_path: Path, mutate, needle: str) -> None:
    (tmp_path / "translation.yaml").write_text(_with_plan(GOOD, mutate), encoding="utf-8")
    with pytest.raises(TemplateLoadError) as exc:
        TemplateCatalog.load(tmp_path)
    assert "template file translation.yaml" in exc.value.detail
    assert needle in exc.value.detail


# ---------------------------------------------------------------- requests that name a job


@pytest.mark.parametrize(
    ("prompt", "template_id"),
    [("创建一个客户支持聊天机器人", "customer_support"), ("Build a Q&A bot that answers from our product docs", "rag_qa")],
)
def test_a_bot_request_compiles_from_its_template_recipe(catalog: TemplateCatalog, prompt: str, template_id: str) -> None:
    plan = analyzed(prompt)
    recipe = catalog.get(template_id).plan
    assert plan.trigger.__struct_config__.tag == "chat"
    assert [s.from_ for s in walk(plan.steps) if isinstance(s, SourceStep) and s.from_ == "knowledge"] == ["knowledge"]
    answers = [s for s in walk(plan.steps) if isinstance(s, AiStep) and s.task == "answer"]
    assert len(answers) == 1 and answers[0].instruction == main_step(recipe).instruction  # the recipe's prompt
    assert [s.id for s in walk(plan.steps)] == [s.id for s in walk(recipe.steps)]  # the recipe's sub-graph
    assert plan.language == ("zh" if template_id == "customer_support" else "en") and plan.title  # the request's
    graph = build_offline(prompt)
    types = [node_type(n) for n in graph.nodes]
    assert "knowledge" in types and types.count("llm") >= 2
    assert "{{ nodes." + answers[0].id + ".output }}" in msgspec.json.encode(graph.nodes[-1]).decode()  # the reply is the result


def test_a_rich_request_is_left_as_planned(catalog: TemplateCatalog) -> None:
    prompt = "every Friday pull Stripe revenue and post a summary to Slack"
    own = plan_offline(prompt)
    assert apply_recipe(own, OfflineAnalyzer(catalog).analyze(prompt), catalog) is own
    for template_id in TEMPLATE_IDS:  # even a certain template does not override it
        assert apply_recipe(own, blueprint(template_id, 1.0), catalog) is own
    assert analyzed(prompt) == own


def test_a_thin_request_keeps_its_trigger_deliveries_and_words(catalog: TemplateCatalog) -> None:
    own = WorkflowPlan(title="Translate the release notes", trigger=ScheduleTrigger(cron="0 9 * * 1"), steps=[
        AiStep(id="translate", task="translate", language="German", instruction="translate into German, keep it informal",
               quote="translate into German"),
        DeliverStep(id="slack", service="slack", operation="post", target="#releases", content="translate")])
    plan = apply_recipe(own, blueprint("translation", 0.9), catalog)
    assert plan.trigger == own.trigger and plan.title == own.title
    assert [type(s).__name__ for s in plan.steps] == ["AiStep", "AiStep", "DeliverStep"]  # translate, review, deliver
    translate, review, deliver = plan.steps
    assert translate.instruction.startswith("translate into German, keep it informal")  # the request's words lead
    assert "Never add explanations" in translate.instruction  # then the recipe's defaults
    assert (translate.language, review.language) == ("German", "German")  # the parameter, rendered
    assert (deliver.service, deliver.target, deliver.content) == ("slack", "#releases", None)  # delivers the review
    compile_plan(plan)


def test_a_generic_request_the_analyzer_is_unsure_of_is_left_alone(catalog: TemplateCatalog) -> None:
    own = WorkflowPlan(trigger=ManualTrigger(), steps=[AiStep(id="generate", task="generate", instruction="rewrite this")])
    assert apply_recipe(own, blueprint("content_generation", 0.7), catalog) is own
    assert apply_recipe(own, blueprint("content_generation", 0.9), catalog) is not own
    stated = WorkflowPlan(trigger=ManualTrigger(), steps=[AiStep(id="extract", task="extract", instruction="pull the total",
                                                                 fields=[{"name": "total"}])])
    assert apply_recipe(stated, blueprint("data_extraction", 0.9), catalog) is stated  # the request said what it extracts


def test_rich_plans_take_recipe_prompts_for_steps_without_one(catalog: TemplateCatalog) -> None:
    own = WorkflowPlan(trigger=ManualTrigger(), steps=[
        AiStep(id="fetch_summary", task="summarize", instruction="summarise the ticket"),
        AiStep(id="translate", task="translate", language="French"),
        DeliverStep(id="mail", service="email", target="ops@example.com"),
        DeliverStep(id="post", service="slack")])
    plan = apply_recipe(own, blueprint("summarization", 0.2), catalog)
    translation = main_step(catalog.get("translation").plan)
    assert plan.steps[1].instruction == translation.instruction and plan.steps[1].language == "French"
    assert plan.steps[0] == own.steps[0] and plan.steps[2:] == own.steps[2:]


# ---------------------------------------------------------------- side effects


def test_a_recipe_never_adds_a_delivery(catalog: TemplateCatalog) -> None:
    analyzer = OfflineAnalyzer(catalog)
    prompts = [p for t in catalog.all() for p in (*t.examples.en, *t.examples.zh)]
    applied = 0
    for prompt in prompts:
        own = plan_offline(prompt)
        plan = apply_recipe(own, analyzer.analyze(prompt), catalog)
        applied += plan is not own
        assert not deliveries(plan) - deliveries(own), prompt
        compile_plan(plan)
        for template_id in TEMPLATE_IDS:  # whatever template the analyzer had picked
            assert not deliveries(apply_recipe(own, blueprint(template_id, 1.0), catalog)) - deliveries(own), prompt
    assert applied >= len(prompts) // 4  # recipes do apply to requests that only name a job


def test_a_recipe_that_branches_never_routes_deliveries_the_request_did_not_route():
    from pilot.generation.pipeline import build_offline

    # a lead-routing request whose switch the offline planner cannot read stays what it says (three
    # deliveries), rather than becoming the lead-scoring recipe with its tiers deciding who gets what
    graph = build_offline("官网的留资接口会把线索POST到这里（姓名、电话、公司、省份）。按省份分配：广东、福建的给华南销售，发企业微信通知；"
                          "上海、江苏、浙江的给华东销售，发钉钉通知；其余省份的进公共线索池，写入HubSpot。")
    kinds = [n.__struct_config__.tag for n in graph.nodes]
    assert "condition" not in kinds and "llm" not in kinds

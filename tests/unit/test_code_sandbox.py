"""The ``code`` node in real sandbox processes (no mocks): results, stdout, inputs, JSON-only
results, errors with line numbers, fresh state per execution, validation of the source."""

from __future__ import annotations

import asyncio

import pytest

from pilot.engine.errors import NodeError
from pilot.engine.nodes.code import CodeRunner
from pilot.sandbox import seccomp
from pilot.sandbox.pool import get_pool, shutdown_pool
from pilot.settings import Settings
from pilot.workflows.validation import validate_data
from tests.support.node_ctx import make_ctx, services

RUN = CodeRunner()


@pytest.fixture(scope="module", autouse=True)
async def _pool():
    yield
    await shutdown_pool()


async def run(code: str, scope: dict | None = None, **config) -> dict:
    ctx = make_ctx({"type": "code", "config": {"code": code, **config}}, services(Settings.from_env({})), scope=scope)
    return await RUN.run(ctx)


async def test_main_returns_a_json_value_and_stdout_is_captured() -> None:
    out = await run("def main(inputs):\n    print('hello', 42)\n    return {'a': [1, 2.5, None, True], 'b': 'ü'}")
    assert out == {"result": {"a": [1, 2.5, None, True], "b": "ü"}, "stdout": "hello 42\n"}


async def test_result_global_instead_of_main() -> None:
    assert (await run("import math\nresult = math.factorial(10)"))["result"] == 3628800


async def test_inputs_are_resolved_with_their_json_types() -> None:
    scope = {"inputs": {"rows": [{"v": 1}, {"v": 2}]}, "nodes": {"prev": {"output": {"k": "x"}}}}
    out = await run("def main(inputs):\n    return [sum(r['v'] for r in inputs['rows']), inputs['k'], inputs['lit']]",
                    scope, inputs={"rows": "{{ inputs.rows }}", "k": "{{ nodes.prev.output.k }}", "lit": "plain"})
    assert out["result"] == [3, "x", "plain"]


async def test_stdlib_modules_work_and_others_are_refused_clearly() -> None:
    code = ("import json, re, datetime, statistics, collections\n"
            "def main(i):\n    return [statistics.mean([1, 2, 3]), re.sub('a', 'b', 'aa'),"
            " datetime.date(2024, 1, 2).isoformat(), json.dumps({'x': 1}), 'é'.encode('gbk').hex()]")
    assert (await run(code))["result"] == [2, "bb", "2024-01-02", '{"x": 1}', "a8a6"]
    with pytest.raises(NodeError, match=r"module 'subprocess' is not available in the code sandbox.*\(line 1\)"):
        await run("import subprocess")


@pytest.mark.parametrize("code, message", [
    ("def main(i):\n    return {1, 2}", "the result is not JSON: Object of type set is not JSON serializable"),
    ("result = float('nan')", "the result is not JSON: Out of range float values"),
    ("result = object()", "the result is not JSON"),
    ("x = 1", r"must define main\(inputs\) or assign a global named 'result'"),
])
async def test_only_json_results(code: str, message: str) -> None:
    with pytest.raises(NodeError, match=message) as info:
        await run(code)
    assert not info.value.retryable


async def test_errors_name_the_exception_and_the_line() -> None:
    with pytest.raises(NodeError, match=r"code failed: ZeroDivisionError: division by zero \(line 4\); stdout: before") as info:
        await run("def main(inputs):\n    print('before')\n    x = 1\n    return x / 0\n")
    assert not info.value.retryable
    with pytest.raises(NodeError, match=r"KeyError: 'missing' \(line 2\)"):
        await run("def main(inputs):\n    return inputs['missing']")


async def test_syntax_error_at_run_time_has_its_line() -> None:
    with pytest.raises(NodeError, match=r"SyntaxError: .*\(line 2\)"):
        await run("x = 1\ny = (\n")


async def test_each_execution_gets_a_fresh_process_and_scratch_dir() -> None:
    code = ("import json\n"
            "def main(i):\n"
            "    seen = getattr(json, 'marker', None)\n"
            "    json.marker = 'set'\n"
            "    with open('note.txt', 'a') as fh:\n"
            "        fh.write('x')\n"
            "    return [seen, open('note.txt').read()]")
    first, second = (await run(code))["result"], (await run(code))["result"]
    assert first == second == [None, "x"]  # no module state, no files carried over


async def test_stdout_over_the_cap_is_an_error_naming_the_limit() -> None:
    with pytest.raises(NodeError, match=r"stdout is over the max_output_bytes limit \(2048 bytes\)"):
        await run("for _ in range(100):\n    print('y' * 100)", max_output_bytes=2048)


async def test_result_over_the_cap_is_refused() -> None:
    with pytest.raises(NodeError, match=r"the result is \d+ bytes, over max_output_bytes \(1024\)"):
        await run("result = 'z' * 5000", max_output_bytes=1024)


async def test_concurrent_executions_are_independent() -> None:
    outs = await asyncio.gather(*(run(f"result = {n} * 2") for n in range(6)))
    assert [o["result"] for o in outs] == [n * 2 for n in range(6)]


async def test_pool_reports_the_layers_in_force() -> None:
    await run("result = 1")
    layers = get_pool().layers
    assert {"process", "rlimits", "seccomp"} <= set(layers)
    assert "landlock" in layers or "chroot" in layers or "file-system call refused" in layers["seccomp"]


def test_seccomp_programs_assemble() -> None:
    for files in (True, False):
        for boot in (True, False):
            program = seccomp.allowlist_program(files=files, boot=boot)
            assert len(program) % 8 == 0 and len(program) // 8 < 4096
    assert len(seccomp.denylist_program(seccomp.BOOT_ONLY)) == 8 * (4 + len(seccomp.BOOT_ONLY) + 2)


def _graph(code: str, language: str = "python") -> dict:
    return {"nodes": [{"id": "start", "type": "input", "config": {"fields": []}},
                      {"id": "calc", "type": "code", "config": {"code": code, "language": language}},
                      {"id": "end", "type": "output", "config": {"outputs": {"r": "{{ nodes.calc.output.result }}"}}}],
            "edges": [{"id": "e1", "source": "start", "target": "calc"}, {"id": "e2", "source": "calc", "target": "end"}]}


def test_validation_names_the_node_and_line_of_a_syntax_error() -> None:
    graph, report = validate_data(_graph("def main(inputs):\n    return 1\n  oops = (\n"))
    assert not report.valid
    (problem,) = report.problems
    assert problem.code == "code_syntax" and problem.node_ids == ["calc"]
    assert "node 'calc' config.code: Python syntax error at line 3" in problem.message
    assert validate_data(_graph("def main(inputs):\n    return 1\n"))[1].valid
    graph, report = validate_data(_graph("return 5"))
    assert "'return' outside function" in report.problems[0].message
    graph, report = validate_data(_graph("result = 1", language="javascript"))
    assert report.problems[0].code == "unsupported_language"


async def test_a_dead_zygote_is_replaced_and_the_direct_start_still_works() -> None:
    from pilot.sandbox.pool import Limits, SandboxPool

    pool = SandboxPool(spares=1)
    try:
        assert (await pool.run("result = 1", {}, Limits())).result == 1
        zygote = pool._zygote
        assert zygote is not None and zygote.alive
        zygote.proc.kill()  # its spare dies with it (parent-death signal); the pool notices and recovers
        for _ in range(100):
            if not zygote.alive:
                break
            await asyncio.sleep(0.02)
        assert not zygote.alive
        for n in range(3):
            assert (await pool.run(f"result = {n}", {}, Limits())).result == n
        assert pool._zygote is not None and pool._zygote.alive and pool._zygote is not zygote
    finally:
        await pool.close()
    direct = SandboxPool(spares=1)
    direct._zygote_error = "forced by the test"  # the fallback: a new interpreter per sandbox
    try:
        outcome = await direct.run("def main(inputs):\n    print('direct')\n    return inputs", {"a": [1]}, Limits())
        assert outcome.ok and outcome.result == {"a": [1]} and outcome.stdout == "direct\n" and direct._zygote is None
    finally:
        await direct.close()

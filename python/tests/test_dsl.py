"""The pipeline DSL: golden specs, compile-time errors, the in-pod runner, and what a real server stores.

FERRY_UPDATE_GOLDEN=1 rewrites testdata/*.yaml from the compiler.
"""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import textwrap
import types
import unittest
from pathlib import Path
from unittest import mock

import support

import dsl_example
import ferry
from ferry import Artifact, Input, Output, runstep

TESTDATA = Path(__file__).resolve().parent / "testdata"
IMAGE = dsl_example.IMAGE
_names = itertools.count()


def golden(name: str, text: str) -> str:
    path = TESTDATA / name
    if os.environ.get("FERRY_UPDATE_GOLDEN"):
        path.write_text(text)
    return path.read_text()


def dense(v: object) -> object:
    """JSON without its empty lists and objects (answers decode absent lists as empty ones)."""
    if isinstance(v, dict):
        kept = {k: dense(x) for k, x in v.items()}
        return {k: x for k, x in kept.items() if x not in ([], {}, None)}
    if isinstance(v, list):
        return [dense(x) for x in v]
    return v


def module(source: str) -> types.ModuleType:
    """Steps defined in a file of their own, as a user's module is (inspect reads the source from it)."""
    d = tempfile.mkdtemp(prefix="ferry-dsl-")
    name = f"dsl_case_{next(_names)}"
    path = Path(d) / f"{name}.py"
    path.write_text("import ferry\nfrom ferry import Artifact, Input, Output\n" + textwrap.dedent(source))
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class GoldenTest(unittest.TestCase):
    def test_the_digits_pipeline_compiles_to_its_golden_yaml(self):
        self.assertEqual(dsl_example.digits.compile(), golden("digits.yaml", dsl_example.digits.compile()))

    def test_the_spec_wires_fan_out_condition_finally_and_retries(self):
        spec = dsl_example.digits.spec()
        self.assertEqual([s.name for s in spec.steps], ["prepare", "train", "best", "report"])
        self.assertEqual([s.name for s in spec.finally_], ["report-2"])
        self.assertEqual([(p.name, p.type, p.default) for p in spec.parameters],
                         [("cs", "list", [0.1, 1.0]), ("rows", "int", 100), ("note", "string", "nightly")])
        train = spec.steps[1]
        self.assertEqual(train.parallel_for.items, "{{params.cs}}")
        self.assertEqual(train.inputs.parameters, {"c": "{{item}}", "tags": '{"kind":"svm"}'})
        self.assertEqual(train.inputs.artifacts, {"data": "{{steps.prepare.outputs.artifacts.data}}"})
        self.assertEqual((train.outputs.artifacts, train.outputs.parameters, train.outputs.metrics),
                         (["model"], ["score", "n"], ["accuracy"]))
        self.assertEqual((train.retries.limit, train.retries.on_failures, train.timeout), (2, ["error", "oom"], "30m"))
        self.assertEqual(spec.steps[3].when, "{{steps.best.outputs.parameters.output}} == true")
        self.assertEqual(spec.finally_[0].inputs.parameters, {"message": "done", "good": "false"})
        self.assertEqual(train.command[:3], ["python3", "-m", "ferry.runstep"])
        self.assertTrue(train.command[4].startswith("def train("), "the source starts at def, without its decorator")
        self.assertEqual(spec.description, "Prepares the data once, trains one model per C, reports the best.")


class CompileErrorTest(unittest.TestCase):
    def assertCompileError(self, mod_source: str, pipeline: str, step: str | None, *needles: str) -> None:
        with self.assertRaises(ferry.CompileError) as cm:
            getattr(module(mod_source), pipeline).spec()
        self.assertEqual(cm.exception.step, step, str(cm.exception))
        for n in needles:
            self.assertIn(n, str(cm.exception))

    def test_an_unknown_input_names_the_step_and_its_inputs(self):
        self.assertCompileError(f"""
            @ferry.step(image="{IMAGE}")
            def train(c: float) -> None: ...
            @ferry.pipeline
            def p() -> None:
                train(c=1.0, gamma=2)
        """, "p", "train", "gamma", "its inputs: c")

    def test_a_missing_input_is_named(self):
        self.assertCompileError(f"""
            @ferry.step(image="{IMAGE}")
            def train(c: float) -> None: ...
            @ferry.pipeline
            def p() -> None:
                train()
        """, "p", "train", "input c: no value given")

    def test_a_cycle_of_after_names_its_steps(self):
        self.assertCompileError(f"""
            @ferry.step(image="{IMAGE}")
            def a() -> None: ...
            @ferry.pipeline
            def p() -> None:
                x = a().named("x")
                y = a().named("y").after(x)
                x.after(y)
        """, "p", "x", "x → y → x", "cycle")

    def test_bad_names_are_refused_where_they_are_given(self):
        with self.assertRaises(ferry.CompileError) as cm:
            ferry.step(name="Train_1", image=IMAGE)(lambda: None)
        self.assertIn("DNS-1123", str(cm.exception))
        with self.assertRaises(ferry.CompileError) as cm:
            ferry.pipeline(name="x" * 53)(lambda: None)
        self.assertIn("at most 52", str(cm.exception))

    def test_a_steps_cpu_memory_and_gpu_are_its_resources_in_the_spec_and_yaml(self):
        mod = module(f"""
            @ferry.step(image="{IMAGE}", cpu="2", memory="4Gi", gpu=1)
            def fit() -> None: ...
            @ferry.step(image="{IMAGE}")
            def plain() -> None: ...
            @ferry.pipeline
            def p() -> None:
                fit()
                plain()
        """)
        steps = {s.name: s for s in mod.p.spec().steps}
        r = steps["fit"].resources
        assert r is not None
        self.assertEqual((r.cpu, r.memory, r.gpu), ("2", "4Gi", 1))
        self.assertIn(steps["plain"].resources, (None, ferry.Resources()), "no resources given: the server's defaults")
        text = mod.p.compile()
        self.assertIn('    resources:\n      cpu: "2"\n      memory: "4Gi"\n      gpu: 1\n', text)
        self.assertEqual(text.count("resources:"), 1)

    def test_bounds_of_the_contract(self):
        for opts, needle in [("retries=21", "retries.limit 21"), ("gpu=65", "resources.gpu 65"), ('memory="32Ti"', "resources.memory"),
                             ('cpu="0.0001"', "resources.cpu"), ('timeout="10 minutes"', "timeout"), ('env={"FERRY_X": "1"}', "env.FERRY_X"),
                             ('retries=ferry.RetryPolicy(limit=1, on_failures=["sometimes"])', "onFailures")]:
            with self.subTest(opts=opts):
                self.assertCompileError(f"""
                    @ferry.step(image="{IMAGE}", {opts})
                    def a() -> None: ...
                    @ferry.pipeline
                    def p() -> None:
                        a()
                """, "p", "a", needle)

    def test_a_fan_out_past_its_bound_and_over_a_non_list(self):
        src = f"""
            @ferry.step(image="{IMAGE}")
            def a(x: float) -> None: ...
            @ferry.pipeline
            def big(xs: list = [1]) -> None:
                with ferry.fan_out(xs, parallelism=2000) as x:
                    a(x=x)
            @ferry.pipeline
            def scalar(n: int = 1) -> None:
                with ferry.fan_out(n) as x:
                    a(x=x)
        """
        self.assertCompileError(src, "big", "a", "parallelFor.parallelism 2000")
        with self.assertRaises(ferry.CompileError) as cm:
            module(src).scalar.spec()
        self.assertIn("parameter n is not a list", str(cm.exception))

    def test_artifacts_and_values_are_not_crossed(self):
        src = f"""
            @ferry.step(image="{IMAGE}")
            def make(out: Output[Artifact]) -> int:
                return 1
            @ferry.step(image="{IMAGE}")
            def use(data: Input[Artifact]) -> None: ...
            @ferry.step(image="{IMAGE}")
            def count(n: int) -> None: ...
            @ferry.pipeline
            def value_as_artifact() -> None:
                use(data=make().output)
            @ferry.pipeline
            def artifact_as_value() -> None:
                count(n=make().outputs["out"])
            @ferry.pipeline
            def list_as_int(ns: list = [1]) -> None:
                count(n=ns)
        """
        mod = module(src)
        for name, needle in [("value_as_artifact", "input data: an Input[Artifact] takes an upstream step's output artifact"),
                             ("artifact_as_value", "is an artifact, and n a int value"),
                             ("list_as_int", "{{params.ns}} is a json value, the function takes int")]:
            with self.subTest(pipeline=name), self.assertRaises(ferry.CompileError) as cm:
                getattr(mod, name).spec()
            self.assertIn(needle, str(cm.exception))

    def test_a_fanned_out_artifact_cannot_be_one_input(self):
        self.assertCompileError(f"""
            @ferry.step(image="{IMAGE}")
            def make(x: float, out: Output[Artifact]) -> None: ...
            @ferry.step(image="{IMAGE}")
            def use(data: Input[Artifact]) -> None: ...
            @ferry.pipeline
            def p(xs: list = [1]) -> None:
                with ferry.fan_out(xs) as x:
                    m = make(x=x)
                use(data=m.outputs["out"])
        """, "p", "use", "fans out")

    def test_a_step_that_uses_its_module_or_a_closure_does_not_stand_alone(self):
        self.assertCompileError(f"""
            import json
            @ferry.step(image="{IMAGE}")
            def a() -> str:
                return json.dumps(1)
            @ferry.pipeline
            def p() -> None:
                a()
        """, "p", "a", "uses json, a name of its module", "import it inside the function")

    def test_literals_that_read_as_references_and_types_a_step_cannot_pass(self):
        self.assertCompileError(f"""
            @ferry.step(image="{IMAGE}")
            def a(s: str) -> None: ...
            @ferry.pipeline
            def p() -> None:
                a(s="{{{{params.x}}}}")
        """, "p", "a", "reads as a reference")
        with self.assertRaises(ferry.CompileError) as cm:
            module(f"""
                @ferry.step(image="{IMAGE}")
                def a(s: set) -> None: ...
            """)
        self.assertIn("parameter s: type set is not one a step passes", str(cm.exception))

    def test_no_image_and_no_steps(self):
        self.assertCompileError("""
            @ferry.step
            def a() -> None: ...
            @ferry.pipeline
            def p() -> None:
                a()
        """, "p", "a", "image: none given")
        self.assertCompileError("""
            @ferry.pipeline
            def p() -> None:
                pass
        """, "p", None, "at least one step")


class RunnerTest(unittest.TestCase):
    """The command a step compiles to, run as ferry step would in the pod (inputs and outputs in temp dirs)."""

    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.inputs, self.outputs = Path(tmp.name) / "inputs", Path(tmp.name) / "outputs"
        (self.inputs / "parameters").mkdir(parents=True)
        self.steps = {s.name: s for s in dsl_example.digits.spec().steps}

    def run_step(self, name: str, params: dict[str, str]) -> int:
        for k, v in params.items():
            (self.inputs / "parameters" / k).write_text(v)
        cmd = self.steps[name].command
        with mock.patch.object(runstep, "INPUTS_DIR", str(self.inputs)), mock.patch.object(runstep, "OUTPUTS_DIR", str(self.outputs)):
            return runstep.main(cmd[3:])

    def test_a_step_reads_its_inputs_by_type_and_writes_its_outputs(self):
        self.assertEqual(self.run_step("prepare", {"rows": "5"}), 0)
        self.assertEqual((self.outputs / "data").read_text(), "0\n1\n2\n3\n4\n")
        self.assertEqual((self.outputs / "parameters" / "output").read_text(), "5")
        (self.inputs / "data").write_text((self.outputs / "data").read_text())
        self.assertEqual(self.run_step("train", {"c": "0.5", "tags": '{"kind":"svm"}', "item": "0.5"}), 0)
        self.assertEqual(json.loads((self.outputs / "model").read_text()), {"c": 0.5, "n": 5, "kind": "svm"})
        self.assertEqual((self.outputs / "parameters" / "score").read_text(), "2.5")
        self.assertEqual((self.outputs / "parameters" / "n").read_text(), "5")
        # a fanned-out output reaches the next step as the JSON list of its items' values
        self.assertEqual(self.run_step("best", {"scores": "[0.25,2.5]", "threshold": "0.5"}), 0)
        self.assertEqual((self.outputs / "parameters" / "output").read_text(), "true")

    def test_a_bad_input_is_exit_code_2_naming_it(self):
        with mock.patch("sys.stderr") as err:
            self.assertEqual(self.run_step("prepare", {"rows": "many"}), 2)
        self.assertIn("input rows: 'many' is not a int", "".join(c.args[0] for c in err.write.call_args_list))

    def test_the_functions_default_fills_an_input_not_given(self):
        self.assertEqual(self.run_step("report", {"message": "hi"}), 0)


class ServerTest(unittest.TestCase):
    """A compiled pipeline against a real `ferry server --kube off`: runs are stored, not run."""

    server: support.FerryServer | None = None

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = support.FerryServer()

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.server is not None:
            cls.server.stop()

    def setUp(self) -> None:
        assert self.server is not None
        admin = ferry.Client(self.server.url, self.server.admin_token, timeout=10)
        t = admin.create_tenant(ferry.TenantCreate(name=f"dsl-{os.getpid() % 10000}-{next(_names)}")).name
        self.addCleanup(admin.delete_tenant, t)
        self.c = ferry.Client(self.server.url, self.server.admin_token, tenant=t, timeout=10)

    def test_the_server_stores_the_compiled_spec_as_compiled_and_its_yaml_as_the_same_version(self):
        spec = dsl_example.digits.spec()
        v = self.c.pipelines.create(dsl_example.digits)
        self.assertEqual((v.pipeline, v.version), ("digits", 1))
        self.assertEqual(dense(v.spec.to_json()), dense(spec.to_json()))
        again = self.c.pipelines.create(dsl_example.digits.compile(), name="digits")
        self.assertEqual((again.version, again.digest), (1, v.digest), "the YAML reads back to the same spec")
        self.assertEqual([x.version for x in self.c.pipelines.versions("digits")], [1])

    def test_a_run_of_a_dsl_pipeline_takes_typed_parameters(self):
        run = self.c.run(dsl_example.digits, {"cs": [0.5, 2], "rows": 10, "note": "adhoc"})
        self.assertEqual(run.state, "pending")
        self.assertEqual(run.parameters, {"cs": "[0.5,2]", "rows": "10", "note": "adhoc"})
        self.assertEqual(self.c.pipelines.get(run).id, run.id)
        self.assertEqual([r.id for r in self.c.pipelines.runs("digits")], [run.id])
        with self.assertRaises(TimeoutError):
            self.c.pipelines.wait(run, timeout=0.2, interval=0.05)
        self.assertEqual(self.c.pipelines.cancel(run).state, "cancelled")
        with self.assertRaises(ferry.FerryError) as cm:
            self.c.pipelines.run("digits", {"rows": "ten"})
        self.assertIn("body.parameters.rows", cm.exception.locations)

    def test_methods_without_a_tenant_need_the_clients(self):
        assert self.server is not None
        c = ferry.Client(self.server.url, self.server.admin_token)
        with mock.patch.dict(os.environ, {"FERRY_TENANT": ""}), self.assertRaises(ValueError):
            c.pipelines.list()
        with mock.patch.dict(os.environ, {"FERRY_TENANT": self.c.tenant or ""}):
            self.assertEqual(ferry.Client(self.server.url, self.server.admin_token).tenant, self.c.tenant)


if __name__ == "__main__":
    unittest.main()

"""The SDK keeps step with the contract: api/v1/openapi.json is the source of truth."""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing
import unittest

import support  # noqa: F401  (puts this tree's ferry first on sys.path)

import ferry
from ferry import models
from ferry.client import NOT_IN_SDK, OPERATIONS
from ferry.models import json_name

DOC = json.loads(support.OPENAPI.read_text())
METHODS = ("get", "put", "post", "patch", "delete")


def operations() -> dict[str, tuple[str, str, dict]]:
    out = {}
    for path, item in DOC["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                out[op["operationId"]] = (method.upper(), path, op)
    return out


class OperationsTest(unittest.TestCase):
    def test_every_operation_has_a_client_method_with_its_method_and_path(self):
        doc = operations()
        for op_id, (method, path, _) in doc.items():
            if op_id in NOT_IN_SDK:
                continue
            with self.subTest(op=op_id):
                self.assertIn(op_id, OPERATIONS, f"{op_id} ({method} {path}) has no entry in ferry.client.OPERATIONS")
                m, p, attr = OPERATIONS[op_id]
                self.assertEqual((m, p), (method, path), f"{op_id}: the SDK sends {m} {p}, the document says {method} {path}")
                self.assertTrue(callable(getattr(ferry.Client, attr, None)), f"{op_id}: Client has no method {attr}")

    def test_the_sdk_names_no_operation_the_document_lacks(self):
        doc = operations()
        self.assertEqual(sorted(set(OPERATIONS) - set(doc)), [])
        self.assertEqual(sorted(NOT_IN_SDK - set(doc)), [], "NOT_IN_SDK names operations that are gone")
        self.assertTrue(all(op.startswith("seed") or "Seed" in op for op in NOT_IN_SDK))

    def test_methods_take_the_path_parameters_and_query_parameters_of_their_operation(self):
        for op_id, (method, path, op) in operations().items():
            if op_id in NOT_IN_SDK:
                continue
            with self.subTest(op=op_id):
                sig = inspect.signature(getattr(ferry.Client, OPERATIONS[op_id][2]))
                params = set(sig.parameters) - {"self"}
                for p in op.get("parameters", []):
                    if p["in"] == "path":
                        # the path parameter {id} of revokeToken is the argument id, and so on
                        self.assertIn(p["name"], params, f"{op_id}: no argument for path parameter {p['name']}")
                    elif p["in"] == "query":
                        self.assertIn(p["name"], params, f"{op_id}: no argument for query parameter {p['name']}")

    def test_methods_with_a_request_body_take_its_model(self):
        schemas_of_classes = {c.schema: c for c in models.SCHEMAS.values()}
        for op_id, (method, path, op) in operations().items():
            if op_id in NOT_IN_SDK or "requestBody" not in op:
                continue
            with self.subTest(op=op_id):
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                schema = ref.rsplit("/", 1)[1]
                fn = getattr(ferry.Client, OPERATIONS[op_id][2])
                hints = typing.get_type_hints(fn)
                if "body" in hints:
                    self.assertIs(hints["body"], schemas_of_classes[schema])
                else:  # putMember takes the role itself
                    self.assertEqual(schema, "MemberPut")
                    self.assertIn("role", hints)


class SchemasTest(unittest.TestCase):
    def schemas(self):
        return DOC["components"]["schemas"]

    def test_every_schema_has_a_model(self):
        for name in self.schemas():
            with self.subTest(schema=name):
                if name.startswith("List"):
                    self.assertEqual(set(self.schemas()[name]["required"]), {"items"})
                    self.assertEqual({json_name(f.name) for f in dataclasses.fields(models.Page)}, {"items", "next"})
                elif name in ("ErrorModel", "ErrorDetail"):
                    cls = ferry.FerryError if name == "ErrorModel" else ferry.ErrorDetail
                    props = set(self.schemas()[name]["properties"]) - {"$schema"}
                    self.assertLessEqual(props, {f.name for f in dataclasses.fields(cls)})
                else:
                    self.assertIn(name, models.SCHEMAS, f"schema {name} has no dataclass in ferry.models")

    def test_required_properties_are_fields_without_defaults_and_every_property_is_a_field(self):
        for name, cls in models.SCHEMAS.items():
            schema = self.schemas()[name]
            fields = {json_name(f.name): f for f in dataclasses.fields(cls)}
            props = set(schema.get("properties", {})) - {"$schema"}
            required = set(schema.get("required", []))
            with self.subTest(schema=name):
                self.assertLessEqual(required, set(fields), f"{name}: required properties missing from {cls.__name__}")
                self.assertEqual(set(fields), props, f"{name}: {cls.__name__}'s fields differ from the schema's properties")
                for p in required:
                    self.assertIs(fields[p].default, dataclasses.MISSING, f"{name}.{p} is required: no default")
                for p in props - required:
                    self.assertIsNone(fields[p].default, f"{name}.{p} is optional: default None, so it is not sent")

    def test_nested_schemas_decode_to_their_models(self):
        for name, cls in models.SCHEMAS.items():
            hints = typing.get_type_hints(cls)
            for prop, s in self.schemas()[name].get("properties", {}).items():
                ref = s.get("$ref") or s.get("items", {}).get("$ref")
                if not ref:
                    continue
                target = models.SCHEMAS[ref.rsplit("/", 1)[1]]
                with self.subTest(schema=name, prop=prop):
                    hint = hints[models.python_name(prop)]
                    self.assertIn(target, _flatten(hint), f"{name}.{prop} should hold {target.__name__}")


def _flatten(tp):
    out = {tp}
    for a in typing.get_args(tp):
        out |= _flatten(a)
    return out


class PackageTest(unittest.TestCase):
    def test_the_version_is_the_one_in_pyproject(self):
        import tomllib

        with open(support.PYTHON_DIR / "pyproject.toml", "rb") as f:
            self.assertEqual(tomllib.load(f)["project"]["version"], ferry.__version__)

    def test_the_build_backend_writes_a_wheel_of_the_package_with_a_valid_record(self):
        import base64
        import hashlib
        import sys
        import tempfile
        import zipfile

        sys.path.insert(0, str(support.PYTHON_DIR / "_build"))
        try:
            import ferry_build
        finally:
            sys.path.pop(0)
        with tempfile.TemporaryDirectory() as d:
            name = ferry_build.build_wheel(d)
            self.assertEqual(name, f"ferry-{ferry.__version__}-py3-none-any.whl")
            with zipfile.ZipFile(f"{d}/{name}") as z:
                names = set(z.namelist())
                self.assertLessEqual({"ferry/__init__.py", "ferry/client.py", "ferry/models.py", "ferry/py.typed"}, names)
                self.assertFalse([n for n in names if "__pycache__" in n or n.startswith("tests/")])
                info = f"ferry-{ferry.__version__}.dist-info"
                for row in z.read(f"{info}/RECORD").decode().splitlines():
                    path, digest, size = row.rsplit(",", 2)
                    if path.endswith("RECORD"):
                        continue
                    data = z.read(path)
                    want = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                    self.assertEqual((digest, int(size)), (f"sha256={want}", len(data)), path)
                self.assertIn(b"Requires-Python: >=3.11", z.read(f"{info}/METADATA"))

    def test_pip_installs_the_package_offline_and_it_imports_from_there(self):
        import importlib.util
        import os
        import subprocess
        import sys
        import tempfile

        if importlib.util.find_spec("pip") is None:
            self.skipTest("no pip here (Debian's python3-pip)")
        with tempfile.TemporaryDirectory() as d:
            site = os.path.join(d, "site")
            subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--quiet", "--disable-pip-version-check",
                            "--no-warn-script-location", "--target", site, str(support.PYTHON_DIR)],
                           check=True, capture_output=True, timeout=300, cwd=d)
            out = subprocess.run([sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); import ferry; "
                                  "print(ferry.__file__); print(ferry.__version__); print(ferry.Client.read_artifact.__name__)", site],
                                 check=True, capture_output=True, text=True, timeout=60, cwd=d).stdout.split()
            self.assertEqual(out, [os.path.join(site, "ferry", "__init__.py"), ferry.__version__, "read_artifact"])
            self.assertTrue(os.path.exists(os.path.join(site, "ferry", "py.typed")))

    def test_the_package_needs_only_the_standard_library(self):
        import ast
        import sys

        with open(support.PYTHON_DIR / "pyproject.toml", "rb") as f:
            import tomllib

            self.assertEqual(tomllib.load(f)["project"]["dependencies"], [])
        outside = []
        for path in sorted((support.PYTHON_DIR / "ferry").glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for n in names:
                    top = n.split(".")[0]
                    if top not in sys.stdlib_module_names and top != "ferry":
                        outside.append(f"{path.name}:{node.lineno} {n}")
        self.assertEqual(outside, [], "imports outside the standard library")


def _undocumented(obj: object) -> bool:
    return not (inspect.getdoc(obj) or "").strip()


class DocstringTest(unittest.TestCase):
    def test_every_public_name_and_its_public_methods_have_a_docstring(self):
        missing = []
        for name in ferry.__all__:
            obj = getattr(ferry, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if _undocumented(obj):
                missing.append(name)
            if not inspect.isclass(obj):
                continue
            # the class's own members and those of the ferry classes it is made of (Client's mixins)
            for cls in obj.__mro__:
                if not cls.__module__.startswith("ferry"):
                    continue
                for attr, v in vars(cls).items():
                    if attr.startswith("_"):
                        continue
                    if isinstance(v, property):
                        v = v.fget
                    elif isinstance(v, (classmethod, staticmethod)):
                        v = v.__func__
                    elif not inspect.isfunction(v):
                        continue
                    if not (v.__doc__ or "").strip():
                        missing.append(f"{cls.__name__}.{attr}")
        self.assertEqual(sorted(set(missing)), [], "public names without a docstring")

    def test_the_check_sees_a_missing_docstring(self):
        def f():
            pass

        self.assertTrue(_undocumented(f))
        self.assertFalse(_undocumented(ferry.Client.read_artifact))


class EncodingTest(unittest.TestCase):
    def test_requests_send_only_the_fields_given(self):
        body = ferry.JobSubmit(name="a", image="img:1", command=["true"], resources=ferry.Resources(gpu=0), max_retries=0)
        self.assertEqual(body.to_json(), {"name": "a", "image": "img:1", "command": ["true"], "resources": {"gpu": 0}, "maxRetries": 0})
        self.assertEqual(ferry.TenantUpdate(display_name="x").to_json(), {"displayName": "x"})

    def test_answers_ignore_unknown_properties_and_null_lists(self):
        job = ferry.Job.from_json({
            "$schema": "x", "tenant": "t", "name": "j", "state": "queued", "replicas": None, "createdBy": "a",
            "createdAt": "2026-01-02T03:04:05.123456789Z", "updatedAt": "2026-01-02T03:04:05Z", "someday": 1,
            "spec": {"image": "i", "command": ["c"], "replicas": 1, "resources": {}, "maxRetries": 0},
        })
        self.assertEqual(job.replicas, [])
        self.assertEqual(job.created_at.microsecond, 123456)
        self.assertFalse(job.done)

    def test_tracking_answers_decode_their_maps_lists_and_non_finite_metrics(self):
        run = ferry.Run.from_json({
            "id": "r", "experimentId": "0", "name": "n", "user": "u", "status": "FINISHED", "lifecycleStage": "active",
            "startTime": "2026-01-02T03:04:05Z", "endTime": "2026-01-02T03:05:05Z", "artifactUri": "a",
            "params": {"lr": "0.1"}, "metrics": [{"key": "loss", "value": "-Infinity", "step": 3, "timestamp": 1},
                                                  {"key": "acc", "value": 0.5, "step": 3, "timestamp": 1}],
        })
        self.assertEqual((run.metric("loss").value, run.metric("acc").value), ("-Infinity", 0.5))
        self.assertEqual((run.params, run.tags, run.end_time.minute), ({"lr": "0.1"}, None, 5))
        self.assertEqual(ferry.Run.from_json({**{k: "x" for k in ("id", "experimentId", "name", "user", "status",
                                                                  "lifecycleStage", "artifactUri")},
                                              "startTime": "2026-01-02T03:04:05Z"}).metrics, [])
        mv = ferry.ModelVersion.from_json({"model": "m", "version": 3, "source": "s", "status": "READY",
                                           "createdAt": "2026-01-02T03:04:05Z", "updatedAt": "2026-01-02T03:04:05Z"})
        self.assertEqual((mv.version, mv.aliases, mv.run_id), (3, [], None))
        rm = ferry.RegisteredModel.from_json({"name": "m", "aliases": {"champion": 3},
                                              "createdAt": "2026-01-02T03:04:05Z", "updatedAt": "2026-01-02T03:04:05Z"})
        self.assertEqual(rm.aliases, {"champion": 3})
        u = ferry.User.from_json({"id": 1, "name": "a", "admin": False, "createdAt": "2026-01-02T03:04:05Z"})
        self.assertIsNone(u.disabled, "an enabled user's answer leaves disabled out")

    def test_problem_answers_become_ferry_errors(self):
        e = ferry.FerryError.from_answer(422, json.dumps({
            "title": "Unprocessable Entity", "status": 422, "detail": "validation failed",
            "errors": [{"message": "bad", "location": "body.name", "value": "X"}]}).encode())
        self.assertEqual((e.status, e.title, e.locations), (422, "Unprocessable Entity", ["body.name"]))
        self.assertEqual(str(e), "validation failed (body.name: bad) (HTTP 422)")
        mlflow = ferry.FerryError.from_answer(404, json.dumps({
            "error_code": "RESOURCE_DOES_NOT_EXIST", "message": "artifact x of run r not found"}).encode())
        self.assertEqual((mlflow.status, mlflow.title, mlflow.detail), (404, "RESOURCE_DOES_NOT_EXIST", "artifact x of run r not found"))
        self.assertEqual(str(mlflow), "artifact x of run r not found (HTTP 404)")
        plain = ferry.FerryError.from_answer(502, b"<html>bad gateway</html>\nmore")
        self.assertEqual(plain.title, "Bad Gateway <html>bad gateway</html>")


if __name__ == "__main__":
    unittest.main()

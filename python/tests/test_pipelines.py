"""Pipelines through the SDK against a real `ferry server --kube off` (runs are stored, not run)."""

from __future__ import annotations

import itertools
import os
import time
import unittest

import support

import ferry
from ferry.pipelines import ScheduleCreate

server: support.FerryServer | None = None
IMAGE = "ferry.local/workload:1"
_names = itertools.count()

SPEC = ferry.PipelineSpec(
    api_version="ferry.dev/v1",
    kind="Pipeline",
    parameters=[ferry.PipelineParam(name="cs", type="list", default=[0.1, 1.0])],
    steps=[
        ferry.Step(name="prepare", image=IMAGE, command=["python3", "prep.py"],
                   outputs=ferry.StepOutputs(artifacts=["data"])),
        ferry.Step(name="train", image=IMAGE, command=["python3", "train.py"], args=["--c={{item}}"],
                   inputs=ferry.StepInputs(artifacts={"data": "{{steps.prepare.outputs.artifacts.data}}"}),
                   outputs=ferry.StepOutputs(parameters=["score"]),
                   parallel_for=ferry.ParallelFor(items="{{params.cs}}", parallelism=2),
                   retries=ferry.RetryPolicy(limit=1, backoff=ferry.Backoff(initial="1s"))),
    ],
    finally_=[ferry.Step(name="notify", image=IMAGE, command=["echo", "done"])],
)


def setUpModule() -> None:
    global server
    server = support.FerryServer()


def tearDownModule() -> None:
    if server is not None:
        server.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid() % 10000}-{next(_names)}"


class PipelinesTest(unittest.TestCase):
    def setUp(self) -> None:
        assert server is not None
        self.c = ferry.Client(server.url, server.admin_token, timeout=10)
        self.t = self.c.create_tenant(ferry.TenantCreate(name=unique("t"))).name
        self.addCleanup(self.c.delete_tenant, self.t)

    def test_a_spec_object_round_trips_with_versions_and_finally(self):
        v = self.c.create_pipeline(self.t, ferry.PipelineCreate(name="digits", spec=SPEC))
        self.assertEqual(v.version, 1)
        self.assertEqual(len(v.digest), 64)
        self.assertEqual([s.name for s in v.spec.finally_], ["notify"])
        self.assertEqual(v.spec.steps[1].parallel_for.parallelism, 2)
        again = self.c.create_pipeline(self.t, ferry.PipelineCreate(name="digits", spec=SPEC))
        self.assertEqual(again.version, 1, "an identical spec adds no version")
        self.assertEqual([p.name for p in self.c.list_pipelines(self.t)], ["digits"])
        self.assertEqual([x.version for x in self.c.list_pipeline_versions(self.t, "digits")], [1])

    def test_a_cycle_is_422_at_the_step_naming_its_steps(self):
        bad = ferry.PipelineCreate(name="loop", yaml=(
            "apiVersion: ferry.dev/v1\nkind: Pipeline\nsteps:\n"
            f"  - {{name: a, image: {IMAGE}, command: [x], dependsOn: [b]}}\n"
            f"  - {{name: b, image: {IMAGE}, command: [x], dependsOn: [a]}}\n"))
        with self.assertRaises(ferry.FerryError) as cm:
            self.c.create_pipeline(self.t, bad)
        self.assertEqual(cm.exception.status, 422)
        self.assertIn("body.yaml.steps[0].dependsOn", cm.exception.locations)
        self.assertIn("a → b → a", str(cm.exception))

    def test_runs_are_submitted_listed_cancelled_retried_and_scheduled(self):
        self.c.create_pipeline(self.t, ferry.PipelineCreate(name="digits", spec=SPEC))
        with self.assertRaises(ferry.FerryError) as cm:
            self.c.submit_pipeline_run(self.t, "digits", ferry.PipelineRunSubmit(parameters={"cs": "not a list"}))
        self.assertIn("body.parameters.cs", cm.exception.locations)
        run = self.c.submit_pipeline_run(self.t, "digits", ferry.PipelineRunSubmit())
        self.assertEqual(run.state, "pending")
        self.assertEqual(run.parameters, {"cs": "[0.1,1]"})
        self.assertEqual([r.id for r in self.c.list_pipeline_runs(self.t, pipeline="digits", state="pending")], [run.id])
        self.assertEqual(self.c.cancel_pipeline_run(self.t, run.id).state, "cancelled")
        self.assertEqual(self.c.retry_pipeline_run(self.t, run.id).state, "pending")
        self.assertEqual(self.c.get_pipeline_run(self.t, run.id).pipeline, "digits")
        s = self.c.create_schedule(self.t, ScheduleCreate(name="nightly", pipeline="digits", cron="0 3 * * *", timezone="Europe/Paris"))
        self.assertEqual((s.policy, s.paused), ("Forbid", False))
        self.assertTrue(self.c.pause_schedule(self.t, "nightly").paused)
        self.assertFalse(self.c.resume_schedule(self.t, "nightly").paused)
        self.assertEqual([x.name for x in self.c.list_schedules(self.t)], ["nightly"])
        self.c.delete_schedule(self.t, "nightly")
        with self.assertRaises(ferry.FerryError) as cm:
            self.c.create_schedule(self.t, ScheduleCreate(name="bad", pipeline="digits", cron="61 * * * *"))
        self.assertIn("body.cron", cm.exception.locations)

    def test_wait_times_out_on_a_pending_run_within_its_timeout_naming_its_state(self):
        # --kube off: the run stays pending. An interval longer than the timeout does not overrun it.
        self.c.create_pipeline(self.t, ferry.PipelineCreate(name="digits", spec=SPEC))
        run = self.c.submit_pipeline_run(self.t, "digits", ferry.PipelineRunSubmit())
        t0 = time.monotonic()
        with self.assertRaises(TimeoutError) as cm:
            self.c.wait_pipeline_run(self.t, run.id, timeout=0.3, interval=30)
        self.assertLess(time.monotonic() - t0, 3)
        self.assertIn(f"pipeline run {self.t}/{run.id} is still pending after 0.3s", str(cm.exception))
        self.assertEqual(self.c.cancel_pipeline_run(self.t, run.id).state, "cancelled")
        self.assertEqual(self.c.wait_pipeline_run(self.t, run.id, timeout=5).state, "cancelled")

    def test_wait_on_a_missing_run_is_its_404_at_once(self):
        with self.assertRaises(ferry.FerryError) as cm:
            self.c.wait_pipeline_run(self.t, "0123456789abcdef", timeout=30)
        self.assertEqual(cm.exception.status, 404)


if __name__ == "__main__":
    unittest.main()

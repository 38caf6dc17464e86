"""The SDK's dashboard links are the Go contract's: api/v1/pages.go's patterns, filled as v1.PagePath fills them."""

from __future__ import annotations

import re
import unittest

import support

import ferry

PAGES_GO = support.REPO / "api" / "v1" / "pages.go"


def go_pages() -> dict[str, str]:
    """The Page constants of pages.go by the SDK's kind (PagePipelineRun -> pipeline_run)."""
    out = {}
    for name, pattern in re.findall(r'^\s*Page(\w+)\s+Page\s*=\s*"([^"]*)"', PAGES_GO.read_text(), re.M):
        out[re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()] = pattern
    return out


class PagesTest(unittest.TestCase):
    def test_the_pattern_table_is_the_go_contracts(self) -> None:
        go = go_pages()
        self.assertGreaterEqual(len(go), 10, "the test no longer finds pages.go's constants")
        self.assertEqual(ferry.PAGES, go)

    def test_values_are_path_escaped_as_go_url_path_escape_does(self) -> None:
        # The answers of v1.PagePath for the same values.
        self.assertEqual(ferry.page_path("job", "team-a", "a b/c?d#e%f"), "/tenants/team-a/jobs/a%20b%2Fc%3Fd%23e%25f")
        self.assertEqual(ferry.page_path("run", "t", "$&+,:;=@!*'()~_.-é"),
                         "/tenants/t/runs/$&+%2C:%3B=@%21%2A%27%28%29~_.-%C3%A9")

    def test_a_missing_value_links_to_the_page_above(self) -> None:
        self.assertEqual(ferry.page_path("deployment", "t", ""), "/tenants/t/deployments")
        self.assertEqual(ferry.page_path("deployment", "t", None), "/tenants/t/deployments")
        self.assertEqual(ferry.page_path("pipeline_run"), "/tenants")
        self.assertEqual(ferry.page_url("http://h:1/", "tuning", "t", "x"), "http://h:1/tenants/t/tunings/x")
        with self.assertRaises(ValueError):
            ferry.page_path("jobs", "t", "x")

    def test_objects_give_their_page_and_the_client_its_url(self) -> None:
        cases = [
            (ferry.Job.from_json({"tenant": "t", "name": "train"}), "/tenants/t/jobs/train"),
            (ferry.Notebook.from_json({"tenant": "t", "name": "nb"}), "/tenants/t/notebooks/nb"),
            (ferry.PipelineRun.from_json({"tenant": "t", "id": "r1"}), "/tenants/t/pipeline-runs/r1"),
            (ferry.Deployment.from_json({"tenant": "t", "name": "d", "url": "http://gw/d"}), "/tenants/t/deployments/d"),
            (ferry.Tuning.from_json({"tenant": "t", "name": "tu"}), "/tenants/t/tunings/tu"),
        ]
        for obj, want in cases:
            with self.subTest(type(obj).__name__):
                self.assertEqual(obj.page, want)
        client = ferry.Client("http://ferry.example:8080", "tok")
        self.assertEqual(client.page_url("run", "t", "abc"), "http://ferry.example:8080/tenants/t/runs/abc")


if __name__ == "__main__":
    unittest.main()

"""Client.read_artifact / download_artifact (`ferry artifact get`) against a real `ferry server --kube off`."""

from __future__ import annotations

import hashlib
import os
import tempfile
import unittest
from pathlib import Path

import support

import ferry

shared = support.SharedServer()
setUpModule, tearDownModule = shared.start, shared.stop


class ArtifactFilesTest(support.TenantTestCase):
    shared = shared
    tenant_prefix = "af"

    def setUp(self) -> None:
        super().setUp()
        self.patch_env({"MLFLOW_RUN_ID": "", "MLFLOW_TRACKING_URI": ""})
        self.client = ferry.Client(self.server.url, self.server.admin_token, tenant=self.tenant, timeout=10)
        self.dir = Path(self.enterContext(tempfile.TemporaryDirectory()))
        # binary, over one read chunk, and each test's own (blobs are shared by content)
        self.content = self.tenant.encode() + b" model bytes \x00\xff " * 5000
        src = self.dir / "model.joblib"
        src.write_bytes(self.content)
        with ferry.start_run(experiment="files", client=self.client) as run:
            self.digest = run.log_artifact(str(src), "model dir/model é.joblib")
        self.run_id = run.run_id

    def test_read_gives_the_bytes_logged(self) -> None:
        got = self.admin.read_artifact(self.tenant, self.run_id, "model dir/model é.joblib")
        self.assertEqual(got, self.content)

    def test_download_writes_the_file_and_returns_its_sha256(self) -> None:
        to = self.dir / "out.joblib"
        digest = self.admin.download_artifact(self.tenant, self.run_id, "model dir/model é.joblib", to)
        self.assertEqual(digest, hashlib.sha256(self.content).hexdigest())
        self.assertEqual(digest, self.digest)
        self.assertEqual(to.read_bytes(), self.content)
        self.assertEqual(sorted(p.name for p in self.dir.iterdir()), ["model.joblib", "out.joblib"], "no temporary file left")

    def test_a_missing_file_is_404_and_leaves_the_target_as_it_was(self) -> None:
        to = self.dir / "keep.txt"
        to.write_bytes(b"old")
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.download_artifact(self.tenant, self.run_id, "model dir/nope.joblib", to)
        self.assertEqual(cm.exception.status, 404)
        self.assertIn("nope.joblib", str(cm.exception))
        self.assertEqual(to.read_bytes(), b"old")
        self.assertEqual(sorted(p.name for p in self.dir.iterdir()), ["keep.txt", "model.joblib"])
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.read_artifact(self.tenant, "0123456789abcdef0123456789abcdef", "model.joblib")
        self.assertEqual(cm.exception.status, 404)

    def test_a_bad_path_is_refused_before_anything_is_sent(self) -> None:
        for bad in ("", "../x", "a//b", "/abs", "a/./b"):
            with self.subTest(path=bad), self.assertRaises(ValueError) as cm:
                self.admin.read_artifact(self.tenant, self.run_id, bad)
            self.assertIn(repr(bad), str(cm.exception))

    def test_a_file_over_the_limit_is_an_error(self) -> None:
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.read_artifact(self.tenant, self.run_id, "model dir/model é.joblib", limit=100)
        self.assertIn("larger than 100 bytes", str(cm.exception))

    def test_content_that_does_not_match_the_recorded_sha256_is_refused(self) -> None:
        # Alter the stored blob (same length): the server still sends the digest it recorded.
        (blob,) = [p for p in (self.server.data_dir / "data").rglob(self.digest) if p.is_file()]
        blob.write_bytes(b"X" * len(self.content))
        to = self.dir / "out.joblib"
        with self.assertRaises(ferry.FerryError) as cm:
            self.admin.download_artifact(self.tenant, self.run_id, "model dir/model é.joblib", to)
        self.assertIn(f"the server recorded {self.digest}", str(cm.exception))
        self.assertFalse(to.exists(), "a file that failed its check is not written")
        with self.assertRaises(ferry.FerryError):
            self.admin.read_artifact(self.tenant, self.run_id, "model dir/model é.joblib")

    def test_a_non_member_cannot_read(self) -> None:
        created = self.admin.create_user(ferry.UserCreate(name=f"outsider-{self.tenant}"))
        outsider = ferry.Client(self.server.url, created.token, timeout=10)
        with self.assertRaises(ferry.FerryError) as cm:
            outsider.read_artifact(self.tenant, self.run_id, "model dir/model é.joblib")
        self.assertIn(cm.exception.status, (403, 404))


if __name__ == "__main__":
    unittest.main()

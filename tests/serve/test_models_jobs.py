"""Model versions (register, list, activate; decisions use the active one) and jobs run by
worker processes (train to done with progress and log; a killed worker's job is re-queued,
then failed — never left running)."""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
from typing import NoReturn

from sqlalchemy import select

from cityfocus.models.neural import CHECKPOINT_FORMAT
from cityfocus.serve.jobs.service import MAX_ATTEMPTS
from cityfocus.serve.jobs.worker import Worker
from cityfocus.serve.models.checkpoint import NEURAL_FORMAT
from cityfocus.serve.store.tables import Decision, Job
from tests.serve.conftest import Served
from tests.serve.learning import learning, wait_for, worker

__all__ = ["learning"]  # the fixture, imported for pytest

SMALL = {"budget": 2, "units": True, "horizon": 6}


def test_the_checkpoint_format_is_the_models_own() -> None:
    assert NEURAL_FORMAT == CHECKPOINT_FORMAT


def test_register_activate_and_decisions_use_the_active_version(learning: Served) -> None:
    with learning.client(learning.tokens["admin"]) as client:
        before = client.post("/cities/other/decisions", json=SMALL).json()
        assert before["forecast"]["model_version"] is None
        made = client.post("/cities/other/models", json={
            "forecaster": "historical_average", "params": {"weekly": False}})
        assert made.status_code == 201, made.text
        version = made.json()
        assert version["active"] is False and len(version["checkpoint_sha256"]) == 64
        listed = client.get("/cities/other/models").json()
        assert [v["version"] for v in listed][0] == version["version"]
        # registering does not change decisions; activating does
        again = client.post("/cities/other/decisions", json=SMALL).json()
        assert again["forecast"]["model_version"] is None
        assert again["inputs_sha256"] == before["inputs_sha256"]
        on = client.post(f"/cities/other/models/{version['version']}/activate")
        assert on.status_code == 200 and on.json()["active"]
        used = client.post("/cities/other/decisions", json=SMALL).json()
        assert used["forecast"]["model_version"] == version["version"]
        assert used["forecast"]["checkpoint_sha256"] == version["checkpoint_sha256"]
        assert used["inputs_sha256"] != before["inputs_sha256"]
        # a second version activated: exactly one active
        second = client.post("/cities/other/models", json={
            "forecaster": "historical_average", "activate": True}).json()
        states = {v["version"]: v["active"] for v in client.get("/cities/other/models").json()}
        assert states[second["version"]] and not states[version["version"]]
        assert sum(states.values()) == 1
        assert client.post("/cities/other/models/999/activate").status_code == 404
    with learning.store.session() as session:
        stored = session.get(Decision, used["id"])
        assert stored is not None and stored.model_version_id == version["id"]


def test_uploads_that_are_not_checkpoints_are_refused(learning: Served) -> None:
    bad = {"junk": base64.b64encode(b"not a checkpoint").decode(),
           "json": base64.b64encode(b'{"format": "other"}').decode()}
    with learning.client(learning.tokens["admin"]) as client:
        for forecaster, blob in [("seed_mlp", bad["junk"]), ("seed_mlp", bad["json"]),
                                 ("seed_mlp", "%%%"), ("seed_mlp", None), ("prophet", None)]:
            answer = client.post("/cities/other/models", json={
                "forecaster": forecaster, "checkpoint_base64": blob})
            assert answer.status_code == 422, (forecaster, answer.text)
            assert isinstance(answer.json()["detail"], list)


def _job(client, job_id: int) -> dict:  # type: ignore[no-untyped-def]
    answer = client.get(f"/cities/synthetic/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_train_jobs_run_in_a_worker_process_to_done(learning: Served) -> None:
    with learning.client(learning.tokens["write"]) as client:
        average = client.post("/cities/synthetic/jobs", json={
            "forecaster": "historical_average", "params": {"weekly": True}})
        assert average.status_code == 202, average.text
        assert average.json()["status"] == "queued"
        mlp = client.post("/cities/synthetic/jobs", json={
            "forecaster": "seed_mlp", "activate": True,
            "params": {"epochs": 2, "lookback": 12, "horizon": 6, "seed": 1}}).json()
        assert client.post("/cities/synthetic/jobs", json={
            "forecaster": "prophet"}).status_code == 422
        done = subprocess.run([sys.executable, "-m", "cityfocus", "serve", "worker",
                               "--data-dir", str(learning.data_dir), "--once"],
                              capture_output=True, text=True, timeout=180, check=False)
        assert done.returncode == 0, done.stderr
        jobs = {j["id"]: j for j in client.get("/cities/synthetic/jobs").json()}
        for job in (jobs[average.json()["id"]], jobs[mlp["id"]]):
            assert job["status"] == "done", job["log"]
            assert job["progress"] == 1.0 and job["model_version"] is not None
            assert "registered model version" in job["log"]
        assert "validation" in jobs[mlp["id"]]["log"]  # one line per epoch
        versions = {v["version"]: v for v in client.get("/cities/synthetic/models").json()}
        trained = versions[jobs[mlp["id"]]["model_version"]]
        assert trained["forecaster"] == "seed_mlp" and trained["active"]
        assert trained["source"] == f"job {mlp['id']}" and trained["params"]["horizon"] == 6
        assert not versions[jobs[average.json()["id"]]["model_version"]]["active"]
        # the trained version forecasts decisions (in a child process; this one stays torch-free)
        used = client.post("/cities/synthetic/decisions", json=SMALL)
        assert used.status_code == 201, used.text
        assert used.json()["forecast"]["model_version"] == trained["version"]
        assert used.json()["forecast"]["forecaster"] == "seed_mlp"
        too_far = client.post("/cities/synthetic/decisions", json={**SMALL, "horizon": 7})
        assert too_far.status_code == 422 and "at most 6" in too_far.text


def test_a_killed_worker_leaves_no_job_running(learning: Served) -> None:
    endless = {"forecaster": "seed_mlp", "params": {"epochs": 100000, "patience": None,
                                                      "lookback": 12, "horizon": 6}}
    with learning.client(learning.tokens["write"]) as client:
        job_id = client.post("/cities/other/jobs", json=endless).json()["id"]

        def training_in(pid: int) -> bool:
            job = client.get(f"/cities/other/jobs/{job_id}").json()
            return (job["status"] == "running" and job["progress"] > 0
                    and job["worker"].endswith(f":{pid}"))

        for attempt in range(1, MAX_ATTEMPTS + 1):
            proc = worker(learning.data_dir)
            try:
                wait_for(lambda pid=proc.pid: training_in(pid), 90, f"attempt {attempt} to run")
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
            assert client.get(f"/cities/other/jobs/{job_id}").json()["status"] == "running"
        # the next worker (the loop `serve worker --once` runs, here in this process) finds the
        # job's process gone: it was re-queued once, so it fails now and nothing is trained
        def no_training(*_: object) -> NoReturn:
            raise AssertionError("a failed job was trained again")

        Worker(learning.store, no_training).run(once=True)
        job = client.get(f"/cities/other/jobs/{job_id}").json()
    assert job["status"] == "failed" and job["attempts"] == MAX_ATTEMPTS
    assert "re-queued" in job["log"] and f"failed after {MAX_ATTEMPTS} attempts" in job["log"]
    with learning.store.session() as session:
        assert session.scalar(select(Job.finished_at).where(Job.id == job_id)) is not None

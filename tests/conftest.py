"""Shared fixtures. Tests that read ../shared/data skip with a reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (only the project's own checkout has it)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def judge_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.judge_model import build_judge_model

    return build_judge_model(tmp_path_factory.mktemp("models") / "judge")


@pytest.fixture(scope="session")
def backend(judge_model_dir: Path):
    from humpback.inference.hf_runner import HFRunner

    return HFRunner(judge_model_dir, device="cpu", batch_size=4)

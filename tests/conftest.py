import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

EVAL = Path(os.environ.get("EDGE_APP_EVAL", REPO.parent / "shared" / "eval"))


@pytest.fixture(scope="session")
def eval_root() -> Path:
    if not EVAL.is_dir():
        pytest.skip(f"eval photo sets not found at {EVAL}")
    return EVAL


@pytest.fixture(scope="session")
def pipeline():
    """A Pipeline with the bundled models loaded once for the whole session."""
    from edge_app.engine.pipeline import Pipeline

    p = Pipeline()
    p.analyzer.load_models()
    return p

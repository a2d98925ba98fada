import pytest
from warm_worker import warm_worker


@pytest.fixture(scope="module")
def models_worker(tmp_path_factory):
    """One Worker whose models are loaded once a module; tests point it at their own data
    folder (:func:`warm_worker.worker_for`)."""
    return warm_worker(tmp_path_factory.mktemp("warm"))

"""The test tiers: ``python -m pytest -m "not slow"`` is the fast edit–test loop, the whole suite is
CI's. A test is slow when it is marked so, or when it needs a fixture that runs an experiment's
``--quick`` (listed here, so a new test on such a fixture is slow without anyone remembering)."""
import pytest

#: fixtures that run an experiment end to end (a --quick run, or a figure drawn from one)
QUICK_RUN_FIXTURES = {"stored", "quick", "paper", "retuned", "bsi_quick", "drawn", "weak_rows"}


def pytest_collection_modifyitems(items):
    for item in items:
        if QUICK_RUN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="module")
def lm_token_cache(tmp_path_factory):
    """The LM corpus's token file in a scratch folder per test module (``SIMLAB_LM_CACHE``), so
    the tests neither read nor write the checkout's ``.cache/``."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SIMLAB_LM_CACHE", str(tmp_path_factory.mktemp("tokens")))
    yield
    mp.undo()

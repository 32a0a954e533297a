"""Tests of the membuf package. Run with the package and the examples importable:
PYTHONPATH=python:python/examples python3 -m pytest python/tests (ci/python.sh does)."""
import pytest

pytest_plugins = ["membuf.testing", "pytester"]


def pytest_configure(config):
    config.addinivalue_line("markers", "smoke: the subset ci/python.sh runs under Valgrind")
    config.addinivalue_line("markers", "downstream_build: compiles a module (ci/python.sh's ASan "
                            "leg leaves it out: its compilers would run under the ASan runtime)")


@pytest.fixture
def raw_calls():
    """The examples' raw_calls module: mb_malloc/mb_free by hand from a downstream module."""
    import raw_calls
    return raw_calls

"""pytest fixtures shared by all tests."""
import os

import pytest

from tests.helpers import run_berth


@pytest.fixture
def berth():
    return run_berth


def pytest_collection_modifyitems(items):
    if os.geteuid() != 0:
        for item in items:
            if "privileged" in item.keywords:
                item.add_marker(pytest.mark.skip(reason="needs root"))

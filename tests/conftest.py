"""pytest fixtures shared by all tests."""
import pytest

from tests.helpers import run_berth


@pytest.fixture
def berth():
    return run_berth

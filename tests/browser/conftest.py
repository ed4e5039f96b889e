import pytest

from tests.auth_helpers import use_private_cache


@pytest.fixture(autouse=True)
def _private_cache(settings, request):
    # Failed sign-ins in these tests must not count against later tests or runs.
    use_private_cache(settings, request.node.nodeid)

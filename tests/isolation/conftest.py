from tests.acceptance.conftest import sandbox  # noqa: F401  (one sandbox per module session)

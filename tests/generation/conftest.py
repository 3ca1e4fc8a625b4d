import pytest

from tests.openai_server import FakeOpenAI, ServerConfig


@pytest.fixture
def fake():
    server = FakeOpenAI(ServerConfig()).start()
    yield server
    server.stop()

import pytest

from tests.client.stub import TOKEN, StubServer


@pytest.fixture
def stub():
    server = StubServer()
    yield server
    server.stop()


@pytest.fixture
def make_client(stub, tmp_path):
    """A client of the stub, keeping its last-known-good copies in this test's directory."""
    from config_console_client import ConfigClient

    def make(**kwargs):
        kwargs.setdefault("cache_dir", tmp_path / "cache")
        return ConfigClient(stub.url, TOKEN, **kwargs)

    return make


@pytest.fixture(autouse=True)
def no_client_environment(monkeypatch, tmp_path):
    """The developer's own CONFIG_CONSOLE_* settings must not leak into the tests."""
    for name in (
        "CONFIG_CONSOLE_URL",
        "CONFIG_CONSOLE_TOKEN",
        "CONFIG_CONSOLE_OVERRIDES",
        "CONFIG_CONSOLE_CACHE_DIR",
        "CONFIG_CONSOLE_PREVIEW",
        "CONFIG_CONSOLE_ENVIRONMENT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))

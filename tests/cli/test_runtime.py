"""Settings at start-up: production refuses an HS256 secret too short to resist offline guessing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.runtime import CliError, load_settings
from policies.tokens import MIN_HS256_SECRET_BYTES

WEAK = "k" * (MIN_HS256_SECRET_BYTES - 1)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    monkeypatch.setenv("ROUNDPOOL_HOME", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")  # never reached
    for name in ("ROUNDPOOL_JWT_PUBLIC_KEY_FILE", "ROUNDPOOL_JWT_JWKS_FILE", "MIGRATION_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("secret", ["Q", WEAK, "é" * 15])  # 'é' is 2 bytes: 30 bytes, 15 characters
def test_production_refuses_a_short_hs256_secret_in_one_line(environment: pytest.MonkeyPatch, secret: str) -> None:
    environment.setenv("ROUNDPOOL_ENVIRONMENT", "production")
    environment.setenv("ROUNDPOOL_JWT_SECRET", secret)

    with pytest.raises(CliError) as refused:
        load_settings()

    message = str(refused.value)
    size = len(secret.encode())
    assert message.startswith(f"invalid settings: ROUNDPOOL_JWT_SECRET: the HS256 secret has {size} byte")
    assert f"at least {MIN_HS256_SECRET_BYTES}" in message
    assert "\n" not in message
    assert secret not in message
    assert "nobody@" not in message  # nor any other setting's value


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_stop_before_starting_with_a_short_secret(
    environment: pytest.MonkeyPatch, command: str, restore_logging: None
) -> None:
    environment.setenv("ROUNDPOOL_ENVIRONMENT", "production")
    environment.setenv("ROUNDPOOL_JWT_SECRET", "x")

    result = CliRunner().invoke(app, [command])

    assert result.exit_code == 1, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: invalid settings: ROUNDPOOL_JWT_SECRET: the HS256 secret has 1 byte;")


def test_production_accepts_a_32_byte_secret(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("ROUNDPOOL_ENVIRONMENT", "production")
    environment.setenv("ROUNDPOOL_JWT_SECRET", "k" * MIN_HS256_SECRET_BYTES)
    assert load_settings().jwt_secret == "k" * MIN_HS256_SECRET_BYTES


def test_development_is_unaffected(environment: pytest.MonkeyPatch) -> None:
    environment.setenv("ROUNDPOOL_ENVIRONMENT", "development")
    environment.setenv("ROUNDPOOL_JWT_SECRET", "x")
    assert load_settings().jwt_secret == "x"
    environment.delenv("ROUNDPOOL_JWT_SECRET")
    generated = load_settings().jwt_secret
    assert generated is not None
    assert len(generated.encode()) >= MIN_HS256_SECRET_BYTES

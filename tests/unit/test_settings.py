"""Settings per component: a refused value names its environment variable in one line, an
unknown JOBSTREAM_* variable is warned about with the nearest known name, and
`jobstream config check` shows the effective configuration with secrets masked."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from jobstream_client.cli.main import main
from jobstream_infra.settings import (
    COMMAND_SETTINGS,
    ExecutorSettings,
    GatewaySettings,
    NotifierSettings,
    ProjectorSettings,
    SettingsRefused,
    load_settings,
    warn_unknown_variables,
)
from jobstream_infra.settings.environment import known_variables, unknown_variables

ROOT = Path(__file__).resolve().parents[2]
PORT_REFUSED = (
    "JOBSTREAM_PORT: 'abc': input should be a valid integer, unable to parse string as an integer"
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Only the variables a test sets: none from the shell or CI that runs it."""
    for name in [name for name in os.environ if name.startswith("JOBSTREAM_")]:
        monkeypatch.delenv(name)


def refusal(cls, monkeypatch, **variables: str) -> list[str]:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsRefused) as refused:
        load_settings(cls)
    return refused.value.lines


def test_a_bad_value_names_its_variable(monkeypatch):
    assert refusal(GatewaySettings, monkeypatch, JOBSTREAM_PORT="abc") == [PORT_REFUSED]


def test_a_command_refusing_a_value_exits_with_one_line_not_a_traceback(monkeypatch):
    monkeypatch.setenv("JOBSTREAM_PORT", "abc")
    with pytest.raises(SystemExit) as exited:
        main(["gateway"])
    assert exited.value.code == PORT_REFUSED


def test_a_refused_value_is_a_non_zero_exit_of_the_real_command():
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JOBSTREAM_")}
    done = subprocess.run(
        [sys.executable, "-m", "jobstream", "gateway"],
        env={**environment, "JOBSTREAM_PORT": "abc"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (1, PORT_REFUSED + "\n")


def test_an_enumeration_refuses_a_misspelled_value(monkeypatch):
    lines = refusal(ProjectorSettings, monkeypatch, JOBSTREAM_LOG_FORMAT="jsn")
    assert lines == ["JOBSTREAM_LOG_FORMAT: 'jsn': input should be 'console' or 'json'"]


def test_log_levels_are_accepted_in_capitals_as_before(monkeypatch):
    monkeypatch.setenv("JOBSTREAM_LOG_LEVEL", "DEBUG")
    assert load_settings(ProjectorSettings).log_level == "debug"


def test_auth_is_comma_separated_methods_each_one_of_three(monkeypatch):
    monkeypatch.setenv("JOBSTREAM_OIDC_ISSUER", "https://issuer.example")
    monkeypatch.setenv("JOBSTREAM_OIDC_AUDIENCE", "jobstream")
    monkeypatch.setenv("JOBSTREAM_AUTH", "apikey, oidc")
    assert load_settings(GatewaySettings).auth_methods == {"apikey", "oidc"}
    lines = refusal(GatewaySettings, monkeypatch, JOBSTREAM_AUTH="apikey,oidcc")
    assert lines == ["JOBSTREAM_AUTH: 'oidcc': input should be 'none', 'apikey' or 'oidc'"]
    lines = refusal(GatewaySettings, monkeypatch, JOBSTREAM_AUTH="none,apikey")
    assert lines == ["JOBSTREAM_AUTH: give none, apikey, oidc or apikey,oidc"]


def test_a_rule_across_fields_names_both_variables(monkeypatch):
    lines = refusal(ExecutorSettings, monkeypatch, JOBSTREAM_PROGRESS_INTERVAL="20")
    assert lines == [
        "JOBSTREAM_PROGRESS_INTERVAL (20.0) must be under half of JOBSTREAM_ACK_WAIT (6.0)"
    ]


def test_operators_concurrency_limits_are_a_json_object_of_keys(monkeypatch):
    monkeypatch.setenv("JOBSTREAM_CONCURRENCY", '{"provider:cds": 2, "dataset:{dataset_id}": 1}')
    assert ExecutorSettings().concurrency == {"provider:cds": 2, "dataset:{dataset_id}": 1}
    monkeypatch.delenv("JOBSTREAM_CONCURRENCY")
    lines = refusal(ExecutorSettings, monkeypatch, JOBSTREAM_CONCURRENCY='{"cds": 0}')
    assert len(lines) == 1 and lines[0].startswith("JOBSTREAM_CONCURRENCY")
    assert "greater than or equal to 1" in lines[0]
    lines = refusal(ExecutorSettings, monkeypatch, JOBSTREAM_CONCURRENCY="cds=2")
    assert lines == [
        "JOBSTREAM_CONCURRENCY: 'cds=2': not JSON: give an object such as {\"provider:cds\": 2}"
    ]


def test_a_list_that_is_not_json_names_its_variable(monkeypatch):
    lines = refusal(NotifierSettings, monkeypatch, JOBSTREAM_CALLBACK_BACKOFF="2,10")
    assert lines == [
        'JOBSTREAM_CALLBACK_BACKOFF: \'2,10\': not JSON: give a list such as ["a", "b"]'
    ]
    monkeypatch.setenv("JOBSTREAM_CALLBACK_BACKOFF", "[2, 10]")
    assert load_settings(NotifierSettings).callback_backoff == [2.0, 10.0]


def test_a_component_reads_only_its_own_variables(monkeypatch):
    # The gateway's port, refused, stops the gateway, not the projector.
    monkeypatch.setenv("JOBSTREAM_PORT", "abc")
    monkeypatch.setenv("JOBSTREAM_PROJECTOR_BATCH", "7")
    assert load_settings(ProjectorSettings).projector_batch == 7
    assert "port" not in ProjectorSettings.model_fields


def test_up_refuses_what_any_component_would_before_starting_anything(monkeypatch, tmp_path):
    monkeypatch.setenv("JOBSTREAM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JOBSTREAM_PROGRESS_INTERVAL", "20")
    with pytest.raises(SystemExit) as exited:
        main(["up"])
    assert exited.value.code == (
        "JOBSTREAM_PROGRESS_INTERVAL (20.0) must be under half of JOBSTREAM_ACK_WAIT (6.0)"
    )
    assert not (tmp_path / "data").exists()  # no nats-server was started


def test_an_unknown_variable_is_warned_about_with_the_nearest_known_name():
    environ = {"JOBSTREAM_PROT": "8001", "JOBSTREAM_WHATEVER": "1", "JOBSTREAM_PORT": "1"}
    with capture_logs() as logs:
        warn_unknown_variables(environ)
    warned = {(log["variable"], log["nearest"]) for log in logs if log["log_level"] == "warning"}
    assert warned == {("JOBSTREAM_PROT", "JOBSTREAM_PORT"), ("JOBSTREAM_WHATEVER", None)}


def test_variables_other_parts_read_are_not_unknown():
    environ = dict.fromkeys(
        [
            "JOBSTREAM_URL",
            "JOBSTREAM_TOKEN",
            "JOBSTREAM_NATS_ADMIN_PASSWORD",
            "JOBSTREAM_TEST_POSTGRES_URL",
            "JOBSTREAM_BENCH_POSTGRES_URL",
            "PATH",
        ],
        "x",
    )
    assert unknown_variables(environ) == {}


def test_every_jobstream_variable_the_repository_names_is_known():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    named: set[str] = set()
    for path in tracked:
        if path == "tests/unit/test_settings.py":
            continue  # this file misspells names on purpose
        try:
            text = (ROOT / path).read_text()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        named |= set(re.findall(r"\bJOBSTREAM_[A-Z0-9_]*[A-Z0-9]\b", text))
    assert named & known_variables()  # the search found them
    assert unknown_variables(dict.fromkeys(named, "x")) == {}


def check(monkeypatch, capsys, *command: str, **variables: str) -> tuple[object, str, str]:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(["config", "check", *command])
    printed = capsys.readouterr()
    return exited.value.code, printed.out, printed.err


def test_config_check_shows_values_and_their_sources_with_secrets_masked(monkeypatch, capsys):
    code, out, err = check(
        monkeypatch,
        capsys,
        "notifier",
        JOBSTREAM_NATS_PASSWORD="hunter2",
        JOBSTREAM_CALLBACK_SECRET="whsec_c2VjcmV0",
        JOBSTREAM_NOTIFIER_CONCURRENCY="3",
    )
    assert (code, err) == (0, "")
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    assert rows["JOBSTREAM_NATS_PASSWORD"] == ["environment", "********"]
    assert rows["JOBSTREAM_CALLBACK_SECRET"] == ["environment", "********"]
    assert rows["JOBSTREAM_NOTIFIER_CONCURRENCY"] == ["environment", "3"]
    assert rows["JOBSTREAM_PORT"] == ["default", "8000"]
    assert rows["JOBSTREAM_NATS_URL"] == ["default", "unset"]
    assert set(rows) == {f"JOBSTREAM_{name.upper()}" for name in NotifierSettings.model_fields}
    assert "hunter2" not in out and "c2VjcmV0" not in out


def test_config_check_exits_non_zero_naming_each_refused_value(monkeypatch, capsys):
    code, _, err = check(
        monkeypatch, capsys, JOBSTREAM_PORT="abc", JOBSTREAM_LOG_FORMAT="jsn", JOBSTREAM_PROT="1"
    )
    warning, *refused = err.splitlines()
    assert code == 1
    assert (
        warning == "warning: JOBSTREAM_PROT is read by no component (did you mean JOBSTREAM_PORT?)"
    )
    assert sorted(refused) == [
        "JOBSTREAM_LOG_FORMAT: 'jsn': input should be 'console' or 'json'",
        PORT_REFUSED,
    ]


def test_config_check_of_every_command_lists_every_variable_once(monkeypatch, capsys):
    code, out, _ = check(monkeypatch, capsys)
    variables = [line.split()[0] for line in out.splitlines()]
    every = {name for cls in COMMAND_SETTINGS.values() for name in cls.model_fields}
    assert code == 0
    assert sorted(variables) == sorted(f"JOBSTREAM_{name.upper()}" for name in every)

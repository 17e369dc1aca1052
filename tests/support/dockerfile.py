"""The Dockerfile read without a container daemon: its stages, and for each image (a stage
that installs a virtual environment) what it inherits from the stages it is built on: the
`uv sync` that made its environment, its labels, user, entry point, command, health check."""

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from .lock import closure, read_lock

ROOT = Path(__file__).resolve().parents[2]
VENV = "/app/.venv"


@dataclass(frozen=True)
class Stage:
    name: str
    base: str
    # (INSTRUCTION, arguments), the FROM line's excluded.
    instructions: tuple[tuple[str, str], ...]

    def arguments_of(self, keyword: str) -> list[str]:
        return [arguments for found, arguments in self.instructions if found == keyword]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction: comments dropped, continuations joined."""
    joined = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    parsed = []
    for line in map(str.strip, joined.splitlines()):
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            parsed.append((keyword.upper(), arguments.strip()))
    return parsed


def global_args() -> dict[str, str]:
    """The ARGs declared before the first FROM, with their defaults."""
    found = {}
    for keyword, arguments in instructions():
        if keyword == "FROM":
            break
        name, _, default = arguments.partition("=")
        found[name] = default
    return found


def stages() -> dict[str, Stage]:
    """Every stage by name, in the file's order."""
    bases: dict[str, str] = {}
    bodies: dict[str, list[tuple[str, str]]] = {}
    for keyword, arguments in instructions():
        if keyword == "FROM":
            base, _, name = arguments.partition(" AS ")
            bases[name], bodies[name] = base, []
        elif bodies:
            bodies[next(reversed(bodies))].append((keyword, arguments))
    return {name: Stage(name, bases[name], tuple(body)) for name, body in bodies.items()}


def lineage(name: str) -> list[Stage]:
    """The stage and the stages it is built on, the furthest first."""
    known = stages()
    chain = [known[name]]
    while chain[0].base in known:
        chain.insert(0, known[chain[0].base])
    return chain


def inherited(name: str, keyword: str) -> list[str]:
    """The arguments of every ``keyword`` instruction an image gets, in build order."""
    return [arguments for stage in lineage(name) for arguments in stage.arguments_of(keyword)]


def venv_stage(name: str) -> str | None:
    """The stage whose virtual environment an image copies, if it copies one."""
    for arguments in stages()[name].arguments_of("COPY"):
        words = shlex.split(arguments)
        if words[-1] == VENV and words[0].startswith("--from="):
            return words[0].removeprefix("--from=")
    return None


def images() -> list[str]:
    """The stages a build can target to get an image: those with a virtual environment."""
    return [name for name in stages() if venv_stage(name)]


def syncs(stage: str) -> list[list[str]]:
    """The words of each `uv sync` a stage runs."""
    commands = [shlex.split(run) for run in stages()[stage].arguments_of("RUN")]
    return [words[words.index("uv") :] for words in commands if "uv" in words]


def installed(image: str) -> tuple[str, tuple[str, ...]]:
    """The package (uv's --package; the workspace's root without one) and the extras an
    image's environment is synced for."""
    stage = venv_stage(image)
    assert stage is not None, image
    words = syncs(stage)[-1]
    package = words[words.index("--package") + 1] if "--package" in words else "jobstream"
    extras = tuple(words[i + 1] for i, word in enumerate(words) if word == "--extra")
    return package, extras


def image_closure(image: str) -> set[str]:
    """The distributions an image's environment holds, from uv.lock."""
    package, extras = installed(image)
    return closure(package, read_lock(), extras)


def labels(image: str) -> dict[str, str]:
    """Every label an image carries, its own over those it inherits."""
    found = {}
    for arguments in inherited(image, "LABEL"):
        found |= dict(word.split("=", 1) for word in shlex.split(arguments))
    return found


def command(image: str) -> list[str]:
    """The image's default command (its last CMD), given to its entry point."""
    return json.loads(inherited(image, "CMD")[-1])


def healthcheck(image: str) -> list[str] | None:
    """The image's HEALTHCHECK command, if it has one."""
    found = inherited(image, "HEALTHCHECK")
    return json.loads(found[-1].split("CMD", 1)[1]) if found else None


def image_name(image: str) -> str:
    """The name an image is published under (`docker build -t`): its OCI title."""
    return labels(image)["org.opencontainers.image.title"]


def image_named(name: str) -> str:
    """The build target of the image published as ``name``."""
    (image,) = [image for image in images() if image_name(image) == name]
    return image

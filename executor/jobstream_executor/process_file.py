"""The shape of a custom process file, validated whole: ids, schemas, options, the function.

See custom.py for how a file becomes a process.
"""

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jobstream_contracts.access import Role
from jobstream_contracts.concurrency import template_names
from jobstream_contracts.ogc import (
    DEFAULT_JOB_CONTROL,
    ConcurrencyLimit,
    InputDescription,
    JobControlOption,
    OutputDescription,
    Priority,
    ProcessDescription,
    RetryPolicy,
)
from jobstream_contracts.process import content_version
from jobstream_contracts.subjects import is_valid_token

# Parameters the executor passes itself; no input may take their names.
RESERVED_PARAMETERS = ("on_progress", "job")
_REFERENCE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


class ProcessFileError(ValueError):
    """A process file that cannot be used, with the file and field at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Strict):
    title: str | None = None
    description: str | None = None
    minOccurs: int = Field(default=1, ge=0)
    maxOccurs: int | Literal["unbounded"] | None = Field(default=None)
    schema_: dict[str, Any] = Field(alias="schema")

    @field_validator("maxOccurs")
    @classmethod
    def _positive(cls, value):
        if isinstance(value, int) and value < 1:
            raise ValueError("maxOccurs is at least 1 (or `unbounded`)")
        return value

    @model_validator(mode="after")
    def _occurs(self) -> "InputSpec":
        if isinstance(self.maxOccurs, int) and self.maxOccurs < self.minOccurs:
            raise ValueError(f"maxOccurs ({self.maxOccurs}) is below minOccurs ({self.minOccurs})")
        return self


class OutputSpec(_Strict):
    title: str | None = None
    description: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")


class RetrySpec(_Strict):
    maxAttempts: int = Field(default=RetryPolicy().maxAttempts, ge=1)
    backoff: list[float] = Field(default_factory=lambda: RetryPolicy().backoff, min_length=1)

    @field_validator("backoff")
    @classmethod
    def _not_negative(cls, value: list[float]) -> list[float]:
        if any(seconds < 0 for seconds in value):
            raise ValueError("backoff is a list of seconds, none negative")
        return value


class Execution(_Strict):
    # "package.module:callable" (the callable may be dotted: "module:Class.method").
    function: str

    @field_validator("function")
    @classmethod
    def _reference(cls, value: str) -> str:
        if not _REFERENCE.fullmatch(value):
            raise ValueError(f"{value!r} is not of the form 'package.module:callable'")
        return value


class OgcApi(_Strict):
    # False: not listed, described or executable over HTTP; executors still run it.
    expose: bool = True


class ProcessFile(_Strict):
    id: str
    title: str
    description: str
    # Unset: derived from the file's content (see to_description).
    version: str | None = None
    keywords: list[str] | None = None
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    outputs: dict[str, OutputSpec] = Field(min_length=1)
    jobControlOptions: list[JobControlOption] = Field(
        default_factory=lambda: list(DEFAULT_JOB_CONTROL), min_length=1
    )
    retryPolicy: RetrySpec = Field(default_factory=RetrySpec)
    # Seconds one attempt may run; unset: the executor's JOBSTREAM_MAX_RUNTIME.
    maxRuntime: float | None = Field(default=None, gt=0)
    # At most `max` jobs at once per key, across the cluster: [{key: "dataset:{dataset_id}",
    # max: 1}]; a key's `{name}` is one of the inputs.
    concurrency: list[ConcurrencyLimit] = Field(default_factory=list)
    # The lane of its asynchronous jobs: high, normal or low.
    priority: Priority = Priority.NORMAL
    # The least role that may run it over HTTP (reader, submitter, operator, auditor, admin).
    role: Role = Role.SUBMITTER
    execution: Execution
    ogcapi: OgcApi = Field(default_factory=OgcApi)

    @field_validator("id")
    @classmethod
    def _token(cls, value: str) -> str:
        if not is_valid_token(value):
            raise ValueError(
                "a process id is 1 to 64 letters, digits, '-' and '_', starting "
                "with a letter or digit"
            )
        return value

    @field_validator("inputs")
    @classmethod
    def _not_reserved(cls, value: dict[str, InputSpec]) -> dict[str, InputSpec]:
        for name in value:
            if name in RESERVED_PARAMETERS:
                raise ValueError(f"{name!r} is passed by the executor and cannot be an input")
        return value

    @field_validator("jobControlOptions")
    @classmethod
    def _unique(cls, value: list[JobControlOption]) -> list[JobControlOption]:
        if len(set(value)) != len(value):
            raise ValueError("each option may appear once")
        if JobControlOption.SYNC not in value and JobControlOption.ASYNC not in value:
            raise ValueError("needs sync-execute or async-execute (or both)")
        return value

    @model_validator(mode="after")
    def _keys_name_inputs(self) -> "ProcessFile":
        for limit in self.concurrency:
            unknown = sorted(set(template_names(limit.key)) - set(self.inputs))
            if unknown:
                raise ValueError(
                    f"concurrency key {limit.key!r} names {', '.join(unknown)}, "
                    f"not an input of the process"
                )
        return self

    def content_version(self) -> str:
        """The version of a file that declares none: from its content as validated, so a
        comment, the layout or the order of keys changes nothing, and any change to what the
        process is or runs is a new version."""
        return content_version(self.model_dump(mode="json", by_alias=True))

    def to_description(self) -> ProcessDescription:
        return ProcessDescription(
            id=self.id,
            title=self.title,
            description=self.description,
            version=self.version or self.content_version(),
            keywords=self.keywords,
            jobControlOptions=self.jobControlOptions,
            retryPolicy=RetryPolicy(**self.retryPolicy.model_dump()),
            maxRuntime=self.maxRuntime,
            concurrency=self.concurrency,
            priority=self.priority,
            role=self.role,
            inputs={
                name: InputDescription.model_validate(spec.model_dump(by_alias=True))
                for name, spec in self.inputs.items()
            },
            outputs={
                name: OutputDescription.model_validate(spec.model_dump(by_alias=True))
                for name, spec in self.outputs.items()
            },
        )

"""Settings, one class per component over shared blocks. Every value can be set as
``JOBSTREAM_<NAME>`` in the environment; docs/reference/configuration.md lists them all."""

from .base import PREFIX, JobstreamSettings, variable_of
from .blocks import (
    AccessSettings,
    AddressSettings,
    ArchiveSettings,
    CallbackNetworkSettings,
    DatasetSettings,
    EmbeddedNatsSettings,
    EstimateSettings,
    NatsSettings,
    ObservabilitySettings,
    PlanLimitSettings,
    PluginSettings,
    ViewSettings,
    size_in_bytes,
)
from .components import (
    COMMAND_SETTINGS,
    AdminSettings,
    ArchiverSettings,
    ExecutorSettings,
    GatewaySettings,
    NotifierSettings,
    ProjectorSettings,
    UpSettings,
)
from .environment import SettingsRefused, load_settings, warn_unknown_variables

__all__ = [
    "COMMAND_SETTINGS",
    "PREFIX",
    "AccessSettings",
    "AddressSettings",
    "AdminSettings",
    "ArchiveSettings",
    "ArchiverSettings",
    "CallbackNetworkSettings",
    "DatasetSettings",
    "EmbeddedNatsSettings",
    "EstimateSettings",
    "ExecutorSettings",
    "GatewaySettings",
    "JobstreamSettings",
    "NatsSettings",
    "NotifierSettings",
    "ObservabilitySettings",
    "PlanLimitSettings",
    "PluginSettings",
    "ProjectorSettings",
    "SettingsRefused",
    "UpSettings",
    "ViewSettings",
    "load_settings",
    "size_in_bytes",
    "variable_of",
    "warn_unknown_variables",
]

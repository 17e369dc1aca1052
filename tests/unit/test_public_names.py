"""jobstream_contracts' public surface: the names other packages and outside readers of the
stream may import from the package itself. A change to it is a deliberate edit of PUBLIC."""

import importlib

import jobstream_contracts

# The module each public name is defined in, so a name cannot silently change its meaning.
PUBLIC = {
    "access": ["ANONYMOUS", "API_KEY_PREFIX", "ApiKey", "Principal", "Role"]
    + ["digest_of", "new_api_key"],
    "asyncapi": ["asyncapi_document"],
    "cloudevents": ["TYPE_PREFIX", "cloud_type", "event_of", "to_cloudevent"],
    "dataset_fold": ["DatasetState", "apply_commit", "fold_commits"],
    "events": ["EVENT_TYPES", "TERMINAL_TOKENS", "Event", "EventDecodeError", "decode_event"]
    + ["EventOffSubject"]
    + ["JobSubmitted", "JobStarted", "JobProgressed", "JobSucceeded", "JobFailed"]
    + ["JobRetryScheduled", "JobDismissed", "JobEstimated", "DatasetCommitted", "JobWaiting"]
    + ["CallbackDelivered", "CallbackAbandoned", "ErrorInfo", "SnapshotRef"]
    + ["JobDefinition", "JobCreated", "JobChanged"],
    "fold": ["JobState", "apply_event", "fold_events"],
    "messages": ["Message", "EstimateRequest", "EstimateReply", "DatasetAnnouncement"],
    "ogc": ["CONFORMANCE_CLASSES", "FINAL_STATUSES", "ExceptionType", "OGCException", "Link"]
    + ["LandingPage", "ConfClasses", "JobControlOption", "TransmissionMode", "RetryPolicy"]
    + ["InputDescription", "OutputDescription", "ProcessSummary", "ProcessDescription"]
    + ["ProcessList", "OutputRequest", "Subscriber", "Execute", "StatusCode", "StatusInfo"]
    + ["JobList", "ConcurrencyLimit", "NewJob"],
    "process": ["Process", "JobContext", "ProgressCallback", "no_progress", "JobCancelled"]
    + ["PermanentError", "TooMuchWork"],
    "redaction": ["mask_url_secrets", "strip_url_secrets"],
    "status": ["HISTORY_REL", "status_info", "requested_results", "results_document"],
    "subjects": ["STREAM", "ALL_EVENTS", "PROCESS_ID_PATTERN", "is_valid_token"]
    + ["event_subject", "job_filter", "job_event_filter", "parse_subject", "notified_filters"]
    + ["estimate_subject", "estimate_cancel_subject", "projector_lease_key"]
    + ["APIKEYS_BUCKET", "DATASET_REGISTRY_BUCKET", "PROJECTOR_LEASE_BUCKET", "QUICKLOOK_BUCKET"],
}
# Renamed in the package: as `fold` and `apply` they would hide the module of that name.
RENAMED = {"apply_event": "apply", "fold_events": "fold"}


def test_all_is_exactly_the_pinned_names():
    pinned = [name for names in PUBLIC.values() for name in names]
    assert len(pinned) == len(set(pinned))
    assert len(jobstream_contracts.__all__) == len(set(jobstream_contracts.__all__))
    assert sorted(jobstream_contracts.__all__) == sorted(pinned)


def test_each_public_name_is_the_object_of_its_module():
    for module_name, names in PUBLIC.items():
        module = importlib.import_module(f"jobstream_contracts.{module_name}")
        for name in names:
            defined = getattr(module, RENAMED.get(name, name))
            assert getattr(jobstream_contracts, name) is defined, f"{module_name}.{name}"


def test_star_import_gives_the_public_names_only():
    namespace: dict[str, object] = {}
    exec("from jobstream_contracts import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(jobstream_contracts.__all__)


def test_the_fold_module_stays_reachable_beside_the_renamed_fold():
    # `import a.b as c` reads the attribute b of a: a function named fold would answer.
    import jobstream_contracts.fold as fold_module

    assert fold_module.fold is jobstream_contracts.fold_events

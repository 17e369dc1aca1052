"""A job named by its id or by a unique prefix of it, as the progress bar prints (``354677c7``).

Decision: resolved in the client, with the job list the caller may already read: the id is
asked for as given, and only when no job has it are the caller's jobs listed, page by page,
for those whose id starts with it. No gateway route is needed, and a prefix finds only jobs
the caller could see anyway. One match is the job; several are an error listing them.
"""

from jobstream_client import Client, Job, NoSuchJob
from jobstream_contracts.ogc import StatusInfo

# Jobs asked for per page while looking for a prefix (the gateway's largest page).
PAGE = 1000
# Candidates an ambiguous prefix's error lists.
SHOWN = 10


class AmbiguousId(ValueError):
    """A prefix that more than one job's id starts with."""


def find_job(client: Client, text: str) -> Job:
    """The job whose id is ``text``, else the one job whose id starts with it."""
    try:
        return client.job(text)
    except NoSuchJob:
        matches = _starting_with(client, text) if text else []
        if not matches:
            raise
    if len(matches) > 1:
        raise AmbiguousId(_ambiguous(text, matches))
    return Job(client, matches[0])


def _starting_with(client: Client, prefix: str) -> list[StatusInfo]:
    matches: list[StatusInfo] = []
    offset = 0
    while True:
        page = client.jobs(limit=PAGE, offset=offset)
        matches += [job for job in page if job.jobID.startswith(prefix)]
        if len(page) < PAGE:
            return matches
        offset += PAGE


def _ambiguous(prefix: str, matches: list[StatusInfo]) -> str:
    lines = [f"{len(matches)} jobs have an id starting with {prefix!r}; give more of it:"]
    lines += [f"  {job.jobID}  {job.processID or ''} {job.status.value}" for job in matches[:SHOWN]]
    if len(matches) > SHOWN:
        lines.append(f"  … and {len(matches) - SHOWN} more")
    return "\n".join(lines)

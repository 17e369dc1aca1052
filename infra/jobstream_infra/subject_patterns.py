"""NATS subject patterns, matched as the server matches them: ``*`` stands for one token, a
final ``>`` for one or more. What the in-memory journal filters by, as the stream does."""


def subject_matches(pattern: str, subject: str) -> bool:
    """Whether ``subject`` (no wildcards) falls under ``pattern``."""
    wanted = pattern.split(".")
    tokens = subject.split(".")
    for index, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or token not in ("*", tokens[index]):
            return False
    return len(tokens) == len(wanted)


def matches_any(patterns: list[str], subject: str) -> bool:
    return any(subject_matches(pattern, subject) for pattern in patterns)

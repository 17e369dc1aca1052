"""The access decisions, pure: roles, owners, and what each role may do."""

import pytest

from jobstream_contracts.access import ANONYMOUS, Principal, Role, digest_of, new_api_key


def who(*roles: Role, id: str = "key:alice") -> Principal:
    return Principal(id=id, roles=frozenset(roles))


@pytest.mark.parametrize(
    ("role", "has"),
    [
        (Role.READER, {Role.READER}),
        (Role.SUBMITTER, {Role.READER, Role.SUBMITTER}),
        (Role.OPERATOR, {Role.READER, Role.SUBMITTER, Role.OPERATOR}),
        (Role.AUDITOR, {Role.READER, Role.AUDITOR}),
        (Role.ADMIN, set(Role)),
    ],
)
def test_each_role_includes_exactly_the_roles_below_it(role, has):
    assert {other for other in Role if who(role).has(other)} == has


def test_readers_and_submitters_see_only_their_own_jobs():
    for role in (Role.READER, Role.SUBMITTER):
        assert who(role).may_read("key:alice")
        assert not who(role).may_read("key:bob")
        assert not who(role).may_read(None)  # jobs the service submitted are not theirs


def test_operators_and_auditors_read_every_job_but_only_operators_change_them():
    for role in (Role.OPERATOR, Role.AUDITOR, Role.ADMIN):
        assert who(role).may_read("key:bob") and who(role).may_read(None)
    assert who(Role.OPERATOR).may_change("key:bob")
    assert not who(Role.AUDITOR).may_change("key:bob")
    assert not who(Role.AUDITOR).may_change("key:alice")


def test_a_submitter_dismisses_its_own_jobs_and_a_reader_none():
    assert who(Role.SUBMITTER).may_change("key:alice")
    assert not who(Role.SUBMITTER).may_change("key:bob")
    assert not who(Role.READER).may_change("key:alice")


def test_several_roles_add_up_and_none_gives_nothing():
    both = who(Role.SUBMITTER, Role.AUDITOR)
    assert both.may_read("key:bob") and both.may_change("key:alice")
    assert not both.may_change("key:bob")
    assert not who().has(Role.READER) and not who().may_read("key:alice")


def test_without_authentication_the_one_caller_may_do_everything():
    assert all(ANONYMOUS.has(role) for role in Role)


def test_api_keys_are_random_and_stored_as_a_digest_that_does_not_contain_them():
    keys = {new_api_key() for _ in range(100)}
    assert len(keys) == 100 and all(key.startswith("jsk_") and len(key) == 47 for key in keys)
    key = keys.pop()
    assert digest_of(key) == digest_of(key) and digest_of(key) != digest_of(keys.pop())
    assert key[4:] not in digest_of(key) and len(digest_of(key)) == 64

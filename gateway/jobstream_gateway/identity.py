"""Who is calling: the bearer credential of a request, turned into a Principal."""


class Unauthenticated(Exception):
    """The request's credential is missing, malformed, unknown, revoked or expired.

    The message says which, without echoing the credential; the gateway answers 401.
    """

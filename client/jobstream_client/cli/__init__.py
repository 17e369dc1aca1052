"""The ``jobstream`` command: the client commands here, the server's when it is installed.

Installed with ``pip install 'jobstream-client[cli]'`` (the ``cli`` extra brings rich, for the
progress bar and the tables); the Python client alone does not need it. ``main`` is the
dispatcher, ``parser`` the client commands' options, ``commands`` their running.
"""

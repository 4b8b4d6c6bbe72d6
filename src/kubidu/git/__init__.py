"""Git adapter: bare repositories per service, git's own smart-HTTP backend, commit archives.

Everything here runs the real ``git`` binary with argv lists (never a shell), with ``--`` before
any user-supplied revision or URL, and only with values already checked by ``core/gitrefs.py``.
Used by ``api/git.py`` (pushes), ``control/github.py`` (webhook deploys) and built by
``bootstrap.py``.
"""

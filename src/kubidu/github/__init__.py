"""GitHub adapter: the few REST endpoints Kubidu calls, and webhook signature checks.

``client.py`` talks to the REST API at the ``KUBIDU_GITHUB_API_URL`` setting (api.github.com,
or a GitHub Enterprise server's ``/api/v3``); ``signatures.py`` verifies ``X-Hub-Signature-256``.
Used by ``services/github.py`` (signatures) and ``control/github.py`` (API calls).
"""

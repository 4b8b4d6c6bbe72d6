"""Builds: turn an uploaded source tarball into an immutable release directory.

The control layer calls :class:`kubidu.builds.builder.Builder`; the other modules are its parts:
``archive`` (safe unpacking), ``detect``/``procfile`` (what kind of app and how to start it),
``cache`` (per-team dependency cache), ``python_deps``/``node_deps`` (the installs), ``stream``
(running install commands with live logs) and ``tree`` (digests, modes, hardlink copies).
"""

"""The dashboard: server-rendered HTML pages (Jinja2) over the use-cases in ``services/``.

``app.create_web_router`` builds the router that ``server.py`` mounts at ``/``. The dashboard
authenticates with password sessions (cookie ``kubidu_session``) and protects every POST with
a CSRF token; it never touches the store or the runtimes directly.
"""

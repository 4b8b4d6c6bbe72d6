"""Use-cases: one function per user action, one transaction each, every mutation audited.

Every function authorizes the caller against the team that owns the object before reading or
writing it; objects of other teams are reported as not found. Services never import
``control/``: they enqueue jobs (``store/jobs.py``) and the workers do the rest after commit.
"""

"""Control: the deploy pipeline, the workers that claim jobs, the reconciler and edge routing.

Everything here runs inside ``kubidu server`` and drives runtimes, the builder and the edge.
It reads and writes the store directly (it is the system acting, not a user) and records
system audit entries for state changes it makes.
"""

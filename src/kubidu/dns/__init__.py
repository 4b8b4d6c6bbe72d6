"""The DNS adapter: checks that a custom domain's records are in place (dnspython).

``bootstrap.py`` builds one :class:`DnsChecker` from ``KUBIDU_DNS_RESOLVER``; the domain
use-cases (``kubidu domains verify``) and the background verifier call :meth:`DnsChecker.check`.
"""

from kubidu.dns.checker import DnsCheck, DnsChecker, parse_resolver

__all__ = ["DnsCheck", "DnsChecker", "parse_resolver"]

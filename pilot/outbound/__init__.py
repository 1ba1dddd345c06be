"""Outbound HTTP: the SSRF guard and the one pooled client every workflow request goes through.

Its own package (not part of the engine) so the engine, the tools and the LLM provider all
depend on it without depending on each other.
"""

from pilot.core.failures import retry_after_seconds
from pilot.outbound.addresses import AccessPolicy, blocked_reason, parse_ip_literal
from pilot.outbound.client import MAX_REDIRECTS, GuardedHttp, default_ssl_context
from pilot.outbound.errors import (
    DestinationBlocked, HTTPStatusFailure, InvalidURL, OutboundError, OutboundTimeout, OutboundUnavailable, ResponseTooLarge,
)
from pilot.outbound.transport import GuardedBackend, GuardedTransport, Resolver, system_resolver

__all__ = [
    "MAX_REDIRECTS", "AccessPolicy", "DestinationBlocked", "GuardedBackend", "GuardedHttp", "GuardedTransport",
    "HTTPStatusFailure", "InvalidURL", "OutboundError", "OutboundTimeout", "OutboundUnavailable", "Resolver", "ResponseTooLarge", "blocked_reason", "default_ssl_context",
    "parse_ip_literal", "retry_after_seconds", "system_resolver",
]

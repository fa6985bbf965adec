"""API client (HTTP, with a pluggable transport), informers and work queues."""

from pyk8s.client.cache import NAMESPACE_INDEX, Indexer, object_key, split_key
from pyk8s.client.clock import Clock, FakeClock, SystemClock
from pyk8s.client.errors import ApiError, is_already_exists, is_conflict, is_gone, is_not_found
from pyk8s.client.informer import Backoff, Handler, Informer, SharedInformerFactory
from pyk8s.client.inprocess import InProcessTransport
from pyk8s.client.ratelimit import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    RateLimiter,
    default_controller_rate_limiter,
)
from pyk8s.client.resource import ResourceRef, as_ref, find_resource, resource_path
from pyk8s.client.rest import Client
from pyk8s.client.transport import AiohttpTransport, Response, StreamResponse, Transport
from pyk8s.client.watchstream import WatchEvent
from pyk8s.client.workqueue import ShutDown, WorkQueue

__all__ = [
    "NAMESPACE_INDEX",
    "AiohttpTransport",
    "ApiError",
    "Backoff",
    "BucketRateLimiter",
    "Client",
    "Clock",
    "FakeClock",
    "Handler",
    "Indexer",
    "InProcessTransport",
    "Informer",
    "ItemExponentialFailureRateLimiter",
    "MaxOfRateLimiter",
    "RateLimiter",
    "ResourceRef",
    "Response",
    "SharedInformerFactory",
    "ShutDown",
    "StreamResponse",
    "SystemClock",
    "Transport",
    "WatchEvent",
    "WorkQueue",
    "as_ref",
    "default_controller_rate_limiter",
    "find_resource",
    "is_already_exists",
    "is_conflict",
    "is_gone",
    "is_not_found",
    "object_key",
    "resource_path",
    "split_key",
]

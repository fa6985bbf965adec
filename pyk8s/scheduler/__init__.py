"""The scheduler: a node cache over numpy columns, a scheduling queue, and the
framework's plugins (filter, score) as upstream's default profile."""

from pyk8s.scheduler.scheduler import ApiBinder, Binder, Scheduler

__all__ = ["ApiBinder", "Binder", "Scheduler"]

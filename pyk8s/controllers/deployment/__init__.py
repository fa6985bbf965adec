"""The Deployment controller (rolling update, recreate, revisions, progress)."""

from pyk8s.controllers.deployment.controller import DeploymentController

__all__ = ["DeploymentController"]

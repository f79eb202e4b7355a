"""Order intake: receive, ingest, or record a refused batch."""

from application.intake.orders import OrderIntake

__all__ = ["OrderIntake"]

"""fincore: the back office of a real-time payments business."""

# Load the Celery app with Django, so @shared_task binds to it and publishing works in web
# processes too.
from celery_app import app as celery_app

__all__ = ["celery_app"]

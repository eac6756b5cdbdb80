"""The Celery app. Tasks live in each app's tasks.py; periodic ones are rows of django-celery-beat's scheduler."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("aftersales_desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

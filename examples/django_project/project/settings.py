"""A small Django project: two apps with migrations (one of them a data migration)."""

import os
from pathlib import Path

from minitestdb.django import database_settings

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only-not-secret"
DEBUG = False
ALLOWED_HOSTS: list = []
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "catalog",
    "orders",
]
ROOT_URLCONF = "project.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The project's own database comes from DATABASE_URL; tests never touch it:
# the runner gives every alias a clone of a template built by `migrate`.
DATABASES = {"default": database_settings(os.environ.get("DATABASE_URL", "postgresql://postgres@localhost:5432/shop"))}

# `manage.py test` (and `--parallel N`) through minitestdb.
TEST_RUNNER = "minitestdb.django.TestRunner"
# Files that data migrations read, and anything else that decides the schema.
MINITESTDB_INPUTS = ["catalog/fixtures"]

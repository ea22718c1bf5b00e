"""A data migration: the product list every environment starts with, read from catalog/fixtures."""

import json
from pathlib import Path

from django.db import migrations

PRODUCTS = Path(__file__).resolve().parent.parent / "fixtures" / "products.json"


def load(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    for item in json.loads(PRODUCTS.read_text()):
        Product.objects.create(**item)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]

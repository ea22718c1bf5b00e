from django.db import connection
from django.test import TestCase, TransactionTestCase, tag

from catalog.models import Product


class ProductListTest(TestCase):
    def test_the_data_migration_loaded_the_products(self) -> None:
        self.assertEqual(list(Product.objects.order_by("sku").values_list("sku", flat=True)), ["MUG-1", "TEA-1", "TEA-2"])

    def test_products_can_be_added(self) -> None:
        Product.objects.create(sku="POT-1", name="Teapot", price_cents=2500)
        self.assertEqual(Product.objects.count(), 4)


@tag("minitestdb")  # true under minitestdb's runner only: the benchmark leaves it out of both runs
class DatabaseNameTest(TransactionTestCase):
    def test_runs_in_a_minitestdb_clone(self) -> None:
        self.assertTrue(connection.settings_dict["NAME"].startswith("mtdb_dj_default_"), connection.settings_dict["NAME"])

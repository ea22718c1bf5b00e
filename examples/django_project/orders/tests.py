from catalog.models import Product
from django.contrib.auth.models import User
from django.test import TestCase

from orders.models import Order


class OrderTest(TestCase):
    def setUp(self) -> None:
        self.user = User.objects.create_user("ada", "ada@example.com", "pw-for-tests")

    def test_total(self) -> None:
        order = Order.objects.create(customer=self.user, product=Product.objects.get(sku="MUG-1"), quantity=2)
        self.assertEqual(order.total_cents, 2400)

    def test_products_cannot_be_deleted_while_ordered(self) -> None:
        from django.db.models import ProtectedError

        product = Product.objects.get(sku="TEA-1")
        Order.objects.create(customer=self.user, product=product)
        with self.assertRaises(ProtectedError):
            product.delete()


class CustomerTest(TestCase):
    def test_users_start_empty(self) -> None:
        self.assertEqual(User.objects.count(), 0)

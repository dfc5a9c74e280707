from functools import partial

from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import path, re_path

from producer_django.accounts.views import UserList
from producer_django.catalog.views import ProductDetail, ProductList
from producer_django.events.views import health
from producer_django.inventory.views import AdjustStock
from producer_django.orders.views import CancelOrder, OrderDetail, OrderList, ShipOrder
from producer_django.shop.search import Search

urlpatterns = [
    path("api/users/", UserList.as_view()),
    path("api/products/", ProductList.as_view()),
    path("api/products/<str:sku>/", ProductDetail.as_view()),
    path("api/orders/", OrderList.as_view()),
    path("api/orders/<uuid:order_id>/", OrderDetail.as_view()),
    path("api/orders/<uuid:order_id>/ship/", ShipOrder.as_view()),
    path("api/orders/<uuid:order_id>/cancel/", CancelOrder.as_view()),
    path("api/inventory/<str:sku>/adjust/", AdjustStock.as_view()),
    path("api/search/", Search.as_view()),
    path("health/", health),
    path("admin/", admin.site.urls),
    # The local stack runs gunicorn without a web server in front: serve the admin's CSS/JS
    # from the installed apps. A deployment puts collectstatic output behind its web server.
    re_path(r"^static/(?P<path>.*)$", partial(serve_static, insecure=True)),
]

from functools import partial

from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import path, re_path
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from drf_spectacular.views import SpectacularAPIView

from producer_django.shop.accounts.views import UserList
from producer_django.shop.catalog.views import ProductDetail, ProductList
from producer_django.shop.health import Health
from producer_django.shop.inventory.views import AdjustStock
from producer_django.shop.orders.views import CancelOrder, OrderDetail, OrderList, ShipOrder
from producer_django.shop.search import Search

# An unknown path under /api/ answers the API's JSON error, not Django's HTML page.
handler404 = "producer_django.shop.errors.not_found"
handler500 = "producer_django.shop.errors.server_error"

urlpatterns = [
    path("api/users/", UserList.as_view()),
    path("api/products/", ProductList.as_view()),
    path("api/products/<str:sku>/", ProductDetail.as_view()),
    path("api/orders/", OrderList.as_view()),
    # Any text, so that an id that is not a UUID gets the API's JSON 404 from the view.
    path("api/orders/<str:order_id>/", OrderDetail.as_view()),
    path("api/orders/<str:order_id>/ship/", ShipOrder.as_view()),
    path("api/orders/<str:order_id>/cancel/", CancelOrder.as_view()),
    path("api/inventory/<str:sku>/adjust/", AdjustStock.as_view()),
    path("api/search/", Search.as_view()),
    # The OpenAPI 3 description: JSON by default, `?format=yaml` for YAML.
    path(
        "api/schema/",
        SpectacularAPIView.as_view(renderer_classes=[OpenApiJsonRenderer, OpenApiYamlRenderer]),
    ),
    path("health/", Health.as_view()),
    path("admin/", admin.site.urls),
    # The local stack runs gunicorn without a web server in front: serve the admin's CSS/JS
    # from the installed apps. A deployment puts collectstatic output behind its web server.
    re_path(r"^static/(?P<path>.*)$", partial(serve_static, insecure=True)),
]

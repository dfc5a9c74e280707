"""The demo shop: a Django project whose apps publish their events through `events`."""

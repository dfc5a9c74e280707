"""Orders: place (stock reserved under a row lock), ship, cancel."""

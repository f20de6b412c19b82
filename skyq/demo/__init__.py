"""A small shop served from the package, for the quickstart and demos."""

from pathlib import Path

SITE = Path(__file__).parent / "site"
PRODUCTS_SCHEMA = Path(__file__).parent / "products.schema.json"

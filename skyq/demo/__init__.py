"""A small shop served from the package, for the quickstart and demos."""

from pathlib import Path

SITE = Path(__file__).parent / "site"
PRODUCTS_SCHEMA = Path(__file__).parent / "products.schema.json"
# The workflow `skyq demo` publishes and runs as code (no model needed).
TOP3_WORKFLOW = Path(__file__).parent / "top3.workflow.py"
TOP3_PROMPT = "Extract the name, price and rating of the top 3 products"

"""Extract the name, price and rating of the top 3 products

The demo's published workflow, as skyq writes one from a run: `skyq demo` runs it with
run_with="code" (no model) against the bundled shop. It runs on its own too:
    python top3.workflow.py --param shop_url=http://127.0.0.1:8765/
"""

from skyq.browser.script_helpers import main, read_each

PARAMETERS = {"shop_url": "http://127.0.0.1:8765/"}


async def run(page, params):
    await page.goto(params["shop_url"])
    return {
        "products": await read_each(
            page.locator("body > section.grid > article.card"),
            {
                "name": {"css": "h2", "type": "text"},
                "price": {"css": "p.price", "type": "number"},
                "rating": {"css": "p.stars", "type": "number"},
            },
            limit=3,
        ),
    }


if __name__ == "__main__":
    main(run, PARAMETERS)

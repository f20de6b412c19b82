"""Fixture pages of a fixed size, generated here and served on loopback: a shop-like
page with N elements (links, inputs, buttons, selects and table cells in a fixed mix),
so every framework observes the same DOM."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SIZES = (100, 1_000, 10_000)


def page_html(elements: int) -> str:
    """A page with ``elements`` visible elements, a fifth of them actionable."""
    rows = []
    for i in range(elements // 5):
        rows.append(
            f"<tr><td>Item {i}</td><td>${i % 97}.{i % 100:02d}</td>"
            f'<td><a href="/item/{i}">details</a></td>'
            f'<td><input name="qty{i}" placeholder="qty {i}"></td>'
            f'<td><button type="button">Add {i}</button></td></tr>'
        )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>'
        f"{elements} elements</title></head><body><h1>Catalogue</h1>"
        '<form><label>Search <input name="q"></label>'
        '<select name="sort"><option>price</option><option>name</option></select>'
        "<button>Go</button></form><table>" + "".join(rows) + "</table></body></html>"
    )


def actionable(elements: int) -> int:
    """How many actionable elements ``page_html(elements)`` has."""
    return 3 * (elements // 5) + 3


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free loopback port; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *_: object) -> None:
        """Quiet: a benchmark's output is its table."""


SIGNUP_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>Sign up</title></head>
<body><h1>Newsletter</h1>
<form id="f"><label>Name <input name="name" id="name"></label>
<label>Email <input name="email" id="email"></label>
<button type="submit">Subscribe</button></form>
<p id="result"></p>
<script>
document.getElementById("f").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = document.getElementById("name").value;
  const member = name.length * 7;
  document.getElementById("result").textContent = "Welcome " + name + ", member #" + member;
});
</script></body></html>"""


def write_pages(folder: Path) -> dict[int, str]:
    """Write a page per size; the file name of each."""
    names = {}
    for size in SIZES:
        name = f"elements-{size}.html"
        (folder / name).write_text(page_html(size))
        names[size] = name
    (folder / "signup.html").write_text(SIGNUP_HTML)
    return names

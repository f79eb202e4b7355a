"""One layout for every dashboard page: head, header, skip link and scripts.

A file in ``pages/`` holds only what goes inside a page's ``<main>``; the page
is put together once, when the module loads, so every page shares one head and
one navigation slot and none of them can drift from the others.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

LAYOUT = Template((Path(__file__).parent / "layout.html").read_text(encoding="utf-8"))
PAGES_DIR = Path(__file__).parent / "pages"

#: Filled in by common.js with the navigation of the signed-in role.
NAVIGATION_HEADER = '<header class="site-header" id="site-header"></header>'
#: Before sign-in there is no navigation to show.
BRAND_HEADER = '<header class="site-header"><div class="bar"><span class="brand">WMS Intake</span></div></header>'


def render_page(
    name: str, title: str, *, signed_in: bool = True, stylesheets: tuple[str, ...] = (), scripts: tuple[str, ...] = ()
) -> bytes:
    """``pages/{name}.html`` in the layout, with ``static/js/{name}.js`` as its script."""
    return LAYOUT.substitute(
        name=name,
        title=title,
        header=NAVIGATION_HEADER if signed_in else BRAND_HEADER,
        main=(PAGES_DIR / f"{name}.html").read_text(encoding="utf-8"),
        stylesheets="".join(f'  <link rel="stylesheet" href="{href}">\n' for href in stylesheets),
        scripts="".join(f'  <script src="{src}"></script>\n' for src in scripts),
    ).encode("utf-8")

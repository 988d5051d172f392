"""The dashboard's page and files over HTTP: a strict CSP, nothing inline, every file it names."""

from __future__ import annotations

import re

from service.routes.dashboard import FILES
from tests.api.conftest import Client

REFERENCES = re.compile(r'(?:src|href)="(/dashboard/[^"]+)"')
IMPORTS = re.compile(r'^import .* from "(\.{1,2}/[^"]+)";$', re.MULTILINE)


async def test_the_page_has_a_strict_content_security_policy(client: Client) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in page.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src", "img-src"):
        assert policy[directive] == "'self'", directive
    assert policy["frame-ancestors"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    # Nothing inline for the policy to refuse: scripts and styles are files.
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)
    assert "<style" not in page.text and " style=" not in page.text
    assert not re.search(r"\son[a-z]+=", page.text)  # no inline event handlers


async def test_every_file_the_page_names_is_served(client: Client) -> None:
    page = (await client.get("/")).text
    wanted = set(REFERENCES.findall(page))
    assert "/dashboard/js/main.js" in wanted
    for module in (FILES / "static" / "js").glob("*.js"):  # and what the modules import
        for target in IMPORTS.findall(module.read_text()):
            wanted.add("/dashboard/" + (module.parent / target).resolve().relative_to(
                (FILES / "static").resolve()).as_posix())  # fmt: skip
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for path in sorted(wanted):
        served = await client.get(path)
        assert served.status_code == 200, path
        assert served.headers["content-type"].startswith(types[path[path.rindex(".") :]]), path


async def test_only_the_static_files_are_served(client: Client) -> None:
    for path in (
        "/dashboard/index.html",
        "/dashboard/%2e%2e/routes/dashboard.py",
        "/dashboard/..%2froutes%2fdashboard.py",
        "/dashboard/nope.js",
    ):
        assert (await client.get(path)).status_code == 404, path

"""A statement opened in a browser: an authenticated view that serves a
site's exported files and nothing else (a signed URL from the
``export_statements`` answer opens it without a login header)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Final

from aiohttp import web
from homeassistant.components.http.auth import async_sign_path
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.http import KEY_HASS, HomeAssistantView

from .const import DOMAIN
from .statement_store import statement_path

URL_PREFIX: Final = f"/api/{DOMAIN}/statements"
SIGNED_FOR: Final = timedelta(hours=1)
_REGISTERED: Final = f"{DOMAIN}_statement_view"
_TYPES: Final = {".csv": "text/csv", ".html": "text/html"}
_HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    # The statement is escaped HTML; still, nothing in it may run or load.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


def statements_base(hass: HomeAssistant) -> Path:
    """Where every site's statements are written."""
    return Path(hass.config.path(DOMAIN, "statements"))


class StatementView(HomeAssistantView):
    """``GET /api/ev_power_share/statements/<entry id>/<YYYY-MM>/<file>``."""

    url = URL_PREFIX + "/{entry_id}/{month}/{name}"
    name = f"api:{DOMAIN}:statements"
    requires_auth = True

    async def get(
        self, request: web.Request, entry_id: str, month: str, name: str
    ) -> web.Response:
        """The file, if it is one of an export's."""
        hass = request.app[KEY_HASS]
        path = await hass.async_add_executor_job(
            statement_path, statements_base(hass), entry_id, month, name
        )
        if path is None:
            raise web.HTTPNotFound
        body = await hass.async_add_executor_job(path.read_bytes)
        return web.Response(
            body=body,
            content_type=_TYPES[path.suffix],
            charset="utf-8",
            headers=_HEADERS,
        )


@callback
def async_signed_url(
    hass: HomeAssistant, entry_id: str, month: str, name: str
) -> str | None:
    """A URL a browser opens the file with for :data:`SIGNED_FOR` (None: Home
    Assistant serves no HTTP)."""
    if "http" not in hass.config.components:
        return None
    if not hass.data.get(_REGISTERED):
        hass.http.register_view(StatementView())
        hass.data[_REGISTERED] = True
    return async_sign_path(hass, f"{URL_PREFIX}/{entry_id}/{month}/{name}", SIGNED_FOR)

"""One API's chat links: open one of the user's tokens in a chat app with the appliance's address and the key
filled in (NextChat, or the ChatLink option's own deployment; LobeChat; AMA; OpenCat). Used by the Tokens page's
row menu and the Playground. The key goes to the browser only inside the link it opens, never into state."""

from __future__ import annotations

import json
from urllib.parse import quote

NEXTCHAT = "https://app.nextchat.dev"
LOBECHAT = "https://chat-preview.lobehub.com"
APPS = (("nextchat", "NextChat"), ("lobechat", "LobeChat"), ("ama", "AMA"), ("opencat", "OpenCat"))


def chat_links(key: str, server: str, chat_link: str = "") -> dict[str, str]:
    """one-api's chat links for a token (``key`` with its sk- prefix, ``server`` the appliance's address)."""
    nextchat = json.dumps({"key": key, "url": server}, separators=(",", ":"))
    lobe = json.dumps({"keyVaults": {"openai": {"apiKey": key, "baseURL": server + "/v1"}}}, separators=(",", ":"))
    return {
        "nextchat": f"{(chat_link or NEXTCHAT).rstrip('/')}/#/?settings={nextchat}",
        "lobechat": f"{(chat_link or LOBECHAT).rstrip('/')}/?settings={lobe}",
        "ama": f"ama://set-api-key?server={quote(server, safe='')}&key={key}",
        "opencat": f"opencat://team/join?domain={quote(server, safe='')}&token={key}",
    }


def open_script(key: str, server: str, chat_link: str, app: str) -> str | None:
    """The browser script opening ``app`` for this key (None for an unknown app)."""
    link = chat_links(key, server, chat_link if app == "nextchat" else "").get(app)
    return f"window.open({json.dumps(link)}, '_blank', 'noopener')" if link else None

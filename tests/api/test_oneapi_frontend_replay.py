"""One API's own web UIs against this project's /api: every /api call site of web/default (One API commit
8df4a267) and the ones of web/berry and web/air that differ, replayed with the shapes those frontends send
and checked for the shapes they read.

``SITES`` below is the table of call sites, in the order a person using the UI would make them: where the call
is made (file:line under web/<theme>/src), the method and the path with its query as the frontend builds
it, the body it sends, and the shape of the answer it reads (field -> JSON type; ``str`` fields must be
strings, never null: the UIs call ``.split(',')`` and ``JSON.parse`` on them). A few calls can only fail here
(OAuth providers that are not configured, a balance query the fake upstream cannot answer): they must fail
the way the UI expects, ``success: false`` with a message, never a 404 or a 5xx. Calls that web/air makes to
routes One API does not have either get the JSON 404.

The browser's habits are kept: a session cookie (no access token), ``Sec-Fetch-Site: same-origin``, and
redirects followed as axios does (gin redirects a trailing slash; so does this project now).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from oneapi_app.api import create_api
from oneapi_app.runtime import Runtime
from tests.local_server import smtp_server

from ..relay.conftest import upstream  # noqa: F401 -- the fake OpenAI-shaped upstream fixture
from .conftest import ROOT_ACCESS_TOKEN
from .test_mail import Inbox

# --- shapes: what the frontends read ---------------------------------------------------------------------
S, I, B = str, int, bool
N = (int, float)  # a JSON number
ANY = object()  # read as a whole or not read


@dataclass(frozen=True)
class ListOf:
    item: Any
    min_len: int = 0


@dataclass(frozen=True)
class DictOf:
    value: Any


STATUS = {"version": S, "start_time": I, "system_name": S, "logo": S, "footer_html": S, "quota_per_unit": N,
          "display_in_currency": B, "chat_link": S, "email_verification": B, "github_oauth": B,
          "github_client_id": S, "lark_client_id": S, "wechat_login": B, "wechat_qrcode": S, "server_address": S,
          "turnstile_check": B, "turnstile_site_key": S, "top_up_link": S, "oidc": B, "oidc_client_id": S}
LOGIN_USER = {"id": I, "username": S, "display_name": S, "role": I, "status": I}
USER = {**LOGIN_USER, "email": S, "github_id": S, "wechat_id": S, "quota": I, "used_quota": I, "request_count": I,
        "group": S, "aff_code": S}
TOKEN = {"id": I, "user_id": I, "key": S, "status": I, "name": S, "created_time": I, "accessed_time": I,
         "expired_time": I, "remain_quota": I, "unlimited_quota": B, "used_quota": I, "models": S, "subnet": S}
CHANNEL = {"id": I, "type": I, "status": I, "name": S, "weight": I, "created_time": I, "test_time": I,
           "response_time": I, "base_url": S, "other": S, "balance": N, "balance_updated_time": I, "models": S,
           "group": S, "used_quota": I, "model_mapping": S, "priority": I, "config": S, "system_prompt": S}
REDEMPTION = {"id": I, "user_id": I, "key": S, "status": I, "name": S, "quota": I, "created_time": I,
              "redeemed_time": I}
OWN_LOG = {"created_at": I, "type": I, "content": S, "username": S, "token_name": S, "model_name": S, "quota": I,
           "prompt_tokens": I, "completion_tokens": I, "request_id": S, "elapsed_time": I, "is_stream": B,
           "system_prompt_reset": B}
LOG = {**OWN_LOG, "id": I, "user_id": I, "channel": I}
OPTION = {"key": S, "value": S}
DASHBOARD_ROW = {"Day": S, "ModelName": S, "RequestCount": I, "Quota": I, "PromptTokens": I, "CompletionTokens": I}


def ok(data: Any = ANY) -> dict:
    """One API's envelope with success; ``data`` is what the frontend reads of it."""
    return {"success": True, "message": S, "data": data}


# How a call must end.
OK = "ok"  # the shape above, with success: true
REFUSED = "refused"  # success: false and a message the UI shows (status < 500, not the 404 of a missing route)
NOT_ONE_API = "not-one-api"  # a route One API does not have either: the JSON 404


@dataclass(frozen=True)
class Site:
    src: str  # where the frontend makes the call (web/<theme>/src/...)
    method: str
    url: str  # as the frontend builds it; {name} = a value the replay learnt earlier
    body: Any = None  # the JSON it sends (a callable builds it from the replay's state)
    reads: Any = field(default_factory=ok)  # the shape it reads
    expect: str = OK
    who: str = "root"  # whose browser: root, alice (a common user), guest
    then: Callable[[dict, dict], None] | None = None  # what the replay learns from the answer
    why: str = ""  # for REFUSED: why it cannot succeed here


def _learn(key: str, path: Callable[[dict], Any]) -> Callable[[dict, dict], None]:
    return lambda state, answer: state.__setitem__(key, path(answer))


NOW = int(time.time())
LOG_QUERY = ("type=0&username=&token_name=&model_name=&start_timestamp=0&end_timestamp={end}&channel=")
CHANNEL_CONFIG = json.dumps({"region": "", "sk": "", "ak": "", "user_id": "", "vertex_ai_project_id": "",
                             "vertex_ai_adc": ""}, separators=(",", ":"))


def _channel_form(state: dict) -> dict:
    """EditChannel.js's submit: the channel as loaded, models and groups joined back, the config form."""
    data = dict(state["channel"])
    return {**data, "models": data["models"], "groups": data["group"].split(","), "group": data["group"],
            "config": CHANNEL_CONFIG, "id": data["id"]}


def _token_form(state: dict) -> dict:
    """EditToken.js's submit: the token as loaded (models split and joined back), remain_quota parsed."""
    return {**state["token"], "models": state["token"]["models"], "id": state["token"]["id"]}


def _ratio_form(state: dict) -> dict:
    """OperationSetting.js: the table pretty-printed (JSON.stringify(.., null, 2)), one price changed."""
    table = json.loads(state["options"]["ModelRatio"])
    table["gpt-4o-mini"] = 0.1
    return {"key": "ModelRatio", "value": json.dumps(table, indent=2)}


D = "web/default/src/"
SITES: list[Site] = [
    # First visit, registration without an invitation code, login.
    Site(D + "App.js:46", "GET", "/api/status", reads=ok(STATUS), who="guest"),
    Site(D + "pages/Home/index.js:18", "GET", "/api/notice", reads=ok(S), who="guest"),
    Site(D + "pages/Home/index.js:34", "GET", "/api/home_page_content", reads=ok(S), who="guest"),
    Site(D + "pages/About/index.js:14", "GET", "/api/about", reads=ok(S), who="guest"),
    Site(D + "components/RegisterForm.js:92", "POST", "/api/user/register?turnstile=",
         {"username": "alice", "password": "password1", "password2": "password1", "email": "",
          "verification_code": "", "aff_code": None}, who="guest"),
    Site(D + "components/LoginForm.js:77", "POST", "/api/user/login", {"username": "root", "password": "123456"},
         reads=ok(LOGIN_USER)),
    Site(D + "components/LoginForm.js:77", "POST", "/api/user/login", {"username": "alice", "password": "password1"},
         reads=ok(LOGIN_USER), who="alice"),
    Site(D + "components/utils.js:4", "GET", "/api/oauth/state", reads=ok(S),
         then=_learn("state", lambda a: a["data"])),
    Site(D + "components/GitHubOAuth.js:17", "GET", "/api/oauth/github?code=abc&state={state}", expect=REFUSED,
         why="GitHub OAuth is not configured"),
    Site(D + "components/LarkOAuth.js:17", "GET", "/api/oauth/lark?code=abc&state={state}", expect=REFUSED,
         why="Lark OAuth is not configured"),
    Site(D + "components/LoginForm.js:54", "GET", "/api/oauth/wechat?code=123456", expect=REFUSED, who="guest",
         why="WeChat login is not configured"),
    Site(D + "components/PersonalSetting.js:139", "GET", "/api/oauth/wechat/bind?code=123456", expect=REFUSED,
         who="alice", why="WeChat login is not configured"),
    Site(D + "helpers/utils.js:195", "GET", "/api/models", reads=ok(DictOf(ListOf(S)))),
    # Tokens: create with no model limit, list, edit (the form splits models on commas), toggle, search.
    Site(D + "pages/Token/EditToken.js:89", "GET", "/api/user/available_models", reads=ok(ListOf(S))),
    Site(D + "pages/Token/EditToken.js:140", "POST", "/api/token/",
         {"name": "web", "remain_quota": 500000, "expired_time": -1, "unlimited_quota": False, "models": "",
          "subnet": ""}),
    Site(D + "components/TokensTable.js:92", "GET", "/api/token/?p=0&order=", reads=ok(ListOf(TOKEN, 1)),
         then=_learn("token_id", lambda a: a["data"][0]["id"])),
    Site(D + "pages/Token/EditToken.js:66", "GET", "/api/token/{token_id}", reads=ok(TOKEN),
         then=_learn("token", lambda a: a["data"])),
    Site(D + "pages/Token/EditToken.js:135", "PUT", "/api/token/", _token_form),
    Site(D + "components/TokensTable.js:235", "PUT", "/api/token/?status_only=true",
         lambda s: {"id": s["token_id"], "status": 2}, reads=ok({"status": I})),
    Site(D + "components/TokensTable.js:231", "PUT", "/api/token/?status_only=true",
         lambda s: {"id": s["token_id"], "status": 1}, reads=ok({"status": I})),
    Site(D + "components/TokensTable.js:264", "GET", "/api/token/search?keyword=web", reads=ok(ListOf(TOKEN, 1))),
    # Channels: the model and group pickers, create, list, load and save the edit form, the row actions.
    Site(D + "pages/Channel/EditChannel.js:117", "GET", "/api/channel/models",
         reads={"object": S, "data": ListOf({"id": S}, 1)}),
    Site(D + "pages/Channel/EditChannel.js:132", "GET", "/api/group/", reads=ok(ListOf(S, 1))),
    Site(D + "pages/Channel/EditChannel.js:217", "POST", "/api/channel/",
         lambda s: {"name": "fake", "type": 1, "key": "ok", "base_url": s["upstream"], "other": "",
                    "model_mapping": "", "system_prompt": "", "models": "gpt-4o-mini,gpt-4o", "groups": ["default"],
                    "group": "default", "config": CHANNEL_CONFIG}),
    Site(D + "components/ChannelsTable.js:113", "GET", "/api/channel/?p=0", reads=ok(ListOf(CHANNEL, 1)),
         then=_learn("channel_id", lambda a: a["data"][0]["id"])),
    Site(D + "pages/Channel/EditChannel.js:84", "GET", "/api/channel/{channel_id}", reads=ok(CHANNEL),
         then=_learn("channel", lambda a: a["data"])),
    Site(D + "pages/Channel/EditChannel.js:212", "PUT", "/api/channel/", _channel_form),
    Site(D + "components/ChannelsTable.js:176", "PUT", "/api/channel/", lambda s: {"id": s["channel_id"], "status": 2},
         reads=ok({"status": I})),
    Site(D + "components/ChannelsTable.js:172", "PUT", "/api/channel/", lambda s: {"id": s["channel_id"], "status": 1},
         reads=ok({"status": I})),
    Site(D + "components/ChannelsTable.js:183", "PUT", "/api/channel/",
         lambda s: {"id": s["channel_id"], "priority": 5}, reads=ok({"status": I})),
    Site(D + "components/ChannelsTable.js:193", "PUT", "/api/channel/", lambda s: {"id": s["channel_id"], "weight": 3},
         reads=ok({"status": I})),
    Site(D + "components/ChannelsTable.js:298", "GET", "/api/channel/search?keyword=fake",
         reads=ok(ListOf(CHANNEL, 1))),
    Site(D + "components/ChannelsTable.js:318", "GET", "/api/channel/test/{channel_id}?model=gpt-4o-mini",
         reads={"success": True, "message": S, "time": N}),
    Site(D + "components/ChannelsTable.js:340", "GET", "/api/channel/test?scope=all"),
    Site(D + "components/ChannelsTable.js:363", "GET", "/api/channel/update_balance/{channel_id}/", expect=REFUSED,
         why="the fake upstream has no billing endpoint (the route is reached through gin's slash redirect)"),
    Site(D + "components/ChannelsTable.js:379", "GET", "/api/channel/update_balance"),
    # Redemption codes: create two, list, load and save the edit form (count is NaN -> null), toggle, search.
    Site(D + "pages/Redemption/EditRedemption.js:59", "POST", "/api/redemption/",
         {"name": "gift", "quota": 100000, "count": 2}, reads=ok(ListOf(S, 2)),
         then=_learn("codes", lambda a: a["data"])),
    Site(D + "components/RedemptionsTable.js:67", "GET", "/api/redemption/?p=0", reads=ok(ListOf(REDEMPTION, 2)),
         then=_learn("redemption_id", lambda a: a["data"][0]["id"])),
    Site(D + "pages/Redemption/EditRedemption.js:32", "GET", "/api/redemption/{redemption_id}", reads=ok(REDEMPTION),
         then=_learn("redemption", lambda a: a["data"])),
    Site(D + "pages/Redemption/EditRedemption.js:54", "PUT", "/api/redemption/",
         lambda s: {**s["redemption"], "count": None, "id": s["redemption_id"]}),
    Site(D + "components/RedemptionsTable.js:114", "PUT", "/api/redemption/?status_only=true",
         lambda s: {"id": s["redemption_id"], "status": 2}, reads=ok({"status": I})),
    Site(D + "components/RedemptionsTable.js:110", "PUT", "/api/redemption/?status_only=true",
         lambda s: {"id": s["redemption_id"], "status": 1}, reads=ok({"status": I})),
    Site(D + "components/RedemptionsTable.js:142", "GET", "/api/redemption/search?keyword=gift",
         reads=ok(ListOf(REDEMPTION, 2))),
    # The user redeems a code and looks at the logs (admins send channel= empty, start_timestamp may be NaN).
    Site(D + "pages/TopUp/index.js:30", "POST", "/api/user/topup", lambda s: {"key": s["codes"][1]}, reads=ok(I),
         who="alice"),
    Site(D + "pages/TopUp/index.js:65", "GET", "/api/user/self", reads=ok(USER), who="alice"),
    Site(D + "components/LogsTable.js:230", "GET", "/api/log/?p=0&" + LOG_QUERY, reads=ok(ListOf(LOG, 1))),
    Site(D + "components/LogsTable.js:230", "GET", "/api/log/?p=0&type=0&username=&token_name=&model_name="
         "&start_timestamp=NaN&end_timestamp=NaN&channel=", reads=ok(ListOf(LOG, 1))),
    Site(D + "components/LogsTable.js:230", "GET", "/api/log/self/?p=0&type=0&token_name=&model_name="
         "&start_timestamp=0&end_timestamp={end}", reads=ok(ListOf(OWN_LOG, 1)), who="alice"),
    Site(D + "components/LogsTable.js:195", "GET", "/api/log/stat?" + LOG_QUERY, reads=ok({"quota": I})),
    Site(D + "components/LogsTable.js:181", "GET", "/api/log/self/stat?type=0&token_name=&model_name="
         "&start_timestamp=NaN&end_timestamp={end}", reads=ok({"quota": I}), who="alice"),
    Site(D + "components/LogsTable.js:274", "GET", "/api/log/self/search?keyword=", reads=ok(ListOf(OWN_LOG)),
         who="alice"),
    # Users: add, list, search, disable/enable, edit (the whole user is sent back), root's own profile.
    Site(D + "pages/User/AddUser.js:22", "POST", "/api/user/",
         {"username": "bob", "display_name": "", "password": "password1"}),
    Site(D + "components/UsersTable.js:48", "GET", "/api/user/?p=0&order=", reads=ok(ListOf(USER, 3))),
    Site(D + "components/UsersTable.js:135", "GET", "/api/user/search?keyword=bob", reads=ok(ListOf(USER, 1)),
         then=_learn("bob_id", lambda a: a["data"][0]["id"])),
    Site(D + "components/UsersTable.js:84", "POST", "/api/user/manage", {"username": "bob", "action": "disable"},
         reads=ok({"role": I, "status": I})),
    Site(D + "components/UsersTable.js:84", "POST", "/api/user/manage", {"username": "bob", "action": "enable"},
         reads=ok({"role": I, "status": I})),
    Site(D + "pages/User/EditUser.js:39", "GET", "/api/group/", reads=ok(ListOf(S, 1))),
    Site(D + "pages/User/EditUser.js:58", "GET", "/api/user/{bob_id}", reads=ok(USER),
         then=_learn("bob", lambda a: a["data"])),
    Site(D + "pages/User/EditUser.js:85", "PUT", "/api/user/",
         lambda s: {**s["bob"], "password": "", "display_name": "Bob", "id": s["bob_id"]}),
    Site(D + "pages/User/EditUser.js:60", "GET", "/api/user/self", reads=ok(USER),
         then=_learn("root", lambda a: a["data"])),
    Site(D + "pages/User/EditUser.js:87", "PUT", "/api/user/self", lambda s: {**s["root"], "password": ""}),
    # Personal settings: access token, invitation link, email binding, password reset by mail.
    Site(D + "components/PersonalSetting.js:79", "GET", "/api/user/token", reads=ok(S), who="alice"),
    Site(D + "components/PersonalSetting.js:92", "GET", "/api/user/aff", reads=ok(S), who="alice"),
    Site(D + "components/PersonalSetting.js:159", "GET", "/api/verification?email=alice@example.com&turnstile=",
         who="alice", then=lambda s, a: s.__setitem__("code", s["inbox"].code())),
    Site(D + "components/PersonalSetting.js:174", "GET", "/api/oauth/email/bind?email=alice@example.com&code={code}",
         who="alice"),
    Site(D + "components/RegisterForm.js:115", "GET", "/api/verification?email=carol@example.com&turnstile=",
         who="guest"),
    Site(D + "components/PasswordResetForm.js:66", "GET", "/api/reset_password?email=alice@example.com&turnstile=",
         who="guest", then=lambda s, a: s.__setitem__("reset", s["inbox"].reset_token())),
    Site(D + "components/PasswordResetConfirm.js:56", "POST", "/api/user/reset",
         lambda s: {"email": "alice@example.com", "token": s["reset"]}, reads=ok(S), who="guest",
         then=_learn("new_password", lambda a: a["data"])),
    # (the reset ended alice's sessions: she logs in with the new password)
    Site(D + "components/LoginForm.js:77", "POST", "/api/user/login",
         lambda s: {"username": "alice", "password": s["new_password"]}, reads=ok(LOGIN_USER), who="alice"),
    # Settings: every option as a string, the ratio tables whole, saved back pretty-printed.
    Site(D + "components/OperationSetting.js:43", "GET", "/api/option/", reads=ok(ListOf(OPTION, 40)),
         then=_learn("options", lambda a: {o["key"]: o["value"] for o in a["data"]})),
    Site(D + "components/OperationSetting.js:76", "PUT", "/api/option/", _ratio_form),
    Site(D + "components/OperationSetting.js:76", "PUT", "/api/option/", {"key": "QuotaPerUnit", "value": "500000"}),
    Site(D + "components/OperationSetting.js:76", "PUT", "/api/option/",
         {"key": "LogConsumeEnabled", "value": "false"}),
    Site(D + "components/SystemSetting.js:54", "GET", "/api/option/", reads=ok(ListOf(OPTION, 40))),
    Site(D + "components/SystemSetting.js:97", "PUT", "/api/option/", {"key": "ServerAddress",
                                                                      "value": "https://gw.example.com"}),
    Site(D + "components/OtherSetting.js:35", "GET", "/api/option/", reads=ok(ListOf(OPTION, 40))),
    Site(D + "components/OtherSetting.js:56", "PUT", "/api/option/", {"key": "Notice", "value": "# Hello"}),
    Site(D + "components/OperationSetting.js:174", "DELETE", "/api/log/?target_timestamp={month_ago}",
         reads=ok(I)),
    # Row deletions (with the trailing slash the tables add), then the user leaves.
    Site(D + "components/TokensTable.js:227", "DELETE", "/api/token/{token_id}/"),
    Site(D + "components/RedemptionsTable.js:106", "DELETE", "/api/redemption/{redemption_id}/"),
    Site(D + "components/ChannelsTable.js:168", "DELETE", "/api/channel/{channel_id}/"),
    Site(D + "components/ChannelsTable.js:350", "DELETE", "/api/channel/disabled", reads=ok(I)),
    Site(D + "components/PersonalSetting.js:123", "DELETE", "/api/user/self", who="alice"),
    Site(D + "components/PersonalSetting.js:128", "GET", "/api/user/logout", who="alice"),
    Site(D + "components/Header.js:95", "GET", "/api/user/logout", who="guest"),
]

B_ = "web/berry/src/"
A_ = "web/air/src/"
EXTRA_SITES: list[Site] = [
    # web/berry: a dashboard page, OIDC, axios' serialised log filters (a fractional end_timestamp), ids
    # appended without a trailing slash, the channel test without a model.
    Site(B_ + "views/Dashboard/index.js:20", "GET", "/api/user/dashboard", reads=ok(ListOf(DASHBOARD_ROW)),
         who="alice"),
    Site(B_ + "hooks/useLogin.js:75", "GET", "/api/oauth/oidc?code=abc&state={state}", expect=REFUSED,
         why="OIDC is not configured"),
    Site(B_ + "views/Log/index.js:50", "GET", "/api/log/?username=&token_name=&model_name=&start_timestamp=0"
         "&end_timestamp={end}.123&type=0&channel=&p=0", reads=ok(ListOf(LOG, 1))),
    Site(B_ + "views/Log/index.js:50", "GET", "/api/log/self/?token_name=&model_name=&start_timestamp=0"
         "&end_timestamp={end}.123&type=0&p=0", reads=ok(ListOf(OWN_LOG, 1)), who="alice"),
    Site(B_ + "views/Token/component/EditModal.js:71", "POST", "/api/token/",
         {"is_edit": False, "name": "berry", "remain_quota": 0, "expired_time": -1, "unlimited_quota": True,
          "subnet": "", "models": ""}),
    Site(B_ + "views/Token/index.js:35", "GET", "/api/token/?p=0", reads=ok(ListOf(TOKEN, 1)),
         then=_learn("token_id", lambda a: a["data"][0]["id"])),
    Site(B_ + "views/Token/component/EditModal.js:90", "GET", "/api/token/{token_id}", reads=ok(TOKEN)),
    Site(B_ + "views/Channel/index.js:111", "GET", "/api/channel/test/{channel_id}",
         reads={"success": True, "message": S, "time": N}),
    Site(B_ + "views/Channel/component/TableRow.js:101", "GET", "/api/channel/update_balance/{channel_id}",
         expect=REFUSED, why="the fake upstream has no billing endpoint"),
    Site(B_ + "views/Token/index.js:98", "DELETE", "/api/token/{token_id}"),
    # web/air (a new-api style UI): extra paging and search parameters, which One API ignores too.
    Site(A_ + "components/LoginForm.js:84", "POST", "/api/user/login?turnstile=",
         {"username": "root", "password": "123456"}, reads=ok(LOGIN_USER)),
    Site(A_ + "components/ChannelsTable.js:291", "GET", "/api/channel/?p=0&page_size=10&id_sort=false",
         reads=ok(ListOf(CHANNEL, 1))),
    Site(A_ + "components/ChannelsTable.js:423", "GET", "/api/channel/search?keyword=fake&group=&model=",
         reads=ok(ListOf(CHANNEL, 1))),
    Site(A_ + "components/TokensTable.js:286", "GET", "/api/token/?p=0&size=10&order=", reads=ok(ListOf(TOKEN))),
    Site(A_ + "components/TokensTable.js:476", "GET", "/api/token/search?keyword=&token=", reads=ok(ListOf(TOKEN))),
    Site(A_ + "components/LogsTable.js:246", "GET", "/api/log/?p=0&page_size=10&" + LOG_QUERY,
         reads=ok(ListOf(LOG, 1))),
    Site(A_ + "components/LogsTable.js:212", "GET", "/api/user/{bob_id}", reads=ok(USER)),
    Site(A_ + "components/ChannelsTable.js:501", "POST", "/api/channel/batch", {"ids": [1]}, expect=NOT_ONE_API),
    Site(A_ + "components/ChannelsTable.js:513", "POST", "/api/channel/fix", expect=NOT_ONE_API),
    Site(A_ + "components/LoginForm.js:114", "GET", "/api/oauth/telegram/login", expect=NOT_ONE_API),
    Site(A_ + "pages/Detail/index.js:181", "GET", "/api/data/?username=&start_timestamp=0&end_timestamp={end}"
         "&default_time=hour", expect=NOT_ONE_API),
]


# --- the replay ---------------------------------------------------------------------------------------------
def conforms(value: Any, shape: Any, where: str = "") -> list[str]:
    """Where ``value`` does not have ``shape`` (field -> type, nested dicts and lists, literal True)."""
    if shape is ANY:
        return []
    if shape is True:
        return [] if value is True else [f"{where}: {value!r}, expected true"]
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__} {str(value)[:80]!r}, expected an object"]
        problems = []
        for key, sub in shape.items():
            if key not in value:
                problems.append(f"{where}.{key}: missing")
            else:
                problems += conforms(value[key], sub, f"{where}.{key}")
        return problems
    if isinstance(shape, ListOf):
        if not isinstance(value, list) or len(value) < shape.min_len:
            return [f"{where}: {str(value)[:80]!r}, expected a list of at least {shape.min_len}"]
        return [p for i, item in enumerate(value) for p in conforms(item, shape.item, f"{where}[{i}]")]
    if isinstance(shape, DictOf):
        if not isinstance(value, dict):
            return [f"{where}: {str(value)[:80]!r}, expected an object"]
        return [p for k, v in value.items() for p in conforms(v, shape.value, f"{where}.{k}")]
    kinds = shape if isinstance(shape, tuple) else (shape,)
    if isinstance(value, bool) and bool not in kinds:
        return [f"{where}: {value!r}, expected {shape}"]
    if not isinstance(value, kinds):
        return [f"{where}: {value!r} ({type(value).__name__}), expected {shape}"]
    return []


class MailBox(Inbox):
    def code(self) -> str:
        return re.search(r"<strong>(\w+)</strong>", self.html()).group(1)

    def reset_token(self) -> str:
        return re.search(r"token=(\w+)", self.html()).group(1)


@pytest.fixture
def mailbox():
    box = MailBox()
    with smtp_server(box) as port:
        yield box, port


@pytest.fixture
async def browsers(make_settings, mailbox, upstream):  # noqa: F811 -- the imported fixture
    """Three browsers on one appliance (root, a common user, a visitor) and the replay's starting state."""
    settings = make_settings(INITIAL_ROOT_ACCESS_TOKEN=ROOT_ACCESS_TOKEN, CRITICAL_RATE_LIMIT="0",
                             GLOBAL_API_RATE_LIMIT="0")
    runtime = Runtime(settings)
    async with runtime.lifespan():
        transport = httpx.ASGITransport(create_api(runtime))

        def browser() -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=transport, base_url="http://gw.test", follow_redirects=True,
                                     headers={"Sec-Fetch-Site": "same-origin"})

        clients = {who: browser() for who in ("root", "alice", "guest")}
        box, port = mailbox
        async with browser() as script:  # root's script sets up the mail server
            for key, value in (("SMTPServer", "127.0.0.1"), ("SMTPPort", str(port)),
                               ("SMTPFrom", "noreply@gw.test")):
                r = await script.put("/api/option/", json={"key": key, "value": value},
                                     headers={"Authorization": ROOT_ACCESS_TOKEN})
                assert r.json()["success"], r.text
        state = {"inbox": box, "upstream": upstream.url, "end": NOW + 3600, "month_ago": NOW - 30 * 86400}
        try:
            yield clients, state
        finally:
            for client in clients.values():
                await client.aclose()


async def replay(clients: dict, state: dict, sites: list[Site]) -> list[str]:
    problems = []
    for site in sites:
        try:
            url = site.url.format(**state)
            body = site.body(state) if callable(site.body) else site.body
        except KeyError as missing:  # an earlier call failed to give what this one needs
            problems.append(f"{site.src} {site.method} {site.url}: not replayed, needs {missing}")
            continue
        name = f"{site.src} {site.method} {url}"
        try:
            r = await clients[site.who].request(site.method, url, json=body)
        except Exception as exc:  # noqa: BLE001 -- report every site, not just the first failure
            problems.append(f"{name}: {exc!r}")
            continue
        try:
            answer = r.json()
        except ValueError:
            problems.append(f"{name}: HTTP {r.status_code}, not JSON: {r.text[:120]!r}")
            continue
        if site.expect == NOT_ONE_API:
            if r.status_code != 404 or "error" not in answer:
                problems.append(f"{name}: HTTP {r.status_code} {answer}, expected the JSON 404")
            continue
        if site.expect == REFUSED:
            if (r.status_code >= 500 or answer.get("success") is not False
                    or not isinstance(answer.get("message"), str) or not answer["message"]):
                problems.append(f"{name}: HTTP {r.status_code} {answer}, expected success:false and a message")
            continue
        found = conforms(answer, site.reads) if r.status_code < 400 else [f"HTTP {r.status_code}"]
        if found:
            problems.append(f"{name}: {'; '.join(found[:4])} -- {str(answer)[:200]}")
            continue
        if site.then is not None:
            site.then(state, answer)
    return problems


def test_every_web_default_call_site_is_listed():
    """The table covers the /api call sites of web/default: the 77 ``API.<method>('/api/...')`` calls of its
    source plus the logs page's ``API.get(url)`` (LogsTable.js:230, admin and self variants), each file:line
    at least once."""
    sources = {s.src for s in SITES}
    assert len(sources) == 78 and all(s.src.startswith(D) for s in SITES)


async def test_web_default_replays(browsers):
    clients, state = browsers
    assert await replay(clients, state, SITES) == []


async def test_berry_and_air_call_sites_that_differ(browsers):
    clients, state = browsers
    # The state they start from: alice registered and logged in, a channel, bob, a log row.
    until_topup = SITES[:next(i for i, s in enumerate(SITES) if s.src.endswith("TopUp/index.js:30")) + 1]
    setup = [s for s in until_topup if s.src.endswith((
        "RegisterForm.js:92", "LoginForm.js:77", "utils.js:4", "EditChannel.js:217", "ChannelsTable.js:113",
        "EditRedemption.js:59", "TopUp/index.js:30"))]
    setup += [s for s in SITES if s.src.endswith(("AddUser.js:22", "UsersTable.js:135"))]
    assert await replay(clients, state, setup) == []
    assert await replay(clients, state, EXTRA_SITES) == []

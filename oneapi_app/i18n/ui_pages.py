"""Dashboard texts of the pages anyone can open: Home, About, Log in, Register, password reset, the OAuth
callback."""

from __future__ import annotations

UI: dict[str, dict[str, str]] = {
    # -- Home ------------------------------------------------------------------------------------------
    "home.status": {"en": "System status", "zh": "系统状况"},
    "home.version": {"en": "Version:", "zh": "版本："},
    "home.started": {"en": "Started:", "zh": "启动时间："},
    "home.login_methods": {"en": "Login methods:", "zh": "登录方式："},
    "home.password": {"en": "password", "zh": "密码"},
    "home.base_url": {"en": "OpenAI-compatible base URL:", "zh": "OpenAI 兼容的 Base URL："},
    # -- About -----------------------------------------------------------------------------------------
    "about.default": {"en": "One API in Python: an OpenAI-compatible gateway for many LLM providers. "
                            "The administrator can replace this text in the settings.",
                      "zh": "One API 的 Python 实现：兼容 OpenAI 接口、接入众多大模型服务商的网关。"
                            "管理员可以在设置中替换这段文字。"},
}

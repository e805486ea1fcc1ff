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
UI.update({
    # -- Log in ----------------------------------------------------------------------------------------
    "login.title": {"en": "Log in", "zh": "登录"},
    "login.username": {"en": "Username or email", "zh": "用户名或邮箱"},
    "login.password": {"en": "Password", "zh": "密码"},
    "login.submit": {"en": "Log in", "zh": "登录"},
    "login.register": {"en": "Register", "zh": "注册"},
    "login.forgot": {"en": "Forgot password?", "zh": "忘记密码？"},
    "login.github": {"en": "Log in with GitHub", "zh": "使用 GitHub 登录"},
    "login.oidc": {"en": "Log in with OIDC", "zh": "使用 OIDC 登录"},
    "login.lark": {"en": "Log in with Lark", "zh": "使用飞书登录"},
    "login.enter_both": {"en": "Enter a username (or email) and a password.", "zh": "请输入用户名（或邮箱）和密码。"},
    "login.password_off": {"en": "Password login is disabled by the administrator.", "zh": "管理员已关闭密码登录。"},
    "login.wrong": {"en": "Wrong username or password, or the account is disabled.",
                    "zh": "用户名或密码错误，或账户已被禁用。"},
    # -- Register --------------------------------------------------------------------------------------
    "register.title": {"en": "Create an account", "zh": "创建账户"},
    "register.username": {"en": "Username (1-12 characters)", "zh": "用户名（1-12 个字符）"},
    "register.password": {"en": "Password (8-20 characters)", "zh": "密码（8-20 个字符）"},
    "register.password2": {"en": "Confirm the password", "zh": "确认密码"},
    "register.email": {"en": "Email address", "zh": "邮箱地址"},
    "register.send_code": {"en": "Send code", "zh": "发送验证码"},
    "register.code": {"en": "Verification code from the email", "zh": "邮件中的验证码"},
    "register.aff": {"en": "Invitation code (optional)", "zh": "邀请码（可选）"},
    "register.submit": {"en": "Register", "zh": "注册"},
    "register.have_account": {"en": "Already have an account? Log in", "zh": "已有账户？去登录"},
    "register.closed": {"en": "Registration is closed by the administrator.", "zh": "管理员已关闭新用户注册。"},
    "register.password_closed": {
        "en": "Registration with a password is closed by the administrator; log in with an external account "
              "(GitHub, OIDC) to create one.",
        "zh": "管理员已关闭密码注册，请使用第三方账户（GitHub、OIDC）登录以创建账户。"},
    "register.mismatch": {"en": "The two passwords differ.", "zh": "两次输入的密码不一致。"},
    "register.missing": {"en": "Enter a username and a password.", "zh": "请输入用户名和密码。"},
    "register.need_email": {"en": "Enter your email address first.", "zh": "请先输入邮箱地址。"},
    "register.code_sent": {"en": "A verification code was sent to {email}; it is valid for 10 minutes.",
                           "zh": "验证码已发送到 {email}，10 分钟内有效。"},
    # -- Reset the password ----------------------------------------------------------------------------
    "reset.title": {"en": "Reset the password", "zh": "重置密码"},
    "reset.intro": {"en": "Enter the email address of your account: we send you a link to reset the password.",
                    "zh": "请输入账户的邮箱地址，我们会发送一封重置密码的链接邮件。"},
    "reset.email": {"en": "Email address", "zh": "邮箱地址"},
    "reset.send": {"en": "Send the reset link", "zh": "发送重置链接"},
    "reset.need_email": {"en": "Enter your email address.", "zh": "请输入邮箱地址。"},
    "reset.sent": {"en": "A reset link was sent to {email}; it is valid for 10 minutes.",
                   "zh": "重置链接已发送到 {email}，10 分钟内有效。"},
    "reset.back": {"en": "Back to log in", "zh": "返回登录"},
    "reset.confirm_title": {"en": "Set a new password", "zh": "设置新密码"},
    "reset.confirm_intro": {"en": "A new random password will be set for the account of",
                            "zh": "将为以下邮箱的账户设置一个新的随机密码："},
    "reset.confirm": {"en": "Reset the password", "zh": "重置密码"},
    "reset.incomplete_link": {"en": "This reset link is incomplete; ask for a new one.", "zh": "该重置链接不完整，请重新申请。"},
    "reset.new_password": {
        "en": "Your new password (shown once: copy it, log in and change it on the Account page):",
        "zh": "您的新密码（只显示这一次：请复制它，登录后在个人中心修改）："},
    "reset.copy": {"en": "Copy", "zh": "复制"},
    "reset.copied": {"en": "Password copied", "zh": "密码已复制"},
    "reset.login": {"en": "Log in", "zh": "登录"},
    "reset.new_link": {"en": "Ask for a new link", "zh": "重新申请链接"},
    # -- the OAuth callback ----------------------------------------------------------------------------
    "oauth.working": {"en": "Completing the login…", "zh": "正在完成登录…"},
    "oauth.bound": {"en": "Your {provider} account is now bound to {user}.", "zh": "您的 {provider} 账户已绑定到 {user}。"},
    "oauth.back_login": {"en": "Back to log in", "zh": "返回登录"},
    "oauth.account": {"en": "Account", "zh": "个人中心"},
})

"""Dashboard texts: the shell (navigation, header, footer, language switch), the shared widgets and the
messages every page can show (guards, unexpected errors)."""

from __future__ import annotations

UI: dict[str, dict[str, str]] = {
    # -- page titles and navigation entries (registry: @page(route, "page.<name>", nav="page.<name>")) ----
    "page.home": {"en": "Home", "zh": "首页"},
    "page.tokens": {"en": "Tokens", "zh": "令牌"},
    "page.logs": {"en": "Logs", "zh": "日志"},
    "page.account": {"en": "Account", "zh": "个人中心"},
    "page.channels": {"en": "Channels", "zh": "渠道"},
    "page.users": {"en": "Users", "zh": "用户"},
    "page.redemptions": {"en": "Redemptions", "zh": "兑换码"},
    "page.settings": {"en": "Settings", "zh": "设置"},
    "page.about": {"en": "About", "zh": "关于"},
    "page.login": {"en": "Log in", "zh": "登录"},
    "page.register": {"en": "Register", "zh": "注册"},
    "page.reset": {"en": "Reset password", "zh": "重置密码"},
    "page.reset_confirm": {"en": "Set a new password", "zh": "设置新密码"},
    "page.oauth": {"en": "Log in with {provider}", "zh": "使用 {provider} 登录"},
    # -- the shell ---------------------------------------------------------------------------------------
    "shell.log_in": {"en": "Log in", "zh": "登录"},
    "shell.log_out": {"en": "Log out", "zh": "退出登录"},
    "shell.menu": {"en": "Menu", "zh": "菜单"},
    "shell.language": {"en": "Language", "zh": "语言"},
    "shell.switch_to": {"en": "中文", "zh": "English"},
    "shell.needs_login": {"en": "Log in to open this page.", "zh": "请先登录再打开此页面。"},
    "shell.needs_admin": {"en": "This page is for administrators only.", "zh": "此页面仅限管理员访问。"},
    "shell.needs_root": {"en": "This page is for the root user only.", "zh": "此页面仅限超级管理员访问。"},
    "shell.logged_in_as": {
        "en": "You are logged in as {user}: log in with an account that may open it, and you will be taken there.",
        "zh": "您当前登录的用户是 {user}：请用有权限的账户登录，登录后将自动跳转到该页面。"},
    "shell.account_disabled": {"en": "Your account is disabled or deleted.", "zh": "您的账户已被禁用或删除。"},
    "shell.admins_only": {"en": "Admins only.", "zh": "仅限管理员。"},
    "shell.default_password": {
        "en": "You are still using the default password. Change it now on the Account page.",
        "zh": "您仍在使用默认密码，请立即在个人中心修改。"},
    "shell.change_password": {"en": "Change the password", "zh": "修改密码"},
    "shell.unexpected": {"en": "Unexpected error; see the server log.", "zh": "发生意外错误，详见服务器日志。"},
    "shell.whole_number": {"en": "{field} must be a whole number", "zh": "{field} 必须是整数"},
    "shell.between": {"en": "{field} must be between 0 and {high}", "zh": "{field} 必须在 0 到 {high} 之间"},
    # -- shared widgets ---------------------------------------------------------------------------------
    "common.cancel": {"en": "Cancel", "zh": "取消"},
    "common.save": {"en": "Save", "zh": "保存"},
    "common.create": {"en": "Create", "zh": "创建"},
    "common.delete": {"en": "Delete", "zh": "删除"},
    "common.edit": {"en": "Edit", "zh": "编辑"},
    "common.copy": {"en": "Copy", "zh": "复制"},
    "common.search": {"en": "Search", "zh": "搜索"},
    "common.clear": {"en": "Clear", "zh": "清除"},
    "common.reset": {"en": "Reset", "zh": "重置"},
    "common.enable": {"en": "Enable", "zh": "启用"},
    "common.disable": {"en": "Disable", "zh": "禁用"},
    "common.enabled": {"en": "Enabled", "zh": "已启用"},
    "common.disabled": {"en": "Disabled", "zh": "已禁用"},
    "common.previous": {"en": "Previous", "zh": "上一页"},
    "common.next": {"en": "Next", "zh": "下一页"},
    "common.page_n": {"en": "Page {n}", "zh": "第 {n} 页"},
    "common.load_more": {"en": "Load more", "zh": "加载更多"},
    "common.actions": {"en": "Actions", "zh": "操作"},
    "common.or": {"en": "or", "zh": "或"},
}

"""The web app's interface text in English and Chinese; each person picks theirs."""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = {"en": "English", "zh": "中文"}

TEXT: dict[str, dict[str, str]] = {
    "app": {"en": "procpilot", "zh": "procpilot"},
    "login": {"en": "Log in", "zh": "登录"},
    "logout": {"en": "Log out", "zh": "退出"},
    "tenant": {"en": "Tenant", "zh": "租户"},
    "username": {"en": "User name", "zh": "用户名"},
    "password": {"en": "Password", "zh": "密码"},
    "chat": {"en": "Chat", "zh": "对话"},
    "approvals": {"en": "Approvals", "zh": "审批"},
    "processes": {"en": "Processes", "zh": "流程实例"},
    "packs": {"en": "Packs", "zh": "技能包"},
    "admin": {"en": "Admin", "zh": "管理"},
    "users": {"en": "Users", "zh": "用户"},
    "roles": {"en": "Roles", "zh": "角色"},
    "tenants": {"en": "Tenants", "zh": "租户"},
    "keys": {"en": "API keys", "zh": "API 密钥"},
    "language": {"en": "Language", "zh": "语言"},
    "new_chat": {"en": "New conversation", "zh": "新对话"},
    "assistant": {"en": "Assistant", "zh": "助手"},
    "first_message": {"en": "Your first message", "zh": "第一条消息"},
    "start": {"en": "Start", "zh": "开始"},
    "send": {"en": "Send", "zh": "发送"},
    "type_message": {"en": "Type a message…", "zh": "输入消息…"},
    "your_conversations": {"en": "Your conversations", "zh": "你的对话"},
    "none_yet": {"en": "Nothing here yet.", "zh": "暂无内容。"},
    "you": {"en": "You", "zh": "你"},
    "waiting_approval": {"en": "Waiting for approval", "zh": "等待审批"},
    "active_flows": {"en": "In progress", "zh": "进行中"},
    "inbox": {"en": "Your approval inbox", "zh": "你的审批收件箱"},
    "requested_by": {"en": "Requested by", "zh": "申请人"},
    "assigned_to": {"en": "Assigned to", "zh": "审批人"},
    "due": {"en": "Due", "zh": "截止"},
    "comment": {"en": "Comment", "zh": "备注"},
    "approve": {"en": "Approve", "zh": "批准"},
    "reject": {"en": "Reject", "zh": "拒绝"},
    "ask_changes": {"en": "Ask for changes", "zh": "要求修改"},
    "decided": {"en": "Decided", "zh": "已处理"},
    "recently_decided": {"en": "Decided recently", "zh": "最近处理"},
    "flow": {"en": "Flow", "zh": "流程"},
    "pack": {"en": "Pack", "zh": "技能包"},
    "status": {"en": "Status", "zh": "状态"},
    "started": {"en": "Started", "zh": "开始时间"},
    "ended": {"en": "Ended", "zh": "结束时间"},
    "started_by": {"en": "Started by", "zh": "发起人"},
    "timeline": {"en": "Timeline", "zh": "时间线"},
    "cancel": {"en": "Cancel", "zh": "取消"},
    "time": {"en": "Time", "zh": "时间"},
    "what": {"en": "What happened", "zh": "事件"},
    "details": {"en": "Details", "zh": "详情"},
    "steps": {"en": "steps", "zh": "个步骤"},
    "slots": {"en": "Slots", "zh": "槽位"},
    "schedules": {"en": "Schedules", "zh": "定时任务"},
    "diagram": {"en": "Diagram", "zh": "流程图"},
    "create": {"en": "Create", "zh": "创建"},
    "save": {"en": "Save", "zh": "保存"},
    "display_name": {"en": "Display name", "zh": "显示名称"},
    "user_id": {"en": "User id", "zh": "用户 ID"},
    "active": {"en": "Active", "zh": "启用"},
    "name": {"en": "Name", "zh": "名称"},
    "platform_role": {"en": "Platform role", "zh": "平台角色"},
    "business_role": {"en": "Business role", "zh": "业务角色"},
    "holders": {"en": "Holders", "zh": "人数"},
    "new_key": {"en": "New API key", "zh": "新建 API 密钥"},
    "key_once": {"en": "Copy this key now; it is not shown again:", "zh": "请立即复制此密钥，之后不再显示："},
    "revoke": {"en": "Revoke", "zh": "吊销"},
    "revoked": {"en": "revoked", "zh": "已吊销"},
    "last_used": {"en": "Last used", "zh": "最近使用"},
    "admin_user": {"en": "First admin", "zh": "首位管理员"},
    "error": {"en": "Something is not right", "zh": "出了点问题"},
    "back": {"en": "Back", "zh": "返回"},
    "login_failed": {"en": "Wrong tenant, user name or password.", "zh": "租户、用户名或密码错误。"},
    "all_tenant": {"en": "Everyone in the tenant", "zh": "租户内全部"},
    "open": {"en": "Open", "zh": "打开"},
}


def translator(language: str) -> Callable[[str], str]:
    chosen = language if language in LANGUAGES else "en"

    def t(key: str) -> str:
        entry = TEXT.get(key)
        return entry.get(chosen, entry["en"]) if entry else key

    return t

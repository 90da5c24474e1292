"""Every label of the admin page, zh-CN and English (added to :data:`onemap.app.i18n.STRINGS`,
so the page's language switch rewrites them like the map's labels).

Role names, outcomes and audit actions have words of their own here; the server's codes are
shown beside them where an admin needs the exact value (a rule's role, an audit action).
"""

from __future__ import annotations

from onemap.app.i18n import add_strings, t

add_strings(
    zh={
        "adm_title": "系统管理", "adm_page_title": "OneMap 系统管理",
        "adm_back": "返回地图", "adm_signed_in": "当前用户",
        "adm_need_login": "请先登录：系统管理只对已登录的管理员开放。",
        "adm_admins_only": "仅管理员可以使用此页面：当前账号没有管理员角色。",
        "adm_unavailable": "暂时无法读取管理数据",
        "adm_go_login": "前往地图页登录",
        "adm_tab_users": "用户", "adm_tab_keys": "API 密钥", "adm_tab_rules": "访问规则",
        "adm_tab_audit": "审计日志",
        "adm_failed": "操作未完成", "adm_done": "已完成",
        "adm_none": "（无）", "adm_empty": "暂无记录",
        "adm_actions": "操作",
        # users
        "adm_user_add_heading": "添加用户", "adm_user_name": "用户名",
        "adm_user_display": "显示名称", "adm_user_password": "密码（可选）",
        "adm_user_roles": "角色", "adm_user_region": "区域代码（可选，空为全域）",
        "adm_user_add": "添加用户", "adm_user_added": "已添加用户",
        "adm_user_edit_heading": "修改用户", "adm_user_edit_hint": "在下表中点“修改”选择用户。",
        "adm_user_editing": "正在修改", "adm_user_grant": "保存角色和区域",
        "adm_user_granted": "已保存角色和区域：",
        "adm_user_disable": "停用账号", "adm_user_enable": "启用账号",
        "adm_user_disabled_done": "已停用：", "adm_user_enabled_done": "已启用：",
        "adm_user_new_password": "新密码", "adm_user_set_password": "设置密码",
        "adm_user_password_set": "已设置新密码：",
        "adm_user_edit": "修改",
        "adm_col_name": "用户名", "adm_col_display": "显示名称", "adm_col_roles": "角色",
        "adm_col_region": "区域", "adm_col_state": "状态", "adm_col_password": "密码",
        "adm_col_sessions": "会话", "adm_col_created": "创建时间",
        "adm_state_active": "启用", "adm_state_disabled": "已停用",
        "adm_state_locked": "锁定至 {until}",
        "adm_password_yes": "已设置", "adm_password_no": "无（仅 API 密钥）",
        "adm_region_all": "全域",
        "adm_role_viewer": "查看", "adm_role_analyst": "分析员", "adm_role_commander": "指挥",
        "adm_role_data_manager": "数据管理员", "adm_role_admin": "管理员",
        "adm_role_any": "所有人（*）", "adm_role_anonymous": "匿名访客（anonymous）",
        # keys
        "adm_key_create_heading": "创建 API 密钥", "adm_key_user": "用户",
        "adm_key_name": "密钥名称", "adm_key_create": "创建密钥", "adm_key_created": "已创建密钥：",
        "adm_key_filter": "只看此用户的密钥（空为全部）",
        "adm_key_secret_heading": "新的 API 密钥",
        "adm_key_secret_warning": "密钥只显示这一次：请立即复制并妥善保存，"
                                  "离开或刷新本页后无法再次查看。",
        "adm_key_copy": "复制",
        "adm_key_revoke": "吊销", "adm_key_revoked_done": "已吊销密钥：",
        "adm_col_id": "编号", "adm_col_user": "用户", "adm_col_key_name": "名称",
        "adm_col_last_used": "最近使用", "adm_col_revoked": "吊销时间",
        "adm_key_live": "有效",
        # rules
        "adm_rule_add_heading": "添加访问规则",
        "adm_rule_hint": "规则按下表顺序逐条尝试（优先级数值小者先），"
                         "第一条匹配的规则决定能否读取数据集。",
        "adm_rule_role": "角色", "adm_rule_dataset": "数据集编号或通配符（如 pollution_*）",
        "adm_rule_effect": "效果", "adm_rule_allow": "允许", "adm_rule_deny": "拒绝",
        "adm_rule_priority": "优先级", "adm_rule_add": "添加规则",
        "adm_rule_added": "已添加规则：", "adm_rule_remove": "删除",
        "adm_rule_removed": "已删除规则：",
        "adm_col_order": "顺序", "adm_col_priority": "优先级", "adm_col_dataset": "数据集",
        "adm_col_effect": "效果", "adm_col_created_by": "添加人",
        # audit
        "adm_audit_user": "用户", "adm_audit_action": "操作类型",
        "adm_audit_outcome": "结果", "adm_audit_since": "起始日期（北京时间）",
        "adm_audit_until": "截止日期（含当日）", "adm_audit_apply": "查询",
        "adm_audit_older": "更早的记录", "adm_audit_all": "全部",
        "adm_outcome_ok": "成功", "adm_outcome_denied": "拒绝", "adm_outcome_failed": "失败",
        "adm_col_time": "时间（北京时间）", "adm_col_address": "来源地址",
        "adm_col_action": "操作", "adm_col_target": "对象", "adm_col_outcome": "结果",
        "adm_col_via": "方式",
        "adm_anonymous": "匿名",
        "adm_audit_count": "显示 {count} 条（最新在前）",
    },
    en={
        "adm_title": "Administration", "adm_page_title": "OneMap · Administration",
        "adm_back": "Back to the map", "adm_signed_in": "Signed in as",
        "adm_need_login": "Please log in: administration is for logged-in administrators.",
        "adm_admins_only": "Administrators only: this account does not have the admin role.",
        "adm_unavailable": "The administration data cannot be read now",
        "adm_go_login": "Log in on the map page",
        "adm_tab_users": "Users", "adm_tab_keys": "API keys", "adm_tab_rules": "Access rules",
        "adm_tab_audit": "Audit trail",
        "adm_failed": "Not done", "adm_done": "Done",
        "adm_none": "(none)", "adm_empty": "No records",
        "adm_actions": "Actions",
        "adm_user_add_heading": "Add a user", "adm_user_name": "User name",
        "adm_user_display": "Display name", "adm_user_password": "Password (optional)",
        "adm_user_roles": "Roles", "adm_user_region": "Region code (optional; empty: all)",
        "adm_user_add": "Add user", "adm_user_added": "User added:",
        "adm_user_edit_heading": "Change a user",
        "adm_user_edit_hint": "Choose a user with “Change” in the table below.",
        "adm_user_editing": "Changing", "adm_user_grant": "Save roles and region",
        "adm_user_granted": "Roles and region saved:",
        "adm_user_disable": "Disable account", "adm_user_enable": "Enable account",
        "adm_user_disabled_done": "Disabled:", "adm_user_enabled_done": "Enabled:",
        "adm_user_new_password": "New password", "adm_user_set_password": "Set password",
        "adm_user_password_set": "New password set:",
        "adm_user_edit": "Change",
        "adm_col_name": "User name", "adm_col_display": "Display name", "adm_col_roles": "Roles",
        "adm_col_region": "Region", "adm_col_state": "State", "adm_col_password": "Password",
        "adm_col_sessions": "Sessions", "adm_col_created": "Created",
        "adm_state_active": "Active", "adm_state_disabled": "Disabled",
        "adm_state_locked": "Locked until {until}",
        "adm_password_yes": "Set", "adm_password_no": "None (API keys only)",
        "adm_region_all": "All regions",
        "adm_role_viewer": "Viewer", "adm_role_analyst": "Analyst",
        "adm_role_commander": "Commander", "adm_role_data_manager": "Data manager",
        "adm_role_admin": "Administrator",
        "adm_role_any": "Everyone (*)", "adm_role_anonymous": "Anonymous visitors",
        "adm_key_create_heading": "Create an API key", "adm_key_user": "User",
        "adm_key_name": "Key name", "adm_key_create": "Create key",
        "adm_key_created": "Key created:",
        "adm_key_filter": "Only this user's keys (empty: all)",
        "adm_key_secret_heading": "The new API key",
        "adm_key_secret_warning": "The key is shown only this once: copy it now and keep it "
                                  "safe; it cannot be shown again after you leave or reload "
                                  "this page.",
        "adm_key_copy": "Copy",
        "adm_key_revoke": "Revoke", "adm_key_revoked_done": "Key revoked:",
        "adm_col_id": "Id", "adm_col_user": "User", "adm_col_key_name": "Name",
        "adm_col_last_used": "Last used", "adm_col_revoked": "Revoked",
        "adm_key_live": "Live",
        "adm_rule_add_heading": "Add an access rule",
        "adm_rule_hint": "Rules are tried in the order of the table (lowest priority number "
                         "first); the first that matches decides whether a dataset may be read.",
        "adm_rule_role": "Role", "adm_rule_dataset": "Dataset id or glob (e.g. pollution_*)",
        "adm_rule_effect": "Effect", "adm_rule_allow": "Allow", "adm_rule_deny": "Deny",
        "adm_rule_priority": "Priority", "adm_rule_add": "Add rule",
        "adm_rule_added": "Rule added:", "adm_rule_remove": "Remove",
        "adm_rule_removed": "Rule removed:",
        "adm_col_order": "Order", "adm_col_priority": "Priority", "adm_col_dataset": "Dataset",
        "adm_col_effect": "Effect", "adm_col_created_by": "Added by",
        "adm_audit_user": "User", "adm_audit_action": "Action",
        "adm_audit_outcome": "Outcome", "adm_audit_since": "From (date, Beijing time)",
        "adm_audit_until": "To (date, inclusive)", "adm_audit_apply": "Search",
        "adm_audit_older": "Older records", "adm_audit_all": "All",
        "adm_outcome_ok": "OK", "adm_outcome_denied": "Denied", "adm_outcome_failed": "Failed",
        "adm_col_time": "Time (Beijing)", "adm_col_address": "Address",
        "adm_col_action": "Action", "adm_col_target": "Target", "adm_col_outcome": "Outcome",
        "adm_col_via": "Via",
        "adm_anonymous": "anonymous",
        "adm_audit_count": "{count} records shown (newest first)",
    },
)

#: The page's tabs, in order (ids of their buttons and sections).
TABS: tuple[str, ...] = ("users", "keys", "rules", "audit")


def role_label(role: str, lang: str) -> str:
    """A role in words (an unknown role, e.g. one added to the server later: its code)."""
    key = {"*": "adm_role_any"}.get(role, f"adm_role_{role}")
    try:
        return t(key, lang)
    except KeyError:
        return role

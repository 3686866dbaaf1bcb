//! The Chinese names the console shows for the gateway's codes (states, channels, priorities,
//! workflow actions, audit actions).

/// A workflow state.
pub fn state(code: &str) -> &'static str {
    match code {
        "new" => "新收",
        "triaged" => "已分拣",
        "assigned" => "已交办（待签收）",
        "accepted" => "已签收",
        "investigating" => "办理中",
        "answered" => "已办结",
        "closed" => "已结案",
        "returned" => "已退单",
        "reopened" => "重办",
        "merged" => "已合并",
        _ => "未进入流程",
    }
}

/// A channel.
pub fn channel(code: &str) -> &'static str {
    match code {
        "petition" => "信访",
        "hotline" => "12345热线",
        "online" => "网上政府",
        "media" => "媒体曝光",
        "economic" => "经发投诉",
        "transfer" => "移送",
        "email" => "电子邮件",
        _ => "其他渠道",
    }
}

/// A priority.
pub fn priority(code: &str) -> &'static str {
    match code {
        "urgent" => "特急",
        "high" => "紧急",
        "normal" => "一般",
        "low" => "较缓",
        _ => "—",
    }
}

/// A workflow action, as the button that takes it says.
pub fn action(code: &str) -> &'static str {
    match code {
        "triage" => "分拣",
        "assign" => "交办",
        "accept" => "签收",
        "start" => "开始办理",
        "answer" => "办结",
        "close" => "结案",
        "return" => "退单",
        "reopen" => "重办",
        "merge" => "合并",
        "assign_investigator" => "指定办理人",
        _ => "操作",
    }
}

/// An answer's finding (办理结论): 查实, 部分查实, 不属实, 其他.
pub fn finding(code: &str) -> &'static str {
    use crate::workflow::machine::Finding;
    [
        Finding::Substantiated,
        Finding::PartlySubstantiated,
        Finding::Unsubstantiated,
        Finding::Other,
    ]
    .into_iter()
    .find(|f| f.as_str() == code)
    .map_or("—", Finding::label)
}

/// How a reply was sent (`answers::REPLY_METHODS`).
pub fn reply_method(code: &str) -> &'static str {
    match code {
        "phone" => "电话",
        "sms" => "短信",
        "letter" => "信函",
        "email" => "电子邮件",
        "in_person" => "当面答复",
        "portal" => "网站答复",
        "other" => "其他方式",
        _ => "—",
    }
}

/// A return (退单) reason.
pub fn return_reason(code: &str) -> &'static str {
    match code {
        "not_our_remit" => "不属本单位职责",
        "wrong_unit" => "交办单位有误",
        "insufficient_information" => "信息不足，无法办理",
        "duplicate" => "重复件",
        "other" => "其他（请说明）",
        _ => "其他",
    }
}

/// An audit entry's action, when the console knows it; the code itself otherwise.
pub fn audit_action(code: &str) -> String {
    let known = match code {
        "case.merge" => "合并案件",
        "case.split" => "拆分案件",
        "case.subject_named" => "标记涉及单位",
        "case.subject_removed" => "移除涉及单位",
        "case.follow_up" => "回访",
        "reply.sent" => "答复已发送",
        "personal_data.view" => "查看个人信息",
        "clock_closed" => "期限停止计时",
        "merge" => "并入其他案件",
        "split_out" => "拆分为新案件",
        "renamed" => "案件改名",
        _ => {
            if let Some(action) = code.strip_prefix("case.") {
                return format!("流程：{}", action_or_code(action));
            }
            return code.to_string();
        }
    };
    known.to_string()
}

fn action_or_code(code: &str) -> String {
    match action(code) {
        "操作" => code.to_string(),
        label => label.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_and_action_of_the_workflow_has_a_chinese_name() {
        for s in crate::workflow::State::ALL {
            assert_ne!(state(s.as_str()), "未进入流程", "{s}");
        }
        for a in crate::workflow::Action::ALL {
            assert_ne!(action(a.as_str()), "操作", "{}", a.as_str());
        }
        for r in crate::workflow::machine::RETURN_REASONS {
            assert_ne!(return_reason(r), "其他", "{r}");
        }
        for m in crate::answers::REPLY_METHODS {
            assert_ne!(reply_method(m), "—", "{m}");
        }
        assert_eq!(finding("partly_substantiated"), "部分查实");
        assert_eq!(finding("unknown"), "—");
        assert_eq!(audit_action("case.accept"), "流程：签收");
        assert_eq!(audit_action("something.else"), "something.else");
    }
}

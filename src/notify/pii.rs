//! Personal data in emails. The complainant's identity (name, phone, email, id, address) is
//! never in an email to the unit the complaint is about (`target_unit`, or a unit the text
//! names as its subject); in emails to any other unit it is masked. Free text that goes into an
//! email (the title) has every known personal value replaced.

use connectors::item::Complainant;

use super::Assignment;

/// What a recipient unit may learn about the complainant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// The unit is the subject of the complaint: nothing about the complainant.
    Withheld,
    /// Any other unit: masked values.
    Masked,
}

/// The disclosure for an email to `unit` about assignment `a`: withheld from a unit the
/// complaint's target unit or subjects name, and from the case's own unit while its queue is a
/// recorded subject.
pub fn disclosure_for(unit: &str, a: &Assignment) -> Disclosure {
    let named = a
        .target_unit
        .iter()
        .chain(a.subject_units.iter())
        .any(|named| same_unit(named, unit));
    let own_queue_subject = unit == a.queue_name && a.subject_queues.contains(&a.queue_key);
    if named || own_queue_subject {
        Disclosure::Withheld
    } else {
        Disclosure::Masked
    }
}

use crate::routing::config::same_unit;
use crate::store::{DerivedTx, StoreError};

/// Sets each assignment's `subject_queues` to its case's recorded subjects as they are now
/// (one read for all): a stored assignment is older than a subject staff named since.
pub async fn refresh_subjects(
    tx: &mut dyn DerivedTx,
    assignments: &mut [&mut Assignment],
) -> Result<(), StoreError> {
    let keys: Vec<&str> = assignments.iter().map(|a| a.case_id.as_str()).collect();
    let recorded = tx.cases_subjects(&keys).await?;
    for a in assignments.iter_mut() {
        a.subject_queues = recorded
            .get(&a.case_id)
            .into_iter()
            .flatten()
            .filter(|s| s.is_active())
            .map(|s| s.queue.clone())
            .collect();
    }
    Ok(())
}

/// The complainant section of an email body.
pub fn complainant_section(complainant: Option<&Complainant>, disclosure: Disclosure) -> String {
    let Some(c) = complainant else {
        return "投诉人：未提供".to_string();
    };
    if disclosure == Disclosure::Withheld {
        return "投诉人：依规不向被投诉单位提供投诉人信息".to_string();
    }
    if c.anonymous {
        return "投诉人：匿名".to_string();
    }
    let mut lines = vec!["投诉人（已脱敏）：".to_string()];
    let fields: [(&str, &Option<String>, fn(&str) -> String); 5] = [
        ("姓名", &c.name, mask_name),
        ("电话", &c.phone, mask_phone),
        ("邮箱", &c.email, mask_email),
        ("证件号", &c.id, mask_id),
        ("地址", &c.address, mask_address),
    ];
    for (label, value, mask) in fields {
        if let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) {
            lines.push(format!("  {label}：{}", mask(value.trim())));
        }
    }
    lines.join("\n")
}

/// `text` with every personal value of `complainant` replaced (masked, or a placeholder when
/// withheld).
pub fn scrub(text: &str, complainant: Option<&Complainant>, disclosure: Disclosure) -> String {
    let Some(c) = complainant else {
        return text.to_string();
    };
    let mut out = text.to_string();
    let fields: [(&Option<String>, fn(&str) -> String); 5] = [
        (&c.phone, mask_phone),
        (&c.email, mask_email),
        (&c.id, mask_id),
        (&c.address, mask_address),
        (&c.name, mask_name),
    ];
    for (value, mask) in fields {
        let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        let replacement = match disclosure {
            Disclosure::Withheld => "[已隐去]".to_string(),
            Disclosure::Masked => mask(value),
        };
        out = out.replace(value, &replacement);
    }
    out
}

/// 张三丰 → 张**.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    }
}

/// 13912345678 → 139****5678; short numbers keep only their last two digits.
pub fn mask_phone(phone: &str) -> String {
    keep_ends(phone, 3, 4)
}

/// zhang.san@example.com → z***@example.com.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().unwrap_or('*');
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

/// 110101199003071234 → 1101**********1234.
pub fn mask_id(id: &str) -> String {
    keep_ends(id, 4, 4)
}

/// 城南区解放路88号3单元 → 城南区解放***: the first five characters (district level) only.
pub fn mask_address(address: &str) -> String {
    let kept: String = address.chars().take(5).collect();
    format!("{kept}***")
}

fn keep_ends(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail {
        let visible = chars.len().saturating_sub(2);
        return "*".repeat(visible) + &chars[visible..].iter().collect::<String>();
    }
    let hidden = chars.len() - head - tail;
    format!(
        "{}{}{}",
        chars[..head].iter().collect::<String>(),
        "*".repeat(hidden),
        chars[head + hidden..].iter().collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_a_little() {
        assert_eq!(mask_name("欧阳春华"), "欧***");
        assert_eq!(mask_phone("13912345678"), "139****5678");
        assert_eq!(mask_email("liu.min@example.com"), "l***@example.com");
        assert_eq!(mask_id("110101199003071234"), "1101**********1234");
        assert_eq!(mask_address("城南区解放路88号"), "城南区解放***");
        assert_eq!(mask_phone("110"), "*10");
    }

    #[test]
    fn a_recorded_subject_withholds_the_identity_from_its_own_unit() {
        let mut a: Assignment = serde_json::from_value(serde_json::json!({
            "case_id": "c1", "complaint_id": "c1", "queue_key": "finance",
            "queue_name": "市财政局", "members": [], "supervisor": "boss@example.gov",
            "informed": [], "priority": "normal", "channel": "online", "title": null,
            "assigned_at": "2026-03-02T09:00:00+08:00", "target_unit": null,
            "subject_units": [], "complainant": null
        }))
        .unwrap();
        assert_eq!(disclosure_for("市财政局", &a), Disclosure::Masked);
        a.subject_queues = vec!["finance".into()];
        assert_eq!(disclosure_for("市财政局", &a), Disclosure::Withheld);
        assert_eq!(disclosure_for("市审计局", &a), Disclosure::Masked);
        a.subject_units = vec!["审计局".into()];
        assert_eq!(disclosure_for("市审计局", &a), Disclosure::Withheld);
    }

    #[test]
    fn scrub_replaces_known_values_in_free_text() {
        let c = Complainant {
            name: Some("刘敏".into()),
            phone: Some("13800001111".into()),
            ..Default::default()
        };
        let title = "刘敏（13800001111）反映审批拖延";
        assert_eq!(
            scrub(title, Some(&c), Disclosure::Masked),
            "刘*（138****1111）反映审批拖延"
        );
        assert_eq!(
            scrub(title, Some(&c), Disclosure::Withheld),
            "[已隐去]（[已隐去]）反映审批拖延"
        );
    }
}

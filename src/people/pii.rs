//! Personal data written into free text: mainland mobile and landline numbers, 18-digit
//! resident ID numbers (with a valid check digit) and e-mail addresses, found and masked in
//! what a viewer who may not see the complainant's identity is shown. The stored text never
//! changes.
//!
//! What it cannot catch: names (no dictionary of Chinese names is reliable enough), addresses,
//! numbers split by spaces or written in Chinese numerals, 15-digit IDs of the old format.

use std::sync::LazyLock;

use regex::Regex;

/// What a masked span is replaced with.
pub const PHONE_MASK: &str = "[电话已隐去]";
pub const ID_MASK: &str = "[身份证号已隐去]";
pub const EMAIL_MASK: &str = "[邮箱已隐去]";

/// ID numbers first (18 digits would also look like a run holding a mobile number), then
/// e-mail addresses, mobiles and landlines. Digit runs are bounded by non-digits.
static ID_NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^0-9])([1-9][0-9]{16}[0-9Xx])(?:$|[^0-9A-Za-z])").unwrap());
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}").unwrap()
});
static MOBILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9])((?:\+?86[- ]?)?1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4})(?:$|[^0-9])")
        .unwrap()
});
static LANDLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^0-9])((?:\(0[1-9][0-9]{1,2}\)|（0[1-9][0-9]{1,2}）|0[1-9][0-9]{1,2}-)[2-9][0-9]{6,7})(?:$|[^0-9])").unwrap()
});

/// Whether `id` (18 characters) carries a valid ISO 7064 MOD 11-2 check character.
pub fn id_number_checks(id: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let bytes = id.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = bytes[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize] == bytes[17].to_ascii_uppercase()
}

/// Replaces the capture group 1 of every match of `pattern` that `keep` accepts.
fn replace_group(text: &str, pattern: &Regex, keep: impl Fn(&str) -> bool, mask: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    // Matches consume their boundary characters, so scan from each match's group end.
    let mut at = 0;
    while let Some(captures) = pattern.captures_at(text, at) {
        let group = captures.get(1).expect("group 1");
        if keep(group.as_str()) {
            out.push_str(&text[last..group.start()]);
            out.push_str(mask);
            last = group.end();
        }
        at = group.end();
        if at >= text.len() {
            break;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// `text` with every phone number, ID number and e-mail address masked.
pub fn mask_text(text: &str) -> String {
    let text = replace_group(text, &ID_NUMBER, id_number_checks, ID_MASK);
    let text = EMAIL.replace_all(&text, EMAIL_MASK).into_owned();
    let text = replace_group(&text, &MOBILE, |_| true, PHONE_MASK);
    replace_group(&text, &LANDLINE, |_| true, PHONE_MASK)
}

/// Whether `text` holds anything [`mask_text`] would mask.
pub fn contains_personal_data(text: &str) -> bool {
    mask_text(text) != text
}

/// Seven or more digits, optionally split by `-` or spaces: a part of a phone or ID number
/// (search finds substrings, so a part finds the whole).
static DIGIT_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9](?:[- ]?[0-9]){6,}").unwrap());

/// Whether a search query looks for personal data: a phone number, an ID number or an e-mail
/// address [`mask_text`] finds, or a part of one (seven or more digits, or a term with `@`),
/// full-width digits and `＠` counted as ASCII.
pub fn query_seeks_personal_data(query: &str) -> bool {
    let folded: String = query
        .chars()
        .map(|c| match c {
            '０'..='９' | '＠' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            other => other,
        })
        .collect();
    contains_personal_data(&folded) || DIGIT_RUN.is_match(&folded) || folded.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid ID number made up for the tests (its check character computed).
    fn valid_id() -> String {
        let body = "11010519491231002";
        let id = ('0'..='9')
            .chain(['X'])
            .map(|c| format!("{body}{c}"))
            .find(|id| id_number_checks(id))
            .unwrap();
        id
    }

    #[test]
    fn phones_ids_and_emails_are_masked() {
        let id = valid_id();
        let cases = [
            (
                "联系电话13812345678，请回电",
                "联系电话[电话已隐去]，请回电",
            ),
            ("手机：138-1234-5678。", "手机：[电话已隐去]。"),
            ("+86 13912345678", "[电话已隐去]"),
            ("座机0731-84123456转人工", "座机[电话已隐去]转人工"),
            ("（010）62345678", "[电话已隐去]"),
            ("邮箱 wang.fang@example.com 谢谢", "邮箱 [邮箱已隐去] 谢谢"),
        ];
        for (input, expected) in cases {
            assert_eq!(mask_text(input), expected, "{input}");
        }
        let with_id = format!("身份证号{id}，住址不详");
        assert_eq!(mask_text(&with_id), "身份证号[身份证号已隐去]，住址不详");
        let two = "电话13812345678或13987654321";
        assert_eq!(mask_text(two), "电话[电话已隐去]或[电话已隐去]");
    }

    #[test]
    fn queries_for_personal_data_or_a_part_of_it_are_recognised() {
        for query in [
            "13812345678",
            "12345678",
            "1381234",
            "138 1234 5678",
            "０７３１-８４１２３４５６",
            "wang.fang@example.com",
            "@example",
            "路灯 13812345678",
        ] {
            assert!(query_seeks_personal_data(query), "{query}");
        }
        for query in [
            "路灯不亮",
            "2024年3月",
            "123456",
            "工单 2024",
            "\"城管 执法\"",
        ] {
            assert!(!query_seeks_personal_data(query), "{query}");
        }
    }

    #[test]
    fn numbers_that_are_not_personal_data_stay() {
        let id = valid_id();
        let mut wrong_check = id.clone();
        let last = if id.ends_with('0') { '1' } else { '0' };
        wrong_check.replace_range(17.., &last.to_string());
        for text in [
            "2024年3月5日下午3点",
            "订单号202403051234567890123",
            "工单编号12345678901",
            "金额138123456元",
            "第23812345678号文件",
            "版本1.3.8",
            wrong_check.as_str(),
            "城东区8号楼302室",
            "邮编410000",
            "wang@localhost",
        ] {
            assert_eq!(mask_text(text), text, "{text}");
            assert!(!contains_personal_data(text));
        }
        assert!(!id_number_checks("1101051949123100"));
        assert!(id_number_checks(&id));
    }
}

/// Parts of a `meta` key that mark the value as the complainant's identity.
const PERSONAL_KEYS: &[&str] = &[
    "name",
    "姓名",
    "联系人",
    "phone",
    "mobile",
    "tel",
    "电话",
    "手机",
    "联系方式",
    "email",
    "mail",
    "邮箱",
    "身份证",
    "idcard",
    "id_card",
    "证件",
    "address",
    "地址",
    "住址",
];

/// Whether a `meta` key names personal data (`mobile`, `联系人`, `身份证号`, …).
pub fn is_personal_key(key: &str) -> bool {
    let key = key.to_lowercase();
    PERSONAL_KEYS.iter().any(|part| key.contains(part))
}

/// `item` as a viewer who may not know the complainant sees it: no `complainant`, personal
/// `meta` fields removed, personal data in every other text masked.
pub fn mask_item(item: &mut connectors::Item) {
    item.complainant = None;
    item.title = item.title.as_deref().map(mask_text);
    item.body = mask_text(&item.body);
    item.meta.retain(|key, _| !is_personal_key(key));
    for value in item.meta.values_mut() {
        mask_value(value);
    }
}

fn mask_value(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => *text = mask_text(text),
        serde_json::Value::Array(values) => values.iter_mut().for_each(mask_value),
        serde_json::Value::Object(map) => {
            map.retain(|key, _| !is_personal_key(key));
            map.values_mut().for_each(mask_value);
        }
        _ => {}
    }
}

#[cfg(test)]
mod item_tests {
    use super::*;
    use connectors::item::ParseOptions;
    use serde_json::json;

    #[test]
    fn a_masked_item_keeps_no_identity_in_any_field() {
        let mut item = connectors::Item::from_value(
            json!({
                "external_id": "m-1",
                "title": "请回电13812345678",
                "body": "我的邮箱是zhou@example.com，身份证见附件。",
                "complainant": {"name": "周某某", "phone": "13812345678"},
                "meta": {"mobile": "13812345678", "联系人": "周某某", "办理渠道": "窗口",
                         "备注": {"回访电话": "13812345678", "说明": "致电0731-84123456"}}
            }),
            &ParseOptions::default(),
        )
        .unwrap();
        mask_item(&mut item);
        let shown = serde_json::to_string(&item).unwrap();
        for secret in ["13812345678", "周某某", "zhou@example.com", "84123456"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert_eq!(item.meta["办理渠道"], "窗口", "other fields stay");
        assert!(item.complainant.is_none());
        assert!(shown.contains(PHONE_MASK));
    }
}

/// Any JSON answer as a viewer who may not know complainants sees it: every `complainant`
/// removed, personal fields of every `meta` object removed, raw payloads (`base64`) withheld,
/// personal data in every string masked.
pub fn mask_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => {
            if contains_personal_data(text) {
                *text = mask_text(text);
            }
        }
        serde_json::Value::Array(values) => values.iter_mut().for_each(mask_json),
        serde_json::Value::Object(map) => {
            map.remove("complainant");
            if let Some(raw) = map.get_mut("base64") {
                *raw = serde_json::Value::String(String::new());
                map.insert("withheld".into(), serde_json::Value::Bool(true));
            }
            if let Some(serde_json::Value::Object(meta)) = map.get_mut("meta") {
                meta.retain(|key, _| !is_personal_key(key));
            }
            map.values_mut().for_each(mask_json);
        }
        _ => {}
    }
}

#[cfg(test)]
mod json_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn any_answer_loses_identities_but_keeps_its_shape() {
        let mut answer = json!({
            "total": 2,
            "hits": [{"id": "c1", "snippet": "请联系13812345678", "name": "市监察局"}],
            "members": [{"item": {"complainant": {"name": "周某"},
                                  "meta": {"联系人": "周某", "渠道": "网站"}}}],
            "raw": {"base64": "5ZGo5p+Q", "text": "电话13812345678"}
        });
        mask_json(&mut answer);
        let shown = answer.to_string();
        assert!(
            !shown.contains("13812345678") && !shown.contains("周某"),
            "{shown}"
        );
        assert_eq!(answer["total"], 2);
        assert_eq!(answer["hits"][0]["name"], "市监察局", "ordinary names stay");
        assert_eq!(answer["members"][0]["item"]["meta"]["渠道"], "网站");
        assert_eq!(answer["raw"]["withheld"], true);
    }
}

//! 案件's complaints, a page at a time, each with why it is in the case (为何归并).
//!
//! A case may hold thousands of complaints: the page shows [`MEMBERS_PAGE`] of them, in the
//! order they joined the case (earliest first, the founding complaint first), and links to the
//! others with `?members=N` (the offset). Only the page's members are read
//! (`cases::read::get_case_page`, the store's paged read). Each is masked by
//! `api::privacy::mask` when the caller's view of the case is masked (as
//! `GET /v1/complaints/{id}`), and so is its grouping reason's text (the places and terms it
//! shares with the complaint it matched).

use super::labels;
use super::page::{ConsoleError, local_text, offset};
use crate::api::AppState;
use crate::api::error::ApiError;
use crate::api::privacy::{holds_personal_data, mask};
use crate::cases::{CaseError, CaseSummary};
use crate::grouping::{GroupingReason, MatchKind};
use crate::people::pii;

/// Most complaints one page of a case shows.
pub const MEMBERS_PAGE: i64 = 50;

/// The complainant as shown (every field already masked or withheld as the view says).
pub struct ComplainantView {
    pub name: String,
    pub phone: String,
    pub email: String,
    pub address: String,
    pub anonymous: bool,
}

/// One member complaint.
pub struct MemberView {
    /// Its place in the case, from 1.
    pub number: i64,
    pub id: String,
    pub channel_code: String,
    pub channel: &'static str,
    pub source: String,
    pub received: String,
    pub title: Option<String>,
    pub body: String,
    /// `None` when the view withholds it, or the complaint names nobody.
    pub complainant: Option<ComplainantView>,
    pub attachments: Vec<(String, String)>,
    /// 为何归并: the grouping reason recorded when it joined, in Chinese.
    pub why: String,
}

/// The page of members shown, and where the others are.
pub struct MembersPage {
    pub members: Vec<MemberView>,
    /// Complaints in the case.
    pub total: i64,
    /// The offsets of the previous and next pages, when there are any.
    pub previous: Option<i64>,
    pub next: Option<i64>,
}

impl MembersPage {
    /// `第 51–100 件，共 1200 件`.
    pub fn range(&self) -> String {
        match (self.members.first(), self.members.last()) {
            (Some(first), Some(last)) => format!(
                "第 {}–{} 件，共 {} 件",
                first.number, last.number, self.total
            ),
            _ => format!("共 {} 件", self.total),
        }
    }
}

/// The members of case `id` from `from` (an offset), as a `masked` view shows them; with the
/// ids of those shown in full with personal data (the caller records the view).
pub async fn load(
    state: &AppState,
    id: &str,
    from: i64,
    masked: bool,
) -> Result<(CaseSummary, MembersPage, Vec<String>), ConsoleError> {
    let from = from.max(0);
    let (case, records) =
        match crate::cases::read::get_case_page(&state.store, id, from, MEMBERS_PAGE).await {
            Ok(found) => found,
            Err(CaseError::NotFound(_)) => return Err(ConsoleError::not_found()),
            Err(error) => return Err(ApiError::from(error).into()),
        };
    let offset = offset(state);
    let mut members = Vec::with_capacity(records.len());
    let mut shown = Vec::new();
    for (n, member) in (from + 1..).zip(records) {
        let Some(mut complaint) = state.store.complaint(&member.complaint_id).await? else {
            continue;
        };
        if masked {
            mask(&mut complaint);
        } else if holds_personal_data(&complaint) {
            shown.push(complaint.id.clone());
        }
        let complainant = complaint.item.complainant.as_ref().map(|c| {
            let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
            ComplainantView {
                name: or_dash(&c.name),
                phone: or_dash(&c.phone),
                email: or_dash(&c.email),
                address: or_dash(&c.address),
                anonymous: c.anonymous,
            }
        });
        members.push(MemberView {
            number: n,
            why: reason_text(&member.why, masked),
            channel: labels::channel(&complaint.channel),
            received: local_text(&complaint.received_at, offset),
            attachments: complaint
                .item
                .attachments
                .iter()
                .filter(|a| a.url.starts_with("http://") || a.url.starts_with("https://"))
                .map(|a| {
                    (
                        a.url.clone(),
                        a.name.clone().unwrap_or_else(|| a.url.clone()),
                    )
                })
                .collect(),
            channel_code: complaint.channel,
            source: complaint.source,
            title: complaint.title,
            body: complaint.body,
            complainant,
            id: complaint.id,
        });
    }
    let total = case.complaints.max(from + members.len() as i64);
    let (previous, next) = neighbours(from, total);
    let page = MembersPage {
        previous,
        next,
        total,
        members,
    };
    Ok((case, page, shown))
}

/// The offsets of the pages before and after the one starting at `from` in a case of `total`
/// complaints; past the end, the previous page is the last one.
fn neighbours(from: i64, total: i64) -> (Option<i64>, Option<i64>) {
    let last = (total.max(1) - 1) / MEMBERS_PAGE * MEMBERS_PAGE;
    let previous = (from > 0).then(|| (from - MEMBERS_PAGE).clamp(0, last));
    let next = (from + MEMBERS_PAGE < total).then_some(from + MEMBERS_PAGE);
    (previous, next)
}

/// A grouping reason in Chinese: the kind of match, the complaint matched and the score, then
/// the places and problem terms both share.
pub fn reason_text(why: &GroupingReason, masked: bool) -> String {
    let other = why
        .matched_complaint_id
        .as_deref()
        .map_or_else(|| "本案件的来件".to_string(), |id| format!("来件 {id}"));
    let score = why.score;
    let mut text = match why.kind {
        MatchKind::Exact => format!("与{other} 内容相同（重复投诉）"),
        MatchKind::NearDuplicate => format!("与{other} 文本相似度 {score:.2}（转发或改写）"),
        MatchKind::SameComplainant => {
            format!("同一投诉人再次反映，与{other} 问题相近（相似度 {score:.2}）")
        }
        MatchKind::SameIssue => format!("与{other} 反映同一问题，相似度 {score:.2}"),
        MatchKind::Pinned => "工作人员合并或拆分案件时归入".to_string(),
        MatchKind::New => "没有相近的来件：据此新立案件".to_string(),
    };
    let shown = |items: &[String]| {
        items
            .iter()
            .map(|s| if masked { pii::mask_text(s) } else { s.clone() })
            .collect::<Vec<_>>()
            .join("、")
    };
    if !why.shared_places.is_empty() {
        text.push_str(&format!("；同一地点：{}", shown(&why.shared_places)));
    }
    if !why.shared_terms.is_empty() {
        text.push_str(&format!("；共同问题词：{}", shown(&why.shared_terms)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(kind: MatchKind, places: &[&str], terms: &[&str]) -> GroupingReason {
        GroupingReason {
            kind,
            score: 0.8234,
            matched_complaint_id: Some("c-1".into()),
            shared_places: places.iter().map(|s| s.to_string()).collect(),
            shared_terms: terms.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_grouping_reason_reads_in_chinese_with_its_score_and_what_is_shared() {
        let near = reason(MatchKind::NearDuplicate, &["幸福里小区"], &["井盖", "缺失"]);
        assert_eq!(
            reason_text(&near, false),
            "与来件 c-1 文本相似度 0.82（转发或改写）；同一地点：幸福里小区；共同问题词：井盖、缺失"
        );
        let issue = reason(MatchKind::SameIssue, &[], &[]);
        assert_eq!(
            reason_text(&issue, false),
            "与来件 c-1 反映同一问题，相似度 0.82"
        );
        let new = GroupingReason {
            kind: MatchKind::New,
            score: 0.0,
            matched_complaint_id: None,
            shared_places: Vec::new(),
            shared_terms: Vec::new(),
        };
        assert!(reason_text(&new, false).contains("新立案件"));
    }

    #[test]
    fn pages_link_to_their_neighbours() {
        assert_eq!(neighbours(0, 55), (None, Some(50)));
        assert_eq!(neighbours(50, 55), (Some(0), None));
        assert_eq!(neighbours(0, 50), (None, None));
        assert_eq!(neighbours(60, 120), (Some(10), Some(110)));
        assert_eq!(
            neighbours(1000, 55),
            (Some(50), None),
            "past the end: the last page"
        );
    }

    #[test]
    fn a_masked_view_masks_what_the_reason_shares() {
        let phone = reason(MatchKind::SameIssue, &["幸福里"], &["13698765432"]);
        let masked = reason_text(&phone, true);
        assert!(!masked.contains("13698765432"), "{masked}");
        assert!(reason_text(&phone, false).contains("13698765432"));
    }
}

//! How the synthetic generator writes a letter: a title, an opening, who is writing and from
//! where, what is wrong in their own words, how long it has lasted, what they want; and how a
//! repost or an edited copy changes an earlier letter.

use super::words::*;
use super::{CHINESE_NUMBERS, Issue, Rng, Written, channel};
use crate::grouping::PlaceKind;

pub(super) fn fill(rng: &mut Rng, template: &str, issue: &Issue, place: &str) -> String {
    template
        .replace("{p}", place)
        .replace("{unit}", issue.problem.unit)
        .replace(
            "{n}",
            &if issue.place_names.is_empty() && template.contains("路") {
                issue.route.to_string()
            } else {
                rng.pick(CHINESE_NUMBERS).to_string()
            },
        )
}

pub(super) fn written_place(rng: &mut Rng, issue: &Issue) -> String {
    if issue.place_names.is_empty() {
        return String::new();
    }
    let name = if rng.chance(0.6) {
        issue.place_names[0].clone()
    } else {
        rng.pick(&issue.place_names).clone()
    };
    if rng.chance(0.35) {
        format!("{}{name}", issue.district)
    } else {
        name
    }
}

pub(super) fn title(rng: &mut Rng, issue: &Issue) -> String {
    let place = written_place(rng, issue);
    let template = match issue.question {
        Some(question) => issue.problem.titles[question],
        None => *rng.pick(issue.problem.titles),
    };
    let route = issue.route.to_string();
    template.replace("{p}", &place).replace("{n}", &route)
}

pub(super) fn paraphrase(rng: &mut Rng, issue: &Issue, next_person: &mut u64) -> Written {
    let place = written_place(rng, issue);
    let mut body = String::new();
    body.push_str(rng_pick(rng, OPENINGS));
    let intro = match issue.problem.place {
        Some(PlaceKind::Estate) => *rng.pick(&[
            "我是{p}的业主，",
            "本人住在{p}，",
            "我们是{p}的居民，",
            "反映一下{p}的情况，",
        ]),
        Some(PlaceKind::Road) => *rng.pick(&[
            "我每天上下班都要经过{p}，",
            "{p}附近的居民向您反映，",
            "关于{p}的问题，",
        ]),
        Some(PlaceKind::School) => *rng.pick(&[
            "我是{p}的学生家长，",
            "我是{p}的一名学生，",
            "反映{p}的问题，",
        ]),
        Some(PlaceKind::Hospital) => {
            *rng.pick(&["前几天家人在{p}看病，", "关于{p}的问题向您反映，"])
        }
        Some(_) => *rng.pick(&[
            "关于{p}的问题向您反映，",
            "我要反映{p}的情况，",
            "{p}的问题请领导关注，",
        ]),
        None => *rng.pick(&["想咨询一个问题，", "有个情况向领导反映，", ""]),
    };
    body.push_str(&fill(rng, intro, issue, &place));
    // What makes a letter one person's: their home, family and when it happened.
    for _ in 0..1 + rng.below(3) {
        let template = rng_pick(rng, PERSONAL_DETAILS);
        body.push_str(&personal(rng, template));
        body.push_str(if rng.chance(0.6) { "，" } else { "。" });
    }
    let facts = issue.problem.facts;
    let wanted = 2 + rng.below(4).min(facts.len().saturating_sub(2));
    let mut order: Vec<usize> = (0..facts.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }
    for (k, &i) in order.iter().take(wanted).enumerate() {
        if k > 0 && !place.is_empty() && rng.chance(0.15) {
            body.push_str(&place);
        }
        if rng.chance(0.4) {
            body.push_str(rng_pick(rng, FILLERS));
        }
        body.push_str(&fill(rng, facts[i], issue, &place));
        body.push_str(if rng.chance(0.7) { "，" } else { "。" });
    }
    for pool in [DURATIONS, ATTEMPTS] {
        if rng.chance(0.6) {
            let template = rng_pick(rng, pool);
            body.push_str(&fill(rng, template, issue, &place));
            body.push('，');
        }
    }
    let demand = rng_pick(rng, DEMANDS);
    body.push_str(&fill(rng, demand, issue, &place));
    body.push('。');
    body.push_str(rng_pick(rng, CLOSINGS));
    let complainant = if rng.chance(0.9) {
        *next_person += 1;
        Some(*next_person)
    } else {
        None
    };
    Written {
        title: title(rng, issue),
        body,
        complainant,
        channel: channel(rng),
    }
}

/// Fills a personal-detail template with this writer's numbers.
pub(super) fn personal(rng: &mut Rng, template: &str) -> String {
    template
        .replace("{b}", &(1 + rng.below(32)).to_string())
        .replace("{u}", &(1 + rng.below(6)).to_string())
        .replace("{y}", rng_pick(rng, CHINESE_NUMBERS))
        .replace("{a}", &(60 + rng.below(35)).to_string())
        .replace("{w}", rng_pick(rng, WEEKDAYS))
        .replace("{h}", &(1 + rng.below(12)).to_string())
        .replace("{k}", &(2 + rng.below(60)).to_string())
}

pub(super) fn rng_pick(rng: &mut Rng, pool: &[&'static str]) -> &'static str {
    pool[rng.below(pool.len())]
}

pub(super) fn edit(rng: &mut Rng, last: &Written) -> Written {
    let mut copy = last.clone();
    match rng.below(3) {
        0 => copy.title.push_str(rng_pick(
            rng,
            &["，急需处理！", "（再次反映）", "，请尽快解决"],
        )),
        1 => {
            // Drop one sentence of the body.
            let parts: Vec<&str> = copy.body.split_inclusive(['，', '。']).collect();
            if parts.len() > 3 {
                let drop = 1 + rng.below(parts.len() - 2);
                copy.body = parts
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != drop)
                    .map(|(_, p)| *p)
                    .collect();
            }
        }
        _ => {
            let from = *rng.pick(CHINESE_NUMBERS);
            let to = *rng.pick(CHINESE_NUMBERS);
            copy.body = copy.body.replacen(from, to, 1);
            copy.body.push_str("问题至今没有解决。");
        }
    }
    copy.channel = channel(rng);
    copy
}

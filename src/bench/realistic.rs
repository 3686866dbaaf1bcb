//! `bench corpus --realistic --from FILE…`: a corpus of real length and wording, built at run
//! time from texts the operator points at (JSON Lines of canonical items, e.g. a public
//! message-board export; nothing of them is kept in the repository). Each generated complaint
//! takes one source message's title and sentences, replaces about a third of the sentences
//! with sentences of other messages, renumbers its districts and gets its own date, channel
//! and (for most) a complainant, so a million distinct complaints of the source's length
//! distribution come out of a few thousand messages.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use chrono::{Duration, FixedOffset, TimeZone};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Share of a message's sentences replaced by sentences of other messages.
const REPLACED: f64 = 0.35;
/// Share of complaints with a complainant (a phone number); the others are anonymous.
const WITH_COMPLAINANT: f64 = 0.6;
/// Days the complaints' dates span (the archive's years).
const SPAN_DAYS: i64 = 3 * 365;

/// One source message, split into sentences (each keeps its closing punctuation).
struct Message {
    title: Option<String>,
    sentences: Vec<String>,
}

/// Reads the messages of `files` (JSON Lines with `body` and optional `title`); lines that are
/// not JSON objects with a non-empty `body` are skipped and counted.
fn read_messages(files: &[PathBuf]) -> anyhow::Result<Vec<Message>> {
    let mut messages = Vec::new();
    let mut skipped = 0usize;
    for file in files {
        let reader = std::fs::File::open(file)
            .map(std::io::BufReader::new)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
        for line in reader.lines() {
            let line = line.map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) else {
                skipped += 1;
                continue;
            };
            let body = value.get("body").and_then(|b| b.as_str()).unwrap_or("");
            let sentences = sentences(body);
            if sentences.is_empty() {
                skipped += 1;
                continue;
            }
            let title = value.get("title").and_then(|t| t.as_str());
            messages.push(Message {
                title: title.filter(|t| !t.trim().is_empty()).map(str::to_string),
                sentences,
            });
        }
    }
    anyhow::ensure!(
        messages.len() >= 2,
        "--from gave {} usable messages (JSON Lines with a `body`; {skipped} lines skipped): \
         at least 2 are needed",
        messages.len()
    );
    if skipped > 0 {
        eprintln!("skipped {skipped} lines without a JSON object with a `body`");
    }
    Ok(messages)
}

/// `text` cut after each sentence-ending mark; whitespace-only pieces dropped.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        current.push(ch);
        if matches!(ch, '。' | '！' | '？' | '；' | '!' | '?' | '\n') {
            if !current.trim().is_empty() {
                out.push(std::mem::take(&mut current));
            } else {
                current.clear();
            }
        }
    }
    if !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// Renumbers district-like codes (`A3区`, `B12县`) with `shift`, the same way throughout one
/// complaint, so copies of a message are about different places.
fn renumber(text: &str, shift: u32) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        out.push(c);
        i += 1;
        if c.is_ascii_uppercase() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let is_place = i > start && matches!(chars.get(i), Some('区' | '县' | '镇' | '街'));
            let digits: String = chars[start..i].iter().collect();
            match digits.parse::<u32>() {
                Ok(n) if is_place => out.push_str(&((n + shift) % 30 + 1).to_string()),
                _ => out.push_str(&digits),
            }
        }
    }
    out
}

/// Writes `docs` complaints built from the messages of `from` to `output`, with a progress bar;
/// returns the bytes written.
pub fn write(docs: u64, seed: u64, from: &[PathBuf], output: &Path) -> anyhow::Result<u64> {
    let messages = read_messages(from)?;
    let file = std::fs::File::create(output)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", output.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let mut rng = StdRng::seed_from_u64(seed);
    let zone = FixedOffset::east_opt(8 * 3600).expect("a valid offset");
    let start = zone.with_ymd_and_hms(2023, 1, 1, 8, 0, 0).unwrap();
    let channels = ["hotline", "online", "petition", "media"];
    let complainants = (docs / 3).max(1);
    let bar = crate::progress::progress_bar(Some(docs), "complaints");
    let mut written = 0u64;
    for n in 0..docs {
        let base = &messages[rng.random_range(0..messages.len())];
        let shift = rng.random_range(0..30);
        let mut body = String::new();
        for sentence in &base.sentences {
            if rng.random_bool(REPLACED) {
                let other = &messages[rng.random_range(0..messages.len())];
                body.push_str(&other.sentences[rng.random_range(0..other.sentences.len())]);
            } else {
                body.push_str(sentence);
            }
        }
        // Arrival order is date order, as an archive export is.
        let at = start + Duration::seconds((n as i64 * SPAN_DAYS * 86_400) / docs.max(1) as i64);
        let mut item = serde_json::json!({
            "external_id": format!("real-{seed}-{n}"),
            "title": base.title.as_deref().map(|t| renumber(t, shift)),
            "body": renumber(&body, shift),
            "submitted_at": at.to_rfc3339(),
            "meta": {"generated_channel": channels[rng.random_range(0..channels.len())]},
        });
        if rng.random_bool(WITH_COMPLAINANT) {
            let person = rng.random_range(0..complainants);
            item["complainant"] = serde_json::json!({"phone": format!("139{person:08}")});
        }
        let line = serde_json::to_vec(&item)?;
        out.write_all(&line)?;
        out.write_all(b"\n")?;
        written += line.len() as u64 + 1;
        if n % 1024 == 0 {
            bar.set_position(n);
        }
    }
    out.flush()?;
    bar.finish_and_clear();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_keep_their_marks_and_drop_blank_pieces() {
        assert_eq!(
            sentences("路灯坏了。请尽快修！  \n何时修？还有"),
            ["路灯坏了。", "请尽快修！", "  \n", "何时修？", "还有"]
                .into_iter()
                .filter(|s| !s.trim().is_empty())
                .collect::<Vec<_>>()
        );
        assert!(sentences(" \n ").is_empty());
    }

    #[test]
    fn districts_are_renumbered_and_other_codes_kept() {
        assert_eq!(renumber("A市A3区B12县的C座", 1), "A市A5区B14县的C座");
        assert_eq!(renumber("A3区A3区", 29), "A3区A3区");
        assert_eq!(renumber("第3号", 5), "第3号");
    }

    #[test]
    fn a_corpus_is_built_from_the_given_messages_with_distinct_complaints() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.jsonl");
        std::fs::write(
            &input,
            "{\"title\":\"A1区路灯不亮\",\"body\":\"A1区人民路的路灯坏了。晚上很黑。请修理！\"}\n\
             not json\n{\"title\":\"噪音\",\"body\":\"工地夜间施工。吵得睡不着。希望处理。\"}\n",
        )
        .unwrap();
        let output = dir.path().join("out.jsonl");
        let bytes = write(200, 7, &[input.clone()], &output).unwrap();
        let text = std::fs::read_to_string(&output).unwrap();
        assert_eq!(text.len() as u64, bytes);
        let items: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(items.len(), 200);
        let bodies: std::collections::BTreeSet<&str> =
            items.iter().map(|i| i["body"].as_str().unwrap()).collect();
        assert!(
            bodies.len() > 20,
            "recombined: {} distinct bodies",
            bodies.len()
        );
        assert!(
            items
                .iter()
                .all(|i| i["body"].as_str().unwrap().ends_with(['。', '！']))
        );
        let with_phone = items
            .iter()
            .filter(|i| i.get("complainant").is_some())
            .count();
        assert!(
            (60..=180).contains(&with_phone),
            "{with_phone} with a complainant"
        );
        let dates: Vec<&str> = items
            .iter()
            .map(|i| i["submitted_at"].as_str().unwrap())
            .collect();
        assert!(dates.windows(2).all(|w| w[0] <= w[1]), "in date order");
        // Too few usable messages is a clear error.
        std::fs::write(&input, "{\"title\":\"x\"}\n").unwrap();
        let error = write(10, 7, &[input], &output).unwrap_err().to_string();
        assert!(error.contains("usable messages"), "{error}");
    }
}

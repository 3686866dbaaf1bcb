//! Highlighted excerpts: the window of the body holding the most query tokens, HTML-escaped,
//! with matches wrapped in `<b>…</b>`. Matching uses the same analysis as the index, so a
//! Traditional-script or full-width body is highlighted for a Simplified or half-width query,
//! and the excerpt shows the original characters.

use std::collections::HashSet;
use std::ops::Range;

use tantivy::tokenizer::TokenStream;

use super::analyzer;

/// Tokens examined at most (bodies are short; this bounds pathological ones).
const MAX_MATCHES: usize = 256;

/// The excerpt of `body` (at most `max_chars` characters) around the densest run of `terms`,
/// or its beginning when no term occurs.
pub fn snippet(body: &str, terms: &HashSet<String>, max_chars: usize) -> String {
    let matches = match_ranges(body, terms);
    if matches.is_empty() {
        return excerpt(body, 0..body.len(), &[], max_chars);
    }
    // Byte offset of every character, to measure windows in characters.
    let starts: Vec<usize> = body.char_indices().map(|(i, _)| i).collect();
    let char_at = |byte: usize| starts.partition_point(|&s| s < byte);
    let mut best = (0usize, 0usize);
    for (i, first) in matches.iter().enumerate() {
        let begin = char_at(first.start);
        let covered = matches[i..]
            .iter()
            .take_while(|m| char_at(m.end) <= begin + max_chars)
            .count();
        if covered > best.1 {
            best = (i, covered);
        }
    }
    let first_char = char_at(matches[best.0].start);
    // Start a little before the first match so it reads in context.
    let lead = (max_chars / 8).min(first_char);
    let from_char = first_char - lead;
    let to_char = (from_char + max_chars).min(starts.len());
    let from = starts[from_char];
    let to = starts.get(to_char).copied().unwrap_or(body.len());
    excerpt(body, from..to, &matches, max_chars)
}

/// Byte ranges of `body` whose analysed token is one of `terms`, merged where they overlap.
fn match_ranges(body: &str, terms: &HashSet<String>) -> Vec<Range<usize>> {
    if terms.is_empty() {
        return Vec::new();
    }
    // Nearly every Chinese query analyses to CJK bigrams (and single characters): find those
    // with one folding pass over the body and no allocation per character, instead of running
    // the whole analyzer over what can be a long letter.
    let mut pairs: HashSet<(char, char)> = HashSet::new();
    let mut singles: HashSet<char> = HashSet::new();
    for term in terms {
        let chars: Vec<char> = term.chars().collect();
        match chars.as_slice() {
            [a] if analyzer::is_cjk(*a) => {
                singles.insert(*a);
            }
            [a, b] if analyzer::is_cjk(*a) && analyzer::is_cjk(*b) => {
                pairs.insert((*a, *b));
            }
            _ => return analysed_ranges(body, terms),
        }
    }
    let mut ranges: Vec<Range<usize>> = Vec::new();
    let push = |range: Range<usize>, ranges: &mut Vec<Range<usize>>| match ranges.last_mut() {
        Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
        _ => ranges.push(range),
    };
    let mut folded = String::new();
    let mut previous: Option<(char, usize)> = None;
    for (from, c) in body.char_indices() {
        let to = from + c.len_utf8();
        folded.clear();
        analyzer::fold_char(c, &mut folded);
        let mut chars = folded.chars();
        let f = match (chars.next(), chars.next()) {
            (Some(f), None) if analyzer::is_cjk(f) => f,
            _ => {
                previous = None;
                continue;
            }
        };
        if let Some((p, p_from)) = previous
            && pairs.contains(&(p, f))
        {
            push(p_from..to, &mut ranges);
        }
        if singles.contains(&f) {
            push(from..to, &mut ranges);
        }
        previous = Some((f, from));
        if ranges.len() >= MAX_MATCHES {
            break;
        }
    }
    ranges
}

/// The general path: every token of the full analysis (Latin words, stems, mixed terms).
fn analysed_ranges(body: &str, terms: &HashSet<String>) -> Vec<Range<usize>> {
    let mut analyzer = analyzer::bigram_analyzer();
    let mut stream = analyzer.token_stream(body);
    let mut ranges: Vec<Range<usize>> = Vec::new();
    while let Some(token) = stream.next() {
        if !terms.contains(&token.text) {
            continue;
        }
        let range = token.offset_from..token.offset_to;
        match ranges.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => ranges.push(range),
        }
        if ranges.len() >= MAX_MATCHES {
            break;
        }
    }
    ranges
}

fn excerpt(body: &str, window: Range<usize>, matches: &[Range<usize>], max_chars: usize) -> String {
    let mut out = String::new();
    if window.start > 0 {
        out.push('…');
    }
    let mut cursor = window.start;
    for m in matches
        .iter()
        .filter(|m| m.start >= window.start && m.end <= window.end)
    {
        escape_into(&body[cursor..m.start], &mut out);
        out.push_str("<b>");
        escape_into(&body[m.start..m.end], &mut out);
        out.push_str("</b>");
        cursor = m.end;
    }
    let end = if matches.is_empty() {
        body.char_indices()
            .nth(max_chars)
            .map(|(i, _)| i)
            .unwrap_or(body.len())
    } else {
        window.end
    };
    escape_into(&body[cursor..end], &mut out);
    if end < body.len() {
        out.push('…');
    }
    out
}

fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push(' '),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(list: &[&str]) -> HashSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn highlights_folded_matches_in_the_original_text() {
        let s = snippet("營業執照審批超期，<急>", &terms(&["审批"]), 160);
        assert_eq!(s, "營業執照<b>審批</b>超期，&lt;急&gt;");
    }

    #[test]
    fn overlapping_bigrams_merge_into_one_mark() {
        let s = snippet("手机被扣费三次", &terms(&["被扣", "扣费"]), 160);
        assert_eq!(s, "手机<b>被扣费</b>三次");
    }

    #[test]
    fn picks_the_window_with_most_matches() {
        let body = format!(
            "{}路灯{}噪音扰民噪音{}",
            "甲".repeat(100),
            "乙".repeat(100),
            "丙".repeat(100)
        );
        let s = snippet(&body, &terms(&["噪音", "音扰", "扰民"]), 40);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("<b>噪音扰民噪音</b>"), "{s}");
        assert!(!s.contains("路灯"), "{s}");
        assert!(
            s.chars().filter(|c| *c != '…').count() <= 40 + "<b></b>".len(),
            "{s}"
        );
    }

    #[test]
    fn latin_terms_use_the_full_analysis() {
        let s = snippet(
            "Road works near Riverside, 道路施工",
            &terms(&["work", "施工"]),
            160,
        );
        assert_eq!(s, "Road <b>works</b> near Riverside, 道路<b>施工</b>");
    }

    #[test]
    fn no_match_gives_the_beginning() {
        assert_eq!(snippet("短文本", &terms(&["其他"]), 160), "短文本");
        assert_eq!(
            snippet(&"字".repeat(200), &terms(&[]), 10),
            format!("{}…", "字".repeat(10))
        );
    }
}

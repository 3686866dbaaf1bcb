//! Feed summaries are HTML fragments; complaints are text. [`html_to_text`] keeps the words and
//! the paragraph breaks and drops markup, scripts and styles. It is not a sanitiser for
//! display: its output is plain text, never HTML.

/// Plain text of an HTML fragment: tags removed, block ends as line breaks, entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        decode_entities_into(&rest[..open], &mut out);
        let tag_and_after = &rest[open..];
        let Some(close) = tag_and_after.find('>') else {
            // A lone `<` is text ("价格<100元").
            decode_entities_into(tag_and_after, &mut out);
            rest = "";
            break;
        };
        let tag = &tag_and_after[1..close];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        rest = &tag_and_after[close + 1..];
        let is_tag = tag.starts_with('!') || name.starts_with(|c: char| c.is_ascii_alphabetic());
        if !is_tag {
            // Not a tag at all ("价格<100元，质量>差"): keep the `<` as text.
            out.push('<');
            rest = &tag_and_after[1..];
            continue;
        }
        if !tag.starts_with('/') && (name == "script" || name == "style") {
            let end_tag = format!("</{name}");
            rest = match find_ascii_case_insensitive(rest, &end_tag) {
                Some(end) => rest[end..].find('>').map_or("", |gt| &rest[end + gt + 1..]),
                None => "",
            };
            continue;
        }
        // A line break after each block (on its end tag, so `</p><p>` is one break) and at `<br>`.
        let block_end = tag.starts_with('/')
            && matches!(
                name.as_str(),
                "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "blockquote"
            );
        if block_end || name == "br" {
            out.push('\n');
        }
    }
    decode_entities_into(rest, &mut out);
    crate::text::clean_display(&out)
}

fn find_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn decode_entities_into(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i);
        let decoded = end.and_then(|end| entity(&after[..end]).map(|c| (c, end)));
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
}

fn entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse::<u32>().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" | "#39" => '\'',
        "nbsp" => ' ',
        "ldquo" => '“',
        "rdquo" => '”',
        "lsquo" => '‘',
        "rsquo" => '’',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "middot" => '·',
        "times" => '×',
        "yen" => '¥',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_scripts_and_entities_are_handled() {
        let html = "<p>市民反映：<b>不动产登记</b>窗口&ldquo;一次办&rdquo;落空</p><script>alert(1)</script>\
                    <p>排队&gt;3小时&nbsp;&#x4E86;&#20107;</p><style>p{}</style>价格<100元，质量>差 &unknown; & done";
        assert_eq!(
            html_to_text(html),
            "市民反映：不动产登记窗口“一次办”落空\n排队>3小时 了事\n价格<100元，质量>差 &unknown; & done"
        );
    }

    #[test]
    fn unclosed_markup_does_not_lose_text() {
        assert_eq!(html_to_text("办事难<br"), "办事难<br");
        assert_eq!(html_to_text("<SCRIPT>x"), "");
        assert_eq!(html_to_text("&#0; &#xZZ; &"), "&#0; &#xZZ; &");
    }
}

//! Named places in a complaint: residential estates, roads, schools, hospitals, companies,
//! government units, landmarks and towns, and the admin areas (A5区, 雨花区) around them.
//!
//! A place is a run of name-like words ending in a place suffix (魅力之城 + 小区, 劳动 + 东路,
//! 经济 + 学院). jieba without HMM cuts unknown names into single characters with guessed tags,
//! so single characters count as name pieces unless they are grammatical words. A suffix word
//! alone (教育局, 火车站) or a name every county has (人民医院) names a place only with the
//! admin area written right before it (A市教育局). Each place has keys from the most specific
//! (万科魅力之城) to the shortest people also write (魅力之城); a key made only of everyday
//! words (自来水公司) is marked generic and counts less.

use super::features::{Claim, ExtractorInner, PlaceKey, PlaceMention, Span, Token};
use super::hash::{hash_str, seed};
use super::lexicon::{AREA_LEVEL_CHARS, AreaLevel, COMPANY_NAME_VERBS, PlaceKind, PlaceSuffix};
use super::minhash::is_content_char;

/// Longest place name before its suffix, in tokens and in characters; company names run
/// longer (鑫达建材贸易有限公司).
const MAX_NAME_TOKENS: usize = 4;
const MAX_NAME_CHARS: usize = 10;
const MAX_COMPANY_NAME_TOKENS: usize = 6;
const MAX_COMPANY_NAME_CHARS: usize = 14;

/// Corpus frequency (in jieba's dictionary) above which a word is everyday language.
const EVERYDAY_WORD_FREQUENCY: usize = 100;

/// Characters that end a name when they stand alone as a token.
const STOP_CHARS: &str = "的了在是和与及或被把对向从到给为我你他她它这那有无不也都就还又很太最更已将要会能可让使等个些内外上下旁边处每各该本其此去来说看找做叫搞买卖送用吃喝走跑坐";

impl ExtractorInner {
    /// Marks admin areas (A5区, 雨花区, A市) so they are neither names nor terms, and returns
    /// the district-level ones.
    pub(crate) fn claim_areas(&self, tokens: &mut [Token]) -> Vec<u64> {
        let mut districts = Vec::new();
        for i in 0..tokens.len() {
            let level_of = |word: &str| {
                AREA_LEVEL_CHARS
                    .iter()
                    .find(|(c, _)| *c == word)
                    .map(|(_, level)| *level)
            };
            // A code or a place name followed by a level character: A5 区, 雨花 区.
            if i + 1 < tokens.len()
                && let Some(level) = level_of(tokens[i + 1].word)
                && tokens[i].claim == Claim::Free
                && self.can_name_area(&tokens[i])
            {
                let name = format!("{}{}", tokens[i].word, tokens[i + 1].word);
                tokens[i].claim = Claim::Area;
                tokens[i + 1].claim = Claim::Area;
                if level == AreaLevel::District {
                    districts.push(hash_str(seed::AREA, &name));
                }
                continue;
            }
            // One token that is a whole area name: 长沙县, 岳麓区.
            let token = &tokens[i];
            if token.claim == Claim::Free
                && token.chars >= 3
                && token.pos == "ns"
                && !self.not_area_words.contains(token.word)
                && let Some(last) = token.word.chars().last()
                && let Some(level) = level_of(last.encode_utf8(&mut [0; 4]))
            {
                tokens[i].claim = Claim::Area;
                if level == AreaLevel::District {
                    districts.push(hash_str(seed::AREA, tokens[i].word));
                }
            }
        }
        districts.sort_unstable();
        districts.dedup();
        districts
    }

    fn can_name_area(&self, token: &Token) -> bool {
        let ascii_code = token.word.chars().all(|c| c.is_ascii_alphanumeric());
        let place_name = matches!(token.pos, "ns" | "nr" | "nz")
            && (2..=4).contains(&token.chars)
            && !self.not_name_words.contains(token.word);
        (ascii_code && token.chars <= 4) || place_name
    }

    /// The longest place suffix `word` ends with.
    pub(crate) fn suffix_of(&self, word: &str) -> Option<&'static PlaceSuffix> {
        let mut longest = None;
        for (start, _) in word.char_indices().rev().take(3) {
            if let Some(suffix) = self.suffixes.get(&word[start..]) {
                longest = Some(*suffix);
            }
        }
        longest
    }

    /// The place suffix ending at token `i`, and the token where the suffix starts: usually
    /// `i` itself, or the token before when jieba cut a two-character suffix into single
    /// characters (枫林湾 华 庭).
    fn suffix_at(&self, tokens: &[Token], i: usize) -> Option<(&'static PlaceSuffix, usize)> {
        if let Some(suffix) = tokens[i].suffix {
            return Some((suffix, i));
        }
        let prev = tokens.get(i.checked_sub(1)?)?;
        if tokens[i].chars == 1 && prev.chars == 1 && prev.claim == Claim::Free {
            let joined = format!("{}{}", prev.word, tokens[i].word);
            return self.suffixes.get(joined.as_str()).map(|s| (*s, i - 1));
        }
        None
    }

    /// Can this token be part of a place name now (it may be, and is not claimed yet)?
    pub(crate) fn is_name_token(&self, token: &Token) -> bool {
        token.claim == Claim::Free && token.name_piece
    }

    /// Could this token's word and tag be part of a place name?
    pub(crate) fn could_be_name_piece(&self, token: &Token) -> bool {
        if !token.word.chars().any(is_content_char) {
            return false;
        }
        if token.word == "之" {
            return true;
        }
        if self.not_name_words.contains(token.word)
            || self.generic_place_words.contains(token.word)
            || self.boilerplate.contains(token.word)
        {
            return false;
        }
        if token.chars == 1 && STOP_CHARS.contains(token.word) {
            return false;
        }
        let ascii = token.word.chars().all(|c| c.is_ascii_alphanumeric());
        // Without HMM jieba cuts an unknown name into single characters with guessed tags
        // (尚/d 品/v 峰/nr): any single character that is not a grammatical word may be one.
        if token.chars == 1
            && !matches!(
                token.pos.as_bytes().first(),
                Some(b'u' | b'p' | b'c' | b'r' | b'y' | b'e' | b'o' | b'x' | b'm' | b'q')
            )
        {
            return true;
        }
        match token.pos.as_bytes().first() {
            // Multi-character adjectives (严重, 不同) are not names.
            Some(b'a') => false,
            Some(b'n' | b'j' | b'l' | b's' | b'b' | b'z' | b'g') => true,
            Some(b'v') => token.pos == "vn",
            // Ordinals (第一中学) and codes (2栋, A5).
            Some(b'm') => ascii || token.word.starts_with('第'),
            Some(b'x' | b'e') => ascii,
            _ => false,
        }
    }

    pub(crate) fn claim_places(&self, text: &str, tokens: &mut [Token]) -> Vec<PlaceMention> {
        let mut places: Vec<PlaceMention> = Vec::new();
        for i in 0..tokens.len() {
            if tokens[i].claim != Claim::Free
                || matches!(tokens[i].pos.as_bytes().first(), Some(b'i' | b'l'))
            {
                continue;
            }
            let Some((suffix, head_first)) = self.suffix_at(tokens, i) else {
                continue;
            };
            // 线路, 道路, 农村 end like a place but are ordinary words, never a name's head.
            if head_first == i
                && tokens[i].word != suffix.text
                && self.generic_place_words.contains(tokens[i].word)
            {
                continue;
            }
            let (max_tokens, max_chars) = if suffix.kind == PlaceKind::Company {
                (MAX_COMPANY_NAME_TOKENS, MAX_COMPANY_NAME_CHARS)
            } else {
                (MAX_NAME_TOKENS, MAX_NAME_CHARS)
            };
            // Walk back over name-like tokens; another place ends the name once we have one.
            let mut first = head_first;
            let mut chars = 0;
            while first > 0 && head_first - first < max_tokens {
                let prev = &tokens[first - 1];
                let company_verb = suffix.kind == PlaceKind::Company
                    && prev.claim == Claim::Free
                    && COMPANY_NAME_VERBS.contains(&prev.word);
                if !(self.is_name_token(prev) || company_verb) || chars + prev.chars > max_chars {
                    break;
                }
                if first < head_first && prev.suffix.is_some() {
                    break;
                }
                chars += prev.chars;
                first -= 1;
            }
            let area = area_before(tokens, first);
            let head = Span {
                start: tokens[head_first].span.start,
                end: tokens[i].span.end,
            };
            let head_word = head.of(text);
            // Genericness is about institution names (自来水公司, 经济学院); roads and estates
            // are named with everyday words (人民路, 幸福家园) and still name one place.
            let can_be_generic = !matches!(
                suffix.kind,
                PlaceKind::Estate | PlaceKind::Road | PlaceKind::Town
            );
            let head_is_name_piece = can_be_generic
                && head_word != suffix.text
                && self.jieba.suggest_freq(head_word) <= EVERYDAY_WORD_FREQUENCY;
            let check_everyday = can_be_generic && !head_is_name_piece;
            let mut parts: Vec<NamePart> = tokens[first..head_first]
                .iter()
                .map(|t| NamePart {
                    span: t.span,
                    droppable: is_proper(t),
                    everyday: check_everyday
                        && t.chars >= 2
                        && self.jieba.suggest_freq(t.word) > EVERYDAY_WORD_FREQUENCY,
                })
                .collect();
            let mut qualified = false;
            if parts.is_empty() {
                // A head alone (教育局, 火车站, 小学) names a kind of place: it needs an admin
                // area (A市教育局) or a place right before it (劳动路小学) to name one.
                if let Some(area) = area
                    && head_word != suffix.text
                {
                    parts.push(NamePart {
                        span: area,
                        droppable: false,
                        everyday: false,
                    });
                    qualified = true;
                } else if let Some(prev) = head_first.checked_sub(1).map(|p| &tokens[p])
                    && let Claim::Place(index) = prev.claim
                    && prev.span.end == head.start
                {
                    parts.push(NamePart {
                        span: places[index as usize].keys[0].span,
                        droppable: false,
                        everyday: false,
                    });
                } else {
                    continue;
                }
            }
            let name_start = parts[0].span.start;
            let whole = Span {
                start: name_start,
                end: head.end,
            };
            if !qualified && self.generic_institutions.contains(whole.of(text)) {
                // 人民医院, 实验小学: every county has one; only the area makes it one place.
                match area {
                    Some(area) => parts.insert(
                        0,
                        NamePart {
                            span: area,
                            droppable: false,
                            everyday: false,
                        },
                    ),
                    None => continue,
                }
            }
            let suffix_start = head.end - suffix.text.len() as u32;
            let mut keys = place_keys(text, &parts, head, suffix, suffix_start, can_be_generic);
            if let (Some(area), Some(first_key)) = (area, keys.first())
                && first_key.generic
                && !qualified
            {
                // 经济学院 is generic, A市经济学院 is one college.
                let span = Span {
                    start: area.start,
                    end: first_key.span.end,
                };
                keys.insert(
                    0,
                    PlaceKey {
                        hash: hash_str(seed::PLACE, span.of(text)),
                        span,
                        generic: false,
                    },
                );
            }
            if keys.is_empty() {
                continue;
            }
            // Learn only unusual names, which jieba cuts into single characters or tags as
            // proper nouns: 魅力之城, not 经济适用房 or 商品房.
            let learnable = suffix.droppable
                && !self.jieba.has_word(keys[0].span.of(text))
                && tokens[first..head_first]
                    .iter()
                    .any(|t| t.chars == 1 || is_proper(t));
            let index = places.len() as u16;
            for token in tokens[first..=i].iter_mut() {
                token.claim = Claim::Place(index);
            }
            places.push(PlaceMention {
                kind: suffix.kind,
                bare: learnable,
                keys,
            });
        }
        places
    }

    /// Runs of name-like words not recognised as places, hashed like place keys, so names
    /// learned earlier (魅力之城) can be found without their suffix.
    pub(crate) fn name_spans(&self, text: &str, tokens: &[Token]) -> Vec<(u64, Span)> {
        let mut spans = Vec::new();
        for first in 0..tokens.len() {
            let mut chars = 0;
            for last in first..tokens.len().min(first + MAX_NAME_TOKENS) {
                if !self.is_name_token(&tokens[last]) {
                    break;
                }
                chars += tokens[last].chars;
                if chars > MAX_NAME_CHARS {
                    break;
                }
                if chars >= 3 {
                    let span = Span {
                        start: tokens[first].span.start,
                        end: tokens[last].span.end,
                    };
                    spans.push((hash_str(seed::PLACE, span.of(text)), span));
                }
            }
        }
        spans
    }
}

/// One piece of a place name; `droppable` pieces (a city, a developer) may be left out when
/// people write the name.
struct NamePart {
    span: Span,
    droppable: bool,
    /// An everyday dictionary word (自来水, 经济), not a name piece (魅力, 之, 城).
    everyday: bool,
}

/// A proper-noun prefix people leave out: a place name (湖南), a brand (万科), a code.
fn is_proper(token: &Token) -> bool {
    token.chars >= 2
        && (matches!(token.pos, "ns" | "nz" | "nt" | "nr" | "nrt" | "nrfg")
            || token.word.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// The admin area right before token `first` (A5区, 雨花区), if any.
fn area_before(tokens: &[Token], first: usize) -> Option<Span> {
    let end = first
        .checked_sub(1)
        .filter(|&p| tokens[p].claim == Claim::Area)?;
    let mut start = end;
    while start > 0 && end - start < 1 && tokens[start - 1].claim == Claim::Area {
        start -= 1;
    }
    Some(Span {
        start: tokens[start].span.start,
        end: tokens[end].span.end,
    })
}

/// The keys of one place: the full name, then the name without droppable leading parts, as
/// long as what remains is still a name (万科魅力之城 → 魅力之城, but 经济学院 stays whole).
fn place_keys(
    text: &str,
    parts: &[NamePart],
    head: Span,
    suffix: &PlaceSuffix,
    suffix_start: u32,
    brand_matters: bool,
) -> Vec<PlaceKey> {
    let end = if suffix.droppable {
        suffix_start
    } else {
        head.end
    };
    let min_name_chars = if suffix.droppable { 3 } else { 2 };
    let mut keys = Vec::new();
    for (k, part) in parts.iter().enumerate() {
        if k > 0 && !parts[k - 1].droppable {
            break;
        }
        let span = Span {
            start: part.span.start,
            end,
        };
        let name_chars = text[part.span.start as usize..suffix_start as usize]
            .chars()
            .count();
        if name_chars < min_name_chars || span.of(text).chars().count() < 3 {
            continue;
        }
        keys.push(PlaceKey {
            hash: hash_str(seed::PLACE, span.of(text)),
            span,
            // Without its brand, a company or school name is a kind of business (电子科技
            // 有限公司 from 凤凰电子科技有限公司); without its developer, an estate is still itself.
            generic: (k > 0 && brand_matters) || parts[k..].iter().all(|p| p.everyday),
        });
    }
    keys
}

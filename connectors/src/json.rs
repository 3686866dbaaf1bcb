//! Strict JSON reading for items: nothing a sender wrote is bent on the way in.
//!
//! `serde_json::Value` alone resolves a repeated key silently (the last one wins) and turns every
//! integer wider than 64 bits into a float, so two 20-digit work-order numbers can become the same
//! id. The readers here build the same `Value`, with three differences:
//! - a key that appears twice in one object, at any depth, is a [`JsonError::DuplicateKey`] naming
//!   the key's path (where the document allows it, [`parse_lenient`] keeps the last one);
//! - an integer that does not fit 64 bits is kept as a string of its exact digits (a number's
//!   value is otherwise unchanged);
//! - in a canonical item ([`parse_item`]), `external_id` and `complainant.id` keep the literal
//!   text of a number exactly as sent (`1e3` stays `1e3`, `007`-free JSON digits stay digits).
//!
//! The common case costs one pass, as `serde_json::from_str::<Value>` does. Only a document that
//! holds an integer wider than 64 bits is read a second time, walking its raw text to keep that
//! integer's digits. (serde_json's `arbitrary_precision` feature would do this for every number in
//! the build, and breaks numbers under `#[serde(flatten)]`; it stays off.)

use std::cell::{Cell, RefCell};
use std::fmt;

use serde::de::{self, DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

/// Why a JSON text was refused.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The text is not JSON.
    #[error(transparent)]
    Syntax(#[from] serde_json::Error),
    /// An object holds the same key twice.
    #[error("duplicate key `{path}`")]
    DuplicateKey {
        /// Where the repeated key is, e.g. `complainant.name` or `attachments[1].url`.
        path: String,
    },
}

/// Reads one canonical item: duplicate keys refused, wide integers kept, ids kept as sent.
pub fn parse_item(text: &str) -> Result<Value, JsonError> {
    parse(text, Scope::Item, true)
}

/// Reads any JSON document with duplicate keys refused and wide integers kept.
pub fn parse_document(text: &str) -> Result<Value, JsonError> {
    parse(text, Scope::Other, true)
}

/// Reads any JSON document keeping wide integers, and the last of a repeated key (for envelopes
/// whose records are each read again strictly).
pub fn parse_lenient(text: &str) -> Result<Value, serde_json::Error> {
    match parse(text, Scope::Other, false) {
        Ok(value) => Ok(value),
        Err(JsonError::Syntax(error)) => Err(error),
        Err(JsonError::DuplicateKey { .. }) => unreachable!("duplicates are allowed here"),
    }
}

fn parse(text: &str, scope: Scope, refuse_duplicates: bool) -> Result<Value, JsonError> {
    let first = Context::new(refuse_duplicates, false);
    let value = first.read(text, scope)?;
    if !first.saw_wide_integer.get() {
        return Ok(value);
    }
    // Rare: an integer wider than 64 bits was read as a float. Read again from the raw text.
    Context::new(refuse_duplicates, true).read(text, scope)
}

/// Where in an item a value sits, for the fields whose literal text is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// The item object itself.
    Item,
    /// The item's `complainant` object.
    Complainant,
    /// An id field: its literal text is the value.
    Id,
    /// Anywhere else.
    Other,
}

impl Scope {
    fn child(self, key: &str) -> Scope {
        match (self, key) {
            (Scope::Item, "external_id") | (Scope::Complainant, "id") => Scope::Id,
            (Scope::Item, "complainant") => Scope::Complainant,
            _ => Scope::Other,
        }
    }
}

/// State shared by one read: the path of a duplicate key, built on the way out of the nesting,
/// and whether a wide integer was seen.
struct Context {
    refuse_duplicates: bool,
    /// Second pass: every value is taken as raw text first, so numbers keep their digits.
    keep_literals: bool,
    saw_wide_integer: Cell<bool>,
    /// Path segments of a duplicate key, innermost first; empty while none was found.
    duplicate_path: RefCell<Vec<String>>,
}

impl Context {
    fn new(refuse_duplicates: bool, keep_literals: bool) -> Context {
        Context {
            refuse_duplicates,
            keep_literals,
            saw_wide_integer: Cell::new(false),
            duplicate_path: RefCell::new(Vec::new()),
        }
    }

    fn read(&self, text: &str, scope: Scope) -> Result<Value, JsonError> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let result = ValueSeed {
            context: self,
            scope,
        }
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
        let path = self.duplicate_path.borrow_mut();
        if !path.is_empty() {
            return Err(JsonError::DuplicateKey {
                path: join_path(&path),
            });
        }
        Ok(result?)
    }

    /// Adds the segment of an enclosing object or array to the path of a duplicate key found
    /// inside it.
    fn enclose(&self, segment: impl FnOnce() -> String) {
        let mut path = self.duplicate_path.borrow_mut();
        if !path.is_empty() {
            path.push(segment());
        }
    }

    /// A value read as raw text in the second pass.
    fn from_raw(&self, raw: &RawValue, scope: Scope) -> Result<Value, serde_json::Error> {
        let text = raw.get().trim();
        match text.as_bytes().first() {
            Some(b'{' | b'[') => {
                let mut deserializer = serde_json::Deserializer::from_str(text);
                ValueSeed {
                    context: self,
                    scope,
                }
                .deserialize(&mut deserializer)
            }
            Some(b'-' | b'0'..=b'9') if is_wide_integer(text) => Ok(Value::String(text.into())),
            _ => serde_json::from_str(text),
        }
    }
}

fn join_path(innermost_first: &[String]) -> String {
    let mut path = String::new();
    for segment in innermost_first.iter().rev() {
        if !path.is_empty() && !segment.starts_with('[') {
            path.push('.');
        }
        path.push_str(segment);
    }
    path
}

/// An integer literal (JSON allows no `+` and no leading zeros) that fits neither i64 nor u64.
fn is_wide_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<i64>().is_err()
        && text.parse::<u64>().is_err()
}

/// The literal of an id: a number's text as sent, anything else as JSON reads it.
fn id_value(raw: &RawValue) -> Result<Value, serde_json::Error> {
    let text = raw.get().trim();
    match text.as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => Ok(Value::String(text.to_string())),
        _ => serde_json::from_str(text),
    }
}

#[derive(Clone, Copy)]
struct ValueSeed<'c> {
    context: &'c Context,
    scope: Scope,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl ValueSeed<'_> {
    fn child_value<'de, A: MapAccess<'de>>(
        &self,
        access: &mut A,
        scope: Scope,
    ) -> Result<Value, A::Error> {
        if scope == Scope::Id {
            let raw: &'de RawValue = access.next_value()?;
            return id_value(raw).map_err(A::Error::custom);
        }
        if self.context.keep_literals {
            let raw: &'de RawValue = access.next_value()?;
            return self.context.from_raw(raw, scope).map_err(A::Error::custom);
        }
        access.next_value_seed(ValueSeed {
            context: self.context,
            scope,
        })
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        // JSON integers beyond 64 bits arrive here as floats (so does `1e19`, harmlessly).
        if value.fract() == 0.0 && value.abs() >= 9.223_372_036_854_775_808e18 {
            self.context.saw_wide_integer.set(true);
        }
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(access.size_hint().unwrap_or(0));
        loop {
            let index = items.len();
            let next = if self.context.keep_literals {
                match access.next_element::<&'de RawValue>()? {
                    Some(raw) => Some(
                        self.context
                            .from_raw(raw, Scope::Other)
                            .map_err(A::Error::custom),
                    ),
                    None => None,
                }
            } else {
                access
                    .next_element_seed(ValueSeed {
                        context: self.context,
                        scope: Scope::Other,
                    })
                    .transpose()
            };
            match next {
                None => break,
                Some(Ok(value)) => items.push(value),
                Some(Err(error)) => {
                    self.context.enclose(|| format!("[{index}]"));
                    return Err(error);
                }
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let value = match self.child_value(&mut access, self.scope.child(&key)) {
                Ok(value) => value,
                Err(error) => {
                    self.context.enclose(|| key.clone());
                    return Err(error);
                }
            };
            match object.entry(key) {
                Entry::Vacant(entry) => {
                    entry.insert(value);
                }
                Entry::Occupied(mut entry) if !self.context.refuse_duplicates => {
                    entry.insert(value);
                }
                Entry::Occupied(entry) => {
                    self.context
                        .duplicate_path
                        .borrow_mut()
                        .push(entry.key().clone());
                    return Err(A::Error::custom("duplicate key"));
                }
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests;

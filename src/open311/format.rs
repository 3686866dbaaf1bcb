//! The two formats of every answer: JSON, and XML written with quick-xml (which escapes text).
//!
//! Each answer is built once as a [`Node`]; its JSON and its XML are derived by one rule: the document's root
//! element is named by the answer (`service_requests`, `services`, `discovery`, `errors`), a
//! top-level list's entries are `request`, `service` or `error` elements, a nested list is an
//! element holding one element per entry named by its singular (`endpoints` → `endpoint`,
//! `formats` → `format`), a null is an empty element, and scalars are text.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde_json::Value;

/// `json` or `xml`, from a path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    /// `name.json` → (`name`, JSON); `None` without a known extension.
    pub fn split(file: &str) -> Option<(&str, Format)> {
        let (stem, extension) = file.rsplit_once('.')?;
        let format = match extension {
            "json" => Format::Json,
            "xml" => Format::Xml,
            _ => return None,
        };
        (!stem.is_empty()).then_some((stem, format))
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Xml => "text/xml; charset=utf-8",
        }
    }
}

/// An answer, with its fields in the spec's order (JSON objects do not keep one; XML does).
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Null,
    Text(String),
    Int(i64),
    Number(f64),
    Bool(bool),
    Fields(Vec<(&'static str, Node)>),
    List(Vec<Node>),
}

impl Node {
    /// Text, or null when absent.
    pub fn text(value: Option<impl Into<String>>) -> Node {
        value.map_or(Node::Null, |v| Node::Text(v.into()))
    }

    /// The JSON of this node.
    pub fn to_json(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Text(text) => Value::String(text.clone()),
            Node::Int(n) => Value::from(*n),
            Node::Number(n) => Value::from(*n),
            Node::Bool(b) => Value::Bool(*b),
            Node::Fields(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(name, node)| (name.to_string(), node.to_json()))
                    .collect(),
            ),
            Node::List(entries) => Value::Array(entries.iter().map(Node::to_json).collect()),
        }
    }
}

/// The body of an answer in `format`, rooted at `root` in XML.
pub fn render(format: Format, root: &str, node: &Node) -> String {
    match format {
        Format::Json => node.to_json().to_string(),
        Format::Xml => to_xml(root, node),
    }
}

/// The element name of one entry of a list named `list`.
fn singular(list: &str) -> &str {
    match list {
        "service_requests" => "request",
        "services" => "service",
        "errors" => "error",
        "endpoints" => "endpoint",
        "formats" => "format",
        other => other.strip_suffix('s').unwrap_or(other),
    }
}

/// `node` as the XML document rooted at `root`.
pub fn to_xml(root: &str, node: &Node) -> String {
    let mut writer = Writer::new(Vec::new());
    let written = writer
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)))
        .and_then(|_| element(&mut writer, root, node));
    written.expect("writing to memory does not fail");
    String::from_utf8(writer.into_inner()).expect("quick-xml writes the UTF-8 it is given")
}

fn element(writer: &mut Writer<Vec<u8>>, name: &str, node: &Node) -> std::io::Result<()> {
    let text = match node {
        Node::Null => return writer.write_event(Event::Empty(BytesStart::new(name))),
        Node::Fields(fields) => {
            writer.write_event(Event::Start(BytesStart::new(name)))?;
            for (key, field) in fields {
                element(writer, key, field)?;
            }
            return writer.write_event(Event::End(BytesEnd::new(name)));
        }
        Node::List(entries) => {
            writer.write_event(Event::Start(BytesStart::new(name)))?;
            for entry in entries {
                element(writer, singular(name), entry)?;
            }
            return writer.write_event(Event::End(BytesEnd::new(name)));
        }
        Node::Text(text) => text.clone(),
        Node::Int(n) => n.to_string(),
        Node::Number(n) => n.to_string(),
        Node::Bool(b) => b.to_string(),
    };
    writer.write_event(Event::Start(BytesStart::new(name)))?;
    writer.write_event(Event::Text(BytesText::new(&text)))?;
    writer.write_event(Event::End(BytesEnd::new(name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_nest_under_their_singular_and_text_is_escaped() {
        let node = Node::List(vec![Node::Fields(vec![
            ("service_request_id", Node::Text("a<b".into())),
            ("status_notes", Node::Null),
            ("lat", Node::Number(30.5)),
            ("formats", Node::List(vec![Node::Text("text/xml".into())])),
        ])]);
        let xml = to_xml("service_requests", &node);
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><service_requests><request>\
             <service_request_id>a&lt;b</service_request_id><status_notes/><lat>30.5</lat>\
             <formats><format>text/xml</format></formats></request></service_requests>"
        );
        assert_eq!(
            node.to_json(),
            json!([{"service_request_id": "a<b", "status_notes": null, "lat": 30.5,
                "formats": ["text/xml"]}])
        );
    }

    #[test]
    fn only_json_and_xml_extensions_are_formats() {
        assert_eq!(
            Format::split("requests.json"),
            Some(("requests", Format::Json))
        );
        assert_eq!(Format::split("abc.def.xml"), Some(("abc.def", Format::Xml)));
        assert_eq!(Format::split("requests.yaml"), None);
        assert_eq!(Format::split("requests"), None);
        assert_eq!(Format::split(".json"), None);
    }
}

//! Query parameters are checked against the OpenAPI document: a request naming a parameter its
//! route does not document is answered 400 `unknown_parameter`, naming it and the known ones.
//!
//! The document is the one served at `/openapi.json`, so what a client reads there is what the
//! gateway accepts, and a route added later is held to it without further code. Routes outside
//! the document (`/metrics`, `/openapi.json`) take no parameters; the Swagger UI's files under
//! `/docs` are left alone. The query structs also deny unknown fields, which catches a
//! parameter documented by mistake but not read.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ErrorCode};

/// Documented query parameters by (method, route), both lowercase method and axum's route
/// syntax (`/v1/cases/{id}`), which is also OpenAPI's.
#[derive(Debug, Default)]
pub struct QueryRules {
    known: BTreeMap<(String, String), BTreeSet<String>>,
}

impl QueryRules {
    /// The rules of an OpenAPI document.
    pub fn from_openapi(document: &serde_json::Value) -> QueryRules {
        let mut known = BTreeMap::new();
        let paths = document["paths"].as_object().cloned().unwrap_or_default();
        for (path, item) in paths {
            let Some(operations) = item.as_object() else {
                continue;
            };
            for (method, operation) in operations {
                let names = operation["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "query")
                    .filter_map(|p| p["name"].as_str().map(str::to_string))
                    .collect();
                known.insert((method.to_lowercase(), path.clone()), names);
            }
        }
        QueryRules { known }
    }

    /// The first parameter of `query` that `route` does not take, with the ones it takes.
    fn unknown(&self, method: &str, route: &str, query: &str) -> Option<(String, Vec<String>)> {
        if route.starts_with("/docs") {
            return None;
        }
        let empty = BTreeSet::new();
        let known = self
            .known
            .get(&(method.to_lowercase(), route.to_string()))
            .unwrap_or(&empty);
        form_names(query)
            .find(|name| !known.contains(name))
            .map(|name| (name, known.iter().cloned().collect()))
    }
}

/// The parameter names of a query string, percent-decoded.
fn form_names(query: &str) -> impl Iterator<Item = String> + '_ {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split('=').next().unwrap_or_default())
        .map(|name| {
            let name = name.replace('+', " ");
            percent_decode(&name)
        })
}

fn percent_decode(text: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(high << 4 | low);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The middleware: 400 `unknown_parameter` for an undocumented parameter.
pub async fn check_query(
    State(rules): State<Arc<QueryRules>>,
    request: Request,
    next: Next,
) -> Response {
    let unknown = match (
        request.uri().query(),
        request.extensions().get::<MatchedPath>(),
    ) {
        (Some(query), Some(route)) => {
            rules.unknown(request.method().as_str(), route.as_str(), query)
        }
        _ => None,
    };
    match unknown {
        None => next.run(request).await,
        Some((name, known)) => {
            let message = if known.is_empty() {
                format!("unknown query parameter `{name}`: this endpoint takes none")
            } else {
                format!(
                    "unknown query parameter `{name}`: this endpoint takes {}",
                    known.join(", ")
                )
            };
            ApiError::new(ErrorCode::UnknownParameter, message)
                .with("parameter", name)
                .with("known", known)
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> QueryRules {
        QueryRules::from_openapi(&json!({"paths": {
            "/v1/search": {"get": {"parameters": [
                {"name": "q", "in": "query"}, {"name": "channel", "in": "query"}
            ]}},
            "/v1/cases/{id}": {"get": {"parameters": [{"name": "id", "in": "path"}]}}
        }}))
    }

    #[test]
    fn documented_parameters_pass_and_others_are_named() {
        let r = rules();
        assert_eq!(r.unknown("GET", "/v1/search", "q=x&channel=hotline"), None);
        assert_eq!(
            r.unknown("GET", "/v1/search", "q=x&chanel=hotline"),
            Some(("chanel".into(), vec!["channel".into(), "q".into()]))
        );
        assert_eq!(
            r.unknown("GET", "/v1/cases/{id}", "id=1"),
            Some(("id".into(), vec![]))
        );
        assert_eq!(
            r.unknown("GET", "/metrics", "x"),
            Some(("x".into(), vec![]))
        );
        assert_eq!(r.unknown("GET", "/docs/{*rest}", "url=x"), None);
        assert_eq!(r.unknown("GET", "/v1/search", "c%68annel=x&&"), None);
    }
}

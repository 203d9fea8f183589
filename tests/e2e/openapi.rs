//! Checks real requests and responses against the served OpenAPI document: a small JSON Schema
//! validator for the keywords the document uses (type, required, properties,
//! additionalProperties, propertyNames, items, enum, const, oneOf, anyOf, allOf, not, minLength,
//! maxLength, minItems, maxItems, $ref, format date-time), a lookup of the schema of a response or
//! of a request body, and [`Spec::lint`], which refuses any other keyword so the document cannot
//! say more than this check understands.

use serde_json::Value;

/// Every keyword the validator understands (`description` and `format` other than `date-time` are
/// annotations). A schema using another one is a [`Spec::lint`] error.
pub const KEYWORDS: &[&str] = &[
    "$ref", "type", "required", "properties", "additionalProperties", "propertyNames", "items", "enum", "const",
    "oneOf", "anyOf", "allOf", "not", "minLength", "maxLength", "minItems", "maxItems", "format", "description",
];

pub struct Spec {
    doc: Value,
}

impl Spec {
    pub fn new(doc: Value) -> Spec {
        Spec { doc }
    }

    fn resolve<'a>(&'a self, mut node: &'a Value) -> &'a Value {
        while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let pointer = reference.strip_prefix('#').expect("only local references");
            node = self.doc.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {reference}"));
        }
        node
    }

    /// The schema of `status`'s JSON body for `method` on the documented `path` pattern.
    pub fn response_schema(&self, path: &str, method: &str, status: u16) -> Result<&Value, String> {
        let op = self
            .doc
            .pointer(&format!("/paths/{}/{}", path.replace('~', "~0").replace('/', "~1"), method.to_lowercase()))
            .ok_or_else(|| format!("{method} {path} is not documented"))?;
        let response = op["responses"]
            .get(status.to_string())
            .ok_or_else(|| format!("{method} {path} does not document status {status}"))?;
        let response = self.resolve(response);
        response
            .pointer("/content/application~1json/schema")
            .ok_or_else(|| format!("{method} {path} {status} has no JSON schema"))
    }

    /// The documented path pattern that `path` (without its query) names for `method`, literal
    /// segments preferred over parameters (`/tasks/batch` over `/tasks/{id}`); `None` when the
    /// document has no such operation.
    pub fn route_of(&self, method: &str, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or_default();
        let path = if path.len() > 1 { path.strip_suffix('/').unwrap_or(path) } else { path };
        let have: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, &String)> = None;
        for (pattern, item) in self.doc["paths"].as_object()? {
            if item.get(method.to_lowercase()).is_none() {
                continue;
            }
            let want: Vec<&str> = pattern.split('/').collect();
            if want.len() != have.len() {
                continue;
            }
            let mut params = 0;
            let matches = want.iter().zip(&have).all(|(w, h)| {
                if w.starts_with('{') && w.ends_with('}') {
                    params += 1;
                    !h.is_empty()
                } else {
                    w == h
                }
            });
            if matches && best.is_none_or(|(p, _)| params < p) {
                best = Some((params, pattern));
            }
        }
        best.map(|(_, pattern)| pattern.clone())
    }

    /// The JSON schema of the request body of `method` on the documented `path` pattern; `None`
    /// when the operation documents no body, or a body of another media type only (the CSV file
    /// of an import: no JSON to check).
    pub fn request_schema(&self, path: &str, method: &str) -> Result<Option<&Value>, String> {
        let media = self.request_media(path, method)?;
        if media.is_empty() {
            return Ok(None);
        }
        let body = self.resolve(self.operation(path, method)?.get("requestBody").expect("a documented body"));
        match body.pointer("/content/application~1json/schema") {
            Some(schema) => Ok(Some(schema)),
            None if !media.iter().any(|m| m == "application/json") => Ok(None),
            None => Err(format!("{method} {path} documents a JSON request body without a schema")),
        }
    }

    /// The media types of the request body of `method` on the documented `path` pattern (none
    /// when it documents no body).
    pub fn request_media(&self, path: &str, method: &str) -> Result<Vec<String>, String> {
        let op = self.operation(path, method)?;
        let Some(body) = op.get("requestBody") else { return Ok(Vec::new()) };
        let content = self.resolve(body).get("content").and_then(Value::as_object);
        let media: Vec<String> = content.into_iter().flat_map(|c| c.keys().cloned()).collect();
        match media.is_empty() {
            true => Err(format!("{method} {path} documents a request body without content")),
            false => Ok(media),
        }
    }

    fn operation(&self, path: &str, method: &str) -> Result<&Value, String> {
        self.doc
            .pointer(&format!("/paths/{}/{}", path.replace('~', "~0").replace('/', "~1"), method.to_lowercase()))
            .ok_or_else(|| format!("{method} {path} is not documented"))
    }

    /// Checks a request body against the documented request schema; the error lists every
    /// mismatch with its place in the body (`$.contacts[0].email`).
    pub fn check_request(&self, path: &str, method: &str, body: &Value) -> Result<(), String> {
        let schema = self.request_schema(path, method)?.ok_or_else(|| format!("{method} {path} documents no request body"))?;
        let errors = self.errors(schema, body);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{method} {path} request: {}", errors.join("; ")))
        }
    }

    /// Every mismatch of `value` against `schema`, each naming its place (`$` is the value).
    pub fn errors(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.validate(schema, value, "$", &mut errors);
        errors
    }

    /// Every problem of the document itself: a keyword [`KEYWORDS`] lacks (which the checks would
    /// silently ignore), a dangling `$ref`, a `required` name that is not a string.
    pub fn lint(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(schemas) = self.doc.pointer("/components/schemas").and_then(Value::as_object) {
            for (name, schema) in schemas {
                self.lint_schema(schema, &format!("components.schemas.{name}"), &mut problems);
            }
        }
        let mut media = Vec::new();
        if let Some(responses) = self.doc.pointer("/components/responses").and_then(Value::as_object) {
            for (name, r) in responses {
                media.push((format!("components.responses.{name}"), r));
            }
        }
        for (path, item) in self.doc["paths"].as_object().into_iter().flatten() {
            for (method, op) in item.as_object().into_iter().flatten() {
                if let Some(body) = op.get("requestBody") {
                    media.push((format!("{} {path} requestBody", method.to_uppercase()), body));
                }
                for (status, r) in op.get("responses").and_then(Value::as_object).into_iter().flatten() {
                    media.push((format!("{} {path} {status}", method.to_uppercase()), r));
                }
            }
        }
        for (at, holder) in media {
            if holder.get("$ref").is_some() {
                continue;
            }
            for (ty, content) in holder.get("content").and_then(Value::as_object).into_iter().flatten() {
                if let Some(schema) = content.get("schema") {
                    self.lint_schema(schema, &format!("{at} {ty}"), &mut problems);
                }
            }
        }
        problems
    }

    fn lint_schema(&self, schema: &Value, at: &str, problems: &mut Vec<String>) {
        let Some(object) = schema.as_object() else {
            problems.push(format!("{at}: a schema must be an object"));
            return;
        };
        for (keyword, v) in object {
            if !KEYWORDS.contains(&keyword.as_str()) {
                problems.push(format!("{at}: the keyword {keyword:?} is not checked by tests/e2e/openapi.rs"));
            }
            match keyword.as_str() {
                "$ref" => {
                    let target = v.as_str().and_then(|r| r.strip_prefix('#')).and_then(|p| self.doc.pointer(p));
                    if target.is_none() {
                        problems.push(format!("{at}: dangling $ref {v}"));
                    }
                }
                "properties" => {
                    for (name, s) in v.as_object().into_iter().flatten() {
                        self.lint_schema(s, &format!("{at}.properties.{name}"), problems);
                    }
                }
                "items" | "not" | "propertyNames" => self.lint_schema(v, &format!("{at}.{keyword}"), problems),
                "additionalProperties" if !v.is_boolean() => self.lint_schema(v, &format!("{at}.{keyword}"), problems),
                "oneOf" | "anyOf" | "allOf" => {
                    for (i, s) in v.as_array().into_iter().flatten().enumerate() {
                        self.lint_schema(s, &format!("{at}.{keyword}[{i}]"), problems);
                    }
                }
                "required" if !v.as_array().is_some_and(|a| a.iter().all(Value::is_string)) => {
                    problems.push(format!("{at}: required must list names"));
                }
                _ => {}
            }
        }
    }

    /// Checks `body` against the documented response; the error lists every mismatch.
    pub fn check(&self, path: &str, method: &str, status: u16, body: &Value) -> Result<(), String> {
        let schema = self.response_schema(path, method, status)?;
        let mut errors = Vec::new();
        self.validate(schema, body, "$", &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{method} {path} {status}: {}\nbody: {body}", errors.join("; ")))
        }
    }

    fn validate(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if let Some(types) = schema.get("type") {
            let allowed: Vec<&str> = match types {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if !allowed.iter().any(|t| type_matches(t, value)) {
                errors.push(format!("{at}: expected {allowed:?}, got {value}"));
                return;
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array) {
            if !options.contains(value) {
                errors.push(format!("{at}: {value} is not one of {options:?}"));
            }
        }
        if let Some(c) = schema.get("const") {
            if c != value {
                errors.push(format!("{at}: expected {c}, got {value}"));
            }
        }
        if schema.get("format").and_then(Value::as_str) == Some("date-time") {
            if let Some(s) = value.as_str() {
                if !is_rfc3339_millis(s) {
                    errors.push(format!("{at}: {s:?} is not an RFC 3339 UTC timestamp with milliseconds"));
                }
            }
        }
        for keyword in ["oneOf", "anyOf"] {
            if let Some(options) = schema.get(keyword).and_then(Value::as_array) {
                let outcomes: Vec<Vec<String>> = options
                    .iter()
                    .map(|o| {
                        let mut e = Vec::new();
                        self.validate(o, value, at, &mut e);
                        e
                    })
                    .collect();
                let passing = outcomes.iter().filter(|e| e.is_empty()).count();
                let ok = if keyword == "oneOf" { passing == 1 } else { passing >= 1 };
                if !ok {
                    // The option that came closest says best what is wrong: the one whose shape
                    // fits here (fewest mismatches at this level), then the fewest mismatches.
                    let here = format!("{at}: ");
                    let closest = outcomes
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| !e.is_empty())
                        .min_by_key(|(_, e)| (e.iter().filter(|m| m.starts_with(&here)).count(), e.len()));
                    match closest {
                        Some((i, e)) if passing == 0 => {
                            errors.push(format!("{at}: none of the {keyword} options match; closest (option {i}): {}", e.join("; ")))
                        }
                        _ => errors.push(format!("{at}: {passing} of the {keyword} options match")),
                    }
                }
            }
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.validate(s, value, at, errors);
            }
        }
        if let Some(not) = schema.get("not") {
            let mut e = Vec::new();
            self.validate(not, value, at, &mut e);
            if e.is_empty() {
                errors.push(format!("{at}: matches {not}, which it must not"));
            }
        }
        if let Value::String(s) = value {
            let length = s.chars().count();
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
                if length as u64 > max {
                    errors.push(format!("{at}: {length} characters, more than maxLength {max}"));
                }
            }
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
                if (length as u64) < min {
                    errors.push(format!("{at}: {length} characters, fewer than minLength {min}"));
                }
            }
        }
        if let Value::Array(items) = value {
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
                if items.len() as u64 > max {
                    errors.push(format!("{at}: {} items, more than maxItems {max}", items.len()));
                }
            }
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                if (items.len() as u64) < min {
                    errors.push(format!("{at}: {} items, fewer than minItems {min}", items.len()));
                }
            }
        }
        if let Value::Object(object) = value {
            let properties = schema.get("properties").and_then(Value::as_object);
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for name in required.iter().filter_map(Value::as_str) {
                    if !object.contains_key(name) {
                        errors.push(format!("{at}: missing required {name:?}"));
                    }
                }
            }
            if let Some(names) = schema.get("propertyNames") {
                for name in object.keys() {
                    let mut e = Vec::new();
                    self.validate(names, &Value::String(name.clone()), at, &mut e);
                    if !e.is_empty() {
                        let shown: String = name.chars().take(40).collect();
                        errors.push(format!("{at}: the field name {shown:?} does not match propertyNames ({})", e.join("; ")));
                    }
                }
            }
            for (name, v) in object {
                let child = format!("{at}.{name}");
                match properties.and_then(|p| p.get(name)) {
                    Some(s) => self.validate(s, v, &child, errors),
                    None => match schema.get("additionalProperties") {
                        Some(Value::Bool(false)) => errors.push(format!("{child}: not documented")),
                        Some(s @ Value::Object(_)) => self.validate(s, v, &child, errors),
                        _ => {}
                    },
                }
            }
        }
        if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
            for (i, item) in items.iter().enumerate() {
                self.validate(item_schema, item, &format!("{at}[{i}]"), errors);
            }
        }
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        // JSON Schema: any number with no fractional part (`1999.0` too).
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|n| n.fract() == 0.0),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the one form the API writes.
pub fn is_rfc3339_millis(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}


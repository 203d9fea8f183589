//! Checks real responses against the served OpenAPI document: a small JSON Schema validator for
//! the keywords the document uses (type, required, properties, additionalProperties, items, enum,
//! const, oneOf, anyOf, $ref, format date-time), and a lookup of the schema of a response.

use serde_json::Value;

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
                let passing = options
                    .iter()
                    .filter(|o| {
                        let mut e = Vec::new();
                        self.validate(o, value, at, &mut e);
                        e.is_empty()
                    })
                    .count();
                let ok = if keyword == "oneOf" { passing == 1 } else { passing >= 1 };
                if !ok {
                    errors.push(format!("{at}: {passing} of the {keyword} options match"));
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
        "integer" => v.is_i64() || v.is_u64(),
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


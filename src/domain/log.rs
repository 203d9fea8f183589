//! The one log line a request leaves: JSON, with method, route, status, duration and request id.
//! Never a header value, a key or a body.

use serde_json::json;

pub struct RequestLog<'a> {
    pub method: &'a str,
    /// The route pattern (`/contacts/{id}`), or the path when no route matched.
    pub route: &'a str,
    pub status: u16,
    pub duration_ms: f64,
    pub request_id: &'a str,
    /// For `500`s and `503`s only: what went wrong, for the operator.
    pub error: Option<&'a str>,
}

impl RequestLog<'_> {
    pub fn to_line(&self) -> String {
        let mut line = json!({
            "msg": "request",
            "method": self.method,
            "route": self.route,
            "status": self.status,
            "durationMs": (self.duration_ms * 10.0).round() / 10.0,
            "requestId": self.request_id,
        });
        if let Some(error) = self.error {
            line["error"] = json!(error);
        }
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_one_json_line() {
        let line = RequestLog {
            method: "GET",
            route: "/health",
            status: 200,
            duration_ms: 12.345,
            request_id: "req_1",
            error: None,
        }
        .to_line();
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["route"], "/health");
        assert_eq!(v["status"], 200);
        assert_eq!(v["durationMs"], 12.3);
        assert_eq!(v["requestId"], "req_1");
        assert!(v.get("error").is_none());
    }
}

//! What every page shares: the document shell, the one stylesheet, the response headers, the
//! error pages, and how values are written for people.

use std::borrow::Cow;

use serde_json::Value;

use super::html::Html;

/// The only stylesheet, inline so a page is one response. Plain CSS that reads on a phone: one
/// column, tables that scroll sideways when they must, long values that wrap anywhere.
const CSS: &str = "\
:root{--fg:#1d2433;--mute:#667085;--line:#e4e7ec;--bg:#f5f6f8;--acc:#2952cc;--in:#0e7a4f;--out:#2952cc}\
*{box-sizing:border-box}\
body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg)}\
header{background:var(--fg);padding:.6rem 1rem}header a{color:#fff;text-decoration:none;font-weight:600}\
main{max-width:64rem;margin:0 auto;padding:1rem}\
h1{font-size:1.5rem;margin:.3rem 0}h2{font-size:1.1rem;margin:0 0 .6rem}h3{font-size:1rem;margin:1rem 0 .4rem}\
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem;margin:0 0 1rem}\
a{color:var(--acc)}p{margin:.3rem 0}\
.scroll{overflow-x:auto}\
table{border-collapse:collapse;width:100%}\
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid var(--line);overflow-wrap:anywhere}\
th{color:var(--mute);font-weight:500}.kv th{width:11rem}\
.mute{color:var(--mute)}\
.badge{display:inline-block;font-size:.75rem;padding:0 .45rem;border-radius:99px;background:#e8edfb;color:var(--acc);margin-left:.3rem}\
.counts{display:flex;flex-wrap:wrap;gap:.6rem;margin:0 0 1rem}\
.counts div{flex:1 1 8rem;background:#fff;border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem}\
.counts b{display:block;font-size:1.4rem}\
ol.timeline{list-style:none;margin:0;padding:0}\
.timeline li{border-left:3px solid var(--line);padding:.2rem .8rem;margin:0 0 .8rem}\
.timeline li.in{border-color:var(--in)}.timeline li.out{border-color:var(--out)}\
.dir{font-weight:600}.in .dir{color:var(--in)}.out .dir{color:var(--out)}\
.body{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3rem 0 0}\
form{display:flex;gap:.5rem;margin:0 0 1rem}\
input{flex:1;min-width:0;font:inherit;padding:.45rem .6rem;border:1px solid var(--line);border-radius:6px}\
button{font:inherit;padding:.45rem 1rem;border:0;border-radius:6px;background:var(--acc);color:#fff}\
.pager{margin:.6rem 0 0;display:flex;gap:1.2rem}\
code{font-size:.9em;background:var(--bg);padding:.1rem .3rem;border-radius:4px;overflow-wrap:anywhere}\
details summary{cursor:pointer;font-weight:600}\
form.review{display:block}input[type=radio]{flex:none;margin:0 .3rem 0 0}label{cursor:pointer}\
.group{border-top:1px solid var(--line);padding:.4rem 0}.group:first-of-type{border-top:0}.group ul{margin:.2rem 0;padding-left:1.2rem}\
.compare th{width:auto}.compare td,.compare th{min-width:10rem}\
.notice{background:#e7f6ee;border-color:#a6dcbf}form.undo{margin:.5rem 0 0}\
@media (max-width:40rem){main{padding:.5rem}section{padding:.7rem}.kv th{width:auto}h1{font-size:1.3rem}}";

/// The response headers of every page, errors included. The policy allows nothing but the page's
/// own inline stylesheet (by `nonce`) and forms sent back to this site: no script, image, frame or
/// connection of any kind, and no framing of the page by another site.
pub fn headers(nonce: &str) -> Vec<(&'static str, String)> {
    debug_assert!(nonce.bytes().all(|b| b.is_ascii_alphanumeric()), "a nonce is a plain token");
    vec![
        ("Content-Type", "text/html; charset=utf-8".to_string()),
        (
            "Content-Security-Policy",
            format!("default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
        ),
        ("X-Content-Type-Options", "nosniff".to_string()),
        ("Referrer-Policy", "no-referrer".to_string()),
        ("X-Frame-Options", "DENY".to_string()),
    ]
}

/// A whole document: `title` in the tab, `content` inside `<main>`.
pub fn page(title: &str, nonce: &str, content: impl FnOnce(&mut Html)) -> String {
    let mut h = Html::new();
    h.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .raw("<title>")
        .text(title)
        .raw(" · edge-crm</title><style nonce=\"")
        .text(nonce)
        .raw("\">")
        .raw(CSS)
        .raw("</style></head><body><header><a href=\"/\">edge-crm</a></header><main>");
    content(&mut h);
    h.raw("</main></body></html>");
    h.finish()
}

/// A page that only says something: the not-found, sign-in and unavailable pages.
pub fn message_page(nonce: &str, title: &str, message: &str) -> String {
    page(title, nonce, |h| {
        h.raw("<section>").element("<h1>", title, "</h1>").element("<p>", message, "</p>");
        h.raw("<p><a href=\"/\">Go to the dashboard</a></p></section>");
    })
}

/// A stored timestamp for people: `2024-01-20T10:30:00.000Z` reads `2024-01-20 10:30 UTC`.
/// Anything else is shown as it is.
pub fn when(ts: &str) -> Cow<'_, str> {
    let b = ts.as_bytes();
    let shaped = b.len() >= 17
        && ts.ends_with('Z')
        && b[10] == b'T'
        && b[13] == b':'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15].iter().all(|&i| b[i].is_ascii_digit());
    if shaped {
        Cow::Owned(format!("{} {} UTC", &ts[..10], &ts[11..16]))
    } else {
        Cow::Borrowed(ts)
    }
}

/// A JSON value for people: text as it is, numbers and booleans as written, a list of plain
/// values joined by commas, anything else as compact JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|v| v.is_string() || v.is_number() || v.is_boolean()) => {
            items.iter().map(value_text).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

/// A count for people: `120000` reads `120,000`.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// At most `max` characters of `text`, with `…` when it was cut.
pub fn truncate(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
        None => Cow::Borrowed(text),
    }
}

/// The label of a core field.
pub fn label(field: &str) -> &str {
    match field {
        "externalId" => "External id",
        "firstName" => "First name",
        "lastName" => "Last name",
        "email" => "Email",
        "phone" => "Phone",
        "company" => "Company",
        "companyDomain" => "Company domain",
        "title" => "Title",
        "linkedinUrl" => "LinkedIn",
        "ownerId" => "Owner",
        "name" => "Name",
        "domain" => "Domain",
        "website" => "Website",
        "industry" => "Industry",
        "employeeCount" => "Employees",
        "employeeRange" => "Employee range",
        "revenue" => "Revenue",
        "foundedYear" => "Founded",
        "description" => "Description",
        "location" => "Location",
        "city" => "City",
        "state" => "State",
        "country" => "Country",
        "twitterUrl" => "Twitter",
        "facebookUrl" => "Facebook",
        "technologies" => "Technologies",
        "tags" => "Tags",
        "customFields" => "Custom fields",
        "vatId" => "VAT / registration",
        "parentCrmId" => "Parent company",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn headers_forbid_everything_but_the_page_style() {
        let headers = headers("abc123");
        let get = |name: &str| headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap();
        let csp = get("Content-Security-Policy");
        assert!(csp.starts_with("default-src 'none';"), "{csp}");
        assert!(csp.contains("style-src 'nonce-abc123'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe") && !csp.contains("script-src"), "{csp}");
        assert_eq!(get("X-Content-Type-Options"), "nosniff");
        assert_eq!(get("Referrer-Policy"), "no-referrer");
        assert_eq!(get("X-Frame-Options"), "DENY");
        assert_eq!(get("Content-Type"), "text/html; charset=utf-8");
    }

    #[test]
    fn the_shell_carries_the_nonce_and_escapes_the_title() {
        let doc = page("<b>Ada</b>", "n0nce", |h| {
            h.text("<hi>");
        });
        assert!(doc.starts_with("<!doctype html>"));
        assert!(doc.contains("<style nonce=\"n0nce\">"));
        assert!(doc.contains("<title>&lt;b&gt;Ada&lt;/b&gt; · edge-crm</title>"));
        assert!(doc.contains("<main>&lt;hi&gt;</main>"));
        assert!(doc.contains("name=\"viewport\""), "readable on a phone");
        assert!(!doc.contains("<script"));
    }

    #[test]
    fn timestamps_read_as_minutes_in_utc() {
        assert_eq!(when("2024-01-20T10:30:59.123Z"), "2024-01-20 10:30 UTC");
        assert_eq!(when("2024-01-20"), "2024-01-20");
        assert_eq!(when("tomorrow, maybe"), "tomorrow, maybe");
        assert_eq!(when("2024-01-20T10:30:00+02:00"), "2024-01-20T10:30:00+02:00");
        assert_eq!(when(""), "");
    }

    #[test]
    fn values_read_as_text() {
        assert_eq!(value_text(&json!("x")), "x");
        assert_eq!(value_text(&json!(12.5)), "12.5");
        assert_eq!(value_text(&json!(false)), "false");
        assert_eq!(value_text(&json!(null)), "");
        assert_eq!(value_text(&json!(["rust", "go", 3])), "rust, go, 3");
        assert_eq!(value_text(&json!([{"a": 1}])), r#"[{"a":1}]"#);
        assert_eq!(value_text(&json!({"segment": "smb"})), r#"{"segment":"smb"}"#);
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(120000), "120,000");
        assert_eq!(grouped(-1234567), "-1,234,567");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 2), "hé…");
        assert_eq!(truncate("", 0), "");
    }
}

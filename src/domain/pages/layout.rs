//! What every page shares: the document shell, the one stylesheet, the response headers, the
//! error pages, and how values are written for people.

use std::borrow::Cow;

use serde_json::Value;

use serde::{Deserialize, Deserializer};

use super::html::Html;

/// The only stylesheet, inline so a page is one response. Plain CSS that reads on a phone: one
/// column, tables that scroll sideways when they must, long values that wrap anywhere while labels,
/// headings and dates never break inside a word, a focus ring that shows where the keyboard is.
const CSS: &str = "\
:root{--fg:#1d2433;--mute:#5d6678;--line:#e4e7ec;--bg:#f5f6f8;--acc:#2952cc;--in:#0e7a4f;--out:#2952cc;--bad:#b42318;--late:#b42318}\
*{box-sizing:border-box}\
body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:var(--bg)}\
header{background:var(--fg);color:#fff;padding:.5rem 1rem}header nav{max-width:64rem;margin:0 auto;display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1rem}\
header a{color:#fff;text-decoration:none;font-weight:600}header a:hover{text-decoration:underline}\
header .who{font-size:.85rem;color:#d0d5dd;overflow-wrap:anywhere}header .late{background:var(--late);border-radius:99px;padding:0 .45rem;margin-left:.3rem;font-size:.8rem}\
header form{flex:1 1 14rem;margin:0;display:flex;gap:.4rem}header input{background:#fff}header button{background:#fff;color:var(--fg)}\
main{max-width:64rem;margin:0 auto;padding:1rem}\
h1{font-size:1.5rem;margin:.3rem 0;overflow-wrap:anywhere}h2{font-size:1.1rem;margin:0 0 .6rem}h3{font-size:1rem;margin:1rem 0 .4rem}\
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem;margin:0 0 1rem}\
a{color:var(--acc)}p{margin:.3rem 0}\
:focus-visible{outline:3px solid #f79009;outline-offset:2px}\
.scroll{overflow-x:auto}\
table{border-collapse:collapse;width:100%}caption{text-align:left;font-weight:600;padding:0 0 .3rem}\
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid var(--line)}\
td{overflow-wrap:anywhere}th{color:var(--mute);font-weight:500;overflow-wrap:normal;word-break:normal;hyphens:none}\
.kv th{width:11rem}.date,.nowrap{white-space:nowrap}\
.mute{color:var(--mute)}.vh{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}\
.badge{display:inline-block;font-size:.75rem;padding:0 .45rem;border-radius:99px;background:#e8edfb;color:var(--acc);margin-left:.3rem}\
.badge.late{background:#fde8e7;color:var(--late)}\
.counts{display:flex;flex-wrap:wrap;gap:.6rem;margin:0 0 1rem}\
.counts div{flex:1 1 8rem;background:#fff;border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem}\
.counts b{display:block;font-size:1.4rem}\
ol.timeline{list-style:none;margin:0;padding:0}\
.timeline li{border-left:3px solid var(--line);padding:.2rem .8rem;margin:0 0 .8rem;overflow-wrap:anywhere}\
.timeline li.in{border-color:var(--in)}.timeline li.out{border-color:var(--out)}\
.dir{font-weight:600}.in .dir{color:var(--in)}.out .dir{color:var(--out)}\
.body{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3rem 0 0}\
form{margin:0 0 1rem}form.search{display:flex;gap:.5rem}form.inline{display:inline-flex;flex-wrap:wrap;align-items:end;gap:.3rem;margin:0 .4rem .3rem 0}\
input,select,textarea{font:inherit;min-width:0;max-width:100%;padding:.4rem .55rem;border:1px solid #98a2b3;border-radius:6px;background:#fff;color:var(--fg)}\
form.search input{flex:1}textarea{width:100%;min-height:5rem}\
.field{margin:0 0 .8rem}.field label{display:block;font-weight:600;margin:0 0 .2rem}.field input,.field select,.field textarea{width:100%}\
.hint{color:var(--mute);font-size:.85rem;margin:0 0 .2rem}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:0 1rem}\
button{font:inherit;min-height:2rem;padding:.35rem .9rem;border:1px solid var(--acc);border-radius:6px;background:var(--acc);color:#fff;cursor:pointer}\
button.secondary{background:#fff;color:var(--acc)}button.danger{background:var(--bad);border-color:var(--bad)}\
.error-summary{border:3px solid var(--bad)}.error-summary h2{color:var(--bad)}\
.error{color:var(--bad);font-weight:600;margin:0 0 .2rem}.field.bad input,.field.bad select,.field.bad textarea{border:2px solid var(--bad)}\
.pager{margin:.6rem 0 0;display:flex;flex-wrap:wrap;gap:.6rem 1.2rem}\
code{font-size:.9em;background:var(--bg);padding:.1rem .3rem;border-radius:4px;overflow-wrap:anywhere}\
details summary{cursor:pointer;font-weight:600}details[open] summary{margin:0 0 .6rem}\
form.review{display:block}input[type=radio],input[type=checkbox]{margin:0 .3rem 0 0}label{cursor:pointer}\
.group{border-top:1px solid var(--line);padding:.4rem 0}.group:first-of-type{border-top:0}.group ul{margin:.2rem 0;padding-left:1.2rem}\
.compare th{width:auto}.compare td,.compare th{min-width:10rem}\
.notice{background:#e7f6ee;border-color:#a6dcbf}form.undo{margin:.5rem 0 0}\
.late-text{color:var(--late);font-weight:600}progress{width:100%;height:1.2rem}strong.late{color:var(--late)}section.late{border-left:4px solid var(--late)}\
.actions{display:flex;flex-wrap:wrap;gap:.4rem}form.act{margin:0;display:flex;flex-wrap:wrap;align-items:center;gap:.3rem}\
form.act input[type=date],form.act select{flex:0 1 auto}form.act select{max-width:16rem}\
ul.counts-nav{list-style:none;margin:.4rem 0 1rem;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1rem}\
@media (max-width:40rem){main{padding:.5rem}section{padding:.7rem}h1{font-size:1.3rem}\
.kv th,.kv td{display:block;width:auto;border:0;padding:.1rem .2rem}.kv tr{display:block;border-bottom:1px solid var(--line);padding:.3rem 0}\
.stack thead,.work thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}\
.stack tr,.work tr{display:block;border-bottom:1px solid var(--line);padding:.4rem 0}\
.stack td,.work td{display:block;border:0;padding:.1rem .2rem}.stack td:empty,.work td:empty{display:none}.stack td[data-label]::before,.work td[data-label]::before{content:attr(data-label) ': ';color:var(--mute)}\
.work td[data-label=Actions]::before,.work td[data-label=Task]::before{content:none}}";

/// A count as the store answers it: D1 gives every number as a JavaScript number, SQLite an
/// integer.
fn count<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = f64::deserialize(d)?;
    Ok(if n.is_finite() && n > 0.0 { n as usize } else { 0 })
}

/// How many open tasks the person has in each group: the row of `WORK_COUNTS`, and the `counts`
/// column of `WORK_PAGE`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct WorkCounts {
    #[serde(deserialize_with = "count")]
    pub overdue: usize,
    #[serde(deserialize_with = "count")]
    pub today: usize,
    #[serde(deserialize_with = "count")]
    pub upcoming: usize,
    #[serde(deserialize_with = "count")]
    pub undated: usize,
}

impl WorkCounts {
    /// Every open task of the person.
    pub fn total(&self) -> usize {
        self.overdue + self.today + self.upcoming + self.undated
    }
}

/// What the frame of every page shows around its content: the stylesheet's nonce, who is signed
/// in, their open tasks, and the search box.
#[derive(Debug, Clone, Default)]
pub struct Shell {
    pub nonce: String,
    /// The person as the header names them (an email), or `None` before anyone is signed in.
    pub person: Option<String>,
    /// The person's open tasks, when they are a user of the CRM.
    pub counts: Option<WorkCounts>,
    /// The search the page shows (kept in the header's search box).
    pub q: String,
    /// Load this address (a path of this site) again after so many seconds: a page that moves on
    /// by itself without a script (an import's progress).
    pub refresh: Option<(u32, String)>,
}

impl Shell {
    /// A frame with nobody signed in: the sign-in and error pages.
    pub fn bare(nonce: &str) -> Shell {
        Shell { nonce: nonce.to_string(), ..Shell::default() }
    }

    fn header(&self, h: &mut Html) {
        h.raw("<header><nav aria-label=\"Main\"><a href=\"/view/\">edge-crm</a>");
        let Some(person) = &self.person else {
            h.raw("</nav></header>");
            return;
        };
        h.raw("<a href=\"/view/work\">My work");
        if let Some(c) = self.counts {
            h.raw("<span class=\"vh\">:</span> ").text(&grouped(c.total() as i64)).raw(" open");
            if c.overdue > 0 {
                h.raw("<span class=\"late\">").text(&grouped(c.overdue as i64)).raw(" overdue</span>");
            }
            if c.today > 0 {
                h.raw(" · ").text(&grouped(c.today as i64)).raw(" today");
            }
        }
        h.raw("</a><a href=\"/view/contacts\">Contacts</a><a href=\"/view/companies\">Companies</a><a href=\"/view/tasks\">Tasks</a>");
        h.raw("<form class=\"search\" method=\"get\" action=\"/view/search\" role=\"search\">");
        h.raw("<label class=\"vh\" for=\"site-search\">Search contacts, companies and tasks</label>");
        h.raw("<input id=\"site-search\" type=\"search\" name=\"q\" value=\"").text(&self.q);
        h.raw("\" placeholder=\"Name, email, phone, domain, task\"><button>Search</button></form>");
        h.raw("<span class=\"who\">Signed in as ").text(person).raw("</span></nav></header>");
    }
}

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
pub fn page(title: &str, shell: &Shell, content: impl FnOnce(&mut Html)) -> String {
    let mut h = Html::new();
    h.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
        .raw("<title>")
        .text(title)
        .raw(" · edge-crm</title>");
    if let Some((seconds, to)) = &shell.refresh {
        h.raw("<meta http-equiv=\"refresh\" content=\"").text(&format!("{seconds}; url={to}")).raw("\">");
    }
    h.raw("<style nonce=\"")
        .text(&shell.nonce)
        .raw("\">")
        .raw(CSS)
        .raw("</style></head><body>");
    shell.header(&mut h);
    h.raw("<main>");
    content(&mut h);
    h.raw("</main></body></html>");
    h.finish()
}

/// A page that only says something: the not-found, sign-in and unavailable pages.
pub fn message_page(shell: &Shell, title: &str, message: &str) -> String {
    page(title, shell, |h| {
        h.raw("<section>").element("<h1>", title, "</h1>").element("<p>", message, "</p>");
        h.raw("<p><a href=\"/view/\">Go to the dashboard</a></p></section>");
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

/// A count and its noun: "1 contact", "2,000 contacts".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n as i64), if n == 1 { one } else { many })
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
        let doc = page("<b>Ada</b>", &Shell::bare("n0nce"), |h| {
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

//! HTML built as text, safely: markup can only come from the program (`&'static str`), and every
//! other string goes through [`escape`]. A value read from the database cannot reach the page
//! unescaped, because the builder has no method that would take it raw.

use std::fmt::Write;

/// Escapes text for HTML element content and for double- or single-quoted attribute values: the
/// five characters that can end a text run or an attribute (`&`, `<`, `>`, `"`, `'`) become
/// character references. Everything else, all of Unicode included, is kept as is.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Percent-encodes text for a URL path segment or query value: every byte outside RFC 3986's
/// unreserved set (`A-Z a-z 0-9 - . _ ~`) is written `%XX`.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A link target a page may point at, from a stored value: only `http:` and `https:` URLs (a
/// `javascript:` or `data:` URL would run or show content of the attacker's choosing). The
/// caller escapes it like any text.
pub fn web_url(value: &str) -> Option<&str> {
    let v = value.trim();
    let scheme_end = v.find(':')?;
    let scheme = &v[..scheme_end];
    let rest = &v[scheme_end + 1..];
    let web = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    (web && rest.starts_with("//") && rest.len() > 2 && !v.chars().any(char::is_whitespace)).then_some(v)
}

/// An e-mail address a page may link as `mailto:`: one address and nothing else, so a stored
/// value cannot add recipients or fill in a message (`?cc=`, `&body=`). Others are shown as text.
pub fn mail_address(value: &str) -> Option<&str> {
    let v = value.trim();
    let plain = !v.chars().any(|c| matches!(c, '?' | '&' | '#' | '%' | '/' | ':' | ',' | ';' | '<' | '>' | '"'));
    (plain && crate::domain::normalize::normalize_email(v).is_some()).then_some(v)
}

/// A page being written.
#[derive(Default)]
pub struct Html {
    buf: String,
}

impl Html {
    pub fn new() -> Html {
        Html { buf: String::with_capacity(16 * 1024) }
    }

    /// Markup written by the program.
    pub fn raw(&mut self, markup: &'static str) -> &mut Html {
        self.buf.push_str(markup);
        self
    }

    /// Text, escaped: for element content and quoted attribute values alike.
    pub fn text(&mut self, text: &str) -> &mut Html {
        escape_into(&mut self.buf, text);
        self
    }

    /// A number, which needs no escaping.
    pub fn number(&mut self, n: usize) -> &mut Html {
        let _ = write!(self.buf, "{n}");
        self
    }

    /// `<a href="…">text</a>`, both parts escaped. `href` must be a path of this site or a URL
    /// that passed [`web_url`].
    pub fn link(&mut self, href: &str, text: &str) -> &mut Html {
        self.raw("<a href=\"").text(href).raw("\">").text(text).raw("</a>")
    }

    /// `<tag>text</tag>` with the text escaped.
    pub fn element(&mut self, open: &'static str, text: &str, close: &'static str) -> &mut Html {
        self.raw(open).text(text).raw(close)
    }

    pub fn finish(self) -> String {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_characters_that_matter() {
        assert_eq!(escape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
        assert_eq!(escape("\"><img src=x onerror=alert(1)>"), "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
        assert_eq!(escape("a & b 'c'"), "a &amp; b &#39;c&#39;");
        assert_eq!(escape("&amp;"), "&amp;amp;", "already escaped text is escaped again: it is data");
        assert_eq!(escape("José — 東京 🙂"), "José — 東京 🙂");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn escaped_text_never_contains_markup_characters() {
        let nasty = "<>&\"'`=/\\\u{0}\n<!-- --><![CDATA[ ]]>";
        let out = escape(nasty);
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('"') && !out.contains('\''), "{out}");
    }

    #[test]
    fn builder_escapes_text_and_attributes() {
        let mut h = Html::new();
        h.raw("<p title=\"").text("x\" onmouseover=\"y").raw("\">").text("<b>").raw("</p>");
        h.link("/view/contact/ct_1?a=1&b=2", "<i>Ada</i>");
        h.number(42);
        assert_eq!(
            h.finish(),
            "<p title=\"x&quot; onmouseover=&quot;y\">&lt;b&gt;</p>\
             <a href=\"/view/contact/ct_1?a=1&amp;b=2\">&lt;i&gt;Ada&lt;/i&gt;</a>42"
        );
    }

    #[test]
    fn url_encoding_keeps_only_unreserved_bytes() {
        assert_eq!(url_encode("ct_01H-x.y~"), "ct_01H-x.y~");
        assert_eq!(url_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(url_encode("\"><script>"), "%22%3E%3Cscript%3E");
    }

    #[test]
    fn only_web_urls_become_links() {
        assert_eq!(web_url("https://acme.com/x?y=1"), Some("https://acme.com/x?y=1"));
        assert_eq!(web_url(" HTTP://acme.com "), Some("HTTP://acme.com"));
        for bad in [
            "javascript:alert(1)",
            "JavaScript://%0aalert(1)",
            "data:text/html,<script>",
            "acme.com",
            "https://",
            "https:acme.com",
            "//acme.com",
            "https://acme.com/a b",
            "mailto:a@b.c",
            "",
        ] {
            assert_eq!(web_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_plain_addresses_become_mail_links() {
        assert_eq!(mail_address(" Ana.Ruiz@acme.es "), Some("Ana.Ruiz@acme.es"));
        for bad in ["a@b.c?cc=x@evil.com&body=hi", "a@b.c,x@evil.com", "mailto:a@b.c", "n/a", "a b@c.d", "a@b@c", "a%40b@c.d", ""] {
            assert_eq!(mail_address(bad), None, "{bad}");
        }
    }
}

//! LinkedIn URLs: the `linkedinUrl` match key (API.md §5).
//!
//! The key is the *profile root* with its type, without host or scheme: `in/john-doe`,
//! `company/acme`, `company/1035`, `school/mit`, `showcase/acme-cloud`. Keeping the type makes
//! people, companies, schools and showcase pages separate key spaces (`/in/acme` is not
//! `/company/acme`). Everything that varies between copies of one profile link is removed: scheme,
//! `www.`/country/mobile subdomains, mobile and e-mail path prefixes, sub-pages, query, fragment,
//! trailing slash, percent-encoding, Unicode composition form and case.
//!
//! Decisions where API.md leaves room:
//! * Sales Navigator (`/sales/...`) paths are kept whole, because their ids (`ACwAAB...`) are
//!   opaque and **case-sensitive**: `sales` is lower-cased, the rest keeps its case (percent-decoded
//!   and NFC like every path). They need at least two segments after `sales`
//!   (`/sales/lead/<id>`), so a bare `/sales/homepage` is not an identifier.
//! * Old public profiles (`/pub/john-doe/1a/2b/3c`) are kept whole (lower-cased) as `pub/...`: the
//!   mapping to today's `/in/` slug is not reliable, so they only match the same old URL.
//!   `/pub/dir/...` is a people search, not a profile: no key.
//! * `/company-beta/<id>` (an older company URL form) reads as `/company/<id>`.
//! * Prefixes that wrap a profile path are skipped: `/m/` and `/mwlite/` (mobile, as API.md says),
//!   `/comm/` (links in LinkedIn's e-mails) and `/organization-guest/` (logged-out company pages).
//! * Any other path (`/feed`, `/jobs/view/1`, `/posts/...`, `/profile/view?id=`) names no profile:
//!   no key.
//! * Percent-decoding that yields bytes that are not UTF-8, or a segment that decodes to contain a
//!   `/`, whitespace or a control character: no key. No LinkedIn slug can hold those, and keeping
//!   such a value raw would make a key no real profile URL could ever produce.
//! * Hosts must be `linkedin.com` or a subdomain of it (any scheme, port or credentials are
//!   ignored). Short links (`lnkd.in`) cannot be resolved offline: no key.

use super::text;
use super::url;

/// Path prefixes that wrap a profile path without changing what it names.
const WRAPPER_PREFIXES: [&str; 4] = ["m", "mwlite", "comm", "organization-guest"];

/// Normalised LinkedIn key (`in/<slug>`, `company/<slug or id>`, `school/<slug>`,
/// `showcase/<slug>`, `sales/...`, `pub/...`), or `None` for a value that is not a LinkedIn
/// profile URL.
///
/// ```
/// use edge_crm::domain::normalize::normalize_linkedin_url;
/// assert_eq!(
///     normalize_linkedin_url("https://www.linkedin.com/in/John-Doe/?trk=x").as_deref(),
///     Some("in/john-doe"),
/// );
/// assert_eq!(normalize_linkedin_url("https://example.com/in/john-doe"), None);
/// ```
#[must_use]
pub fn normalize_linkedin_url(raw: &str) -> Option<String> {
    let parts = url::split(raw)?;
    if !is_linkedin_host(parts.host) {
        return None;
    }

    let mut segments = Vec::new();
    for segment in parts.path.split(['/', '\\']).filter(|s| !s.is_empty()) {
        segments.push(decode_segment(segment)?);
    }

    let mut rest = segments.as_slice();
    while let [first, tail @ ..] = rest {
        if WRAPPER_PREFIXES
            .iter()
            .any(|p| first.eq_ignore_ascii_case(p))
        {
            rest = tail;
        } else {
            break;
        }
    }

    let (kind, tail) = rest.split_first()?;
    let kind = kind.to_ascii_lowercase();
    match kind.as_str() {
        "in" | "company" | "school" | "showcase" | "company-beta" => {
            let slug = tail.first()?;
            let kind = if kind == "company-beta" {
                "company"
            } else {
                kind.as_str()
            };
            Some(format!("{kind}/{}", fold_case(slug)))
        }
        "pub" => {
            let first = tail.first()?;
            if first.eq_ignore_ascii_case("dir") {
                return None;
            }
            let lowered: Vec<String> = tail.iter().map(|s| fold_case(s)).collect();
            Some(format!("pub/{}", lowered.join("/")))
        }
        "sales" if tail.len() >= 2 => Some(format!("sales/{}", tail.join("/"))),
        _ => None,
    }
}

/// `linkedin.com` itself or any subdomain of it (`www.`, `uk.`, `m.`, `es.`), in any case, with a
/// trailing dot allowed. Every label must be a plain host-name label, so that
/// `evil.com%2F.linkedin.com` or `a b.linkedin.com` is refused.
fn is_linkedin_host(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let mut labels = host.rsplit('.');
    let (Some(tld), Some(sld)) = (labels.next(), labels.next()) else {
        return false;
    };
    tld.eq_ignore_ascii_case("com")
        && sld.eq_ignore_ascii_case("linkedin")
        && labels.all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Percent-decodes and NFC-composes one path segment. `None` when the segment cannot be part of a
/// LinkedIn slug or id (invalid UTF-8, `/`, whitespace or control characters once decoded).
fn decode_segment(segment: &str) -> Option<String> {
    let decoded = url::percent_decode(segment)?;
    if decoded
        .chars()
        .any(|c| c == '/' || c.is_whitespace() || c.is_control())
    {
        return None;
    }
    Some(text::nfc(&decoded))
}

/// Case folding for slugs: Unicode lower case, re-composed (lower-casing can decompose, as with
/// `İ`), so that keys stay in one normal form.
fn fold_case(s: &str) -> String {
    if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        text::nfc(&s.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn li(raw: &str) -> Option<String> {
        normalize_linkedin_url(raw)
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    // ---- scheme and host ----

    #[test]
    fn canonical_profile_url() {
        assert_eq!(
            li("https://www.linkedin.com/in/john-doe"),
            some("in/john-doe")
        );
    }

    #[test]
    fn scheme_is_optional() {
        assert_eq!(
            li("http://www.linkedin.com/in/john-doe"),
            some("in/john-doe")
        );
        assert_eq!(li("linkedin.com/in/john-doe"), some("in/john-doe"));
        assert_eq!(li("www.linkedin.com/in/john-doe"), some("in/john-doe"));
        assert_eq!(li("//www.linkedin.com/in/john-doe"), some("in/john-doe"));
    }

    #[test]
    fn any_linkedin_subdomain_is_accepted() {
        for host in ["www", "uk", "es", "m", "de", "fr.m"] {
            assert_eq!(
                li(&format!("https://{host}.linkedin.com/in/john-doe")),
                some("in/john-doe"),
                "{host}"
            );
        }
    }

    #[test]
    fn host_case_port_credentials_and_trailing_dot() {
        assert_eq!(
            li("HTTPS://WWW.LINKEDIN.COM/in/john-doe"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://www.linkedin.com:443/in/john-doe"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://www.linkedin.com./in/john-doe"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://u:p@www.linkedin.com/in/john-doe"),
            some("in/john-doe")
        );
    }

    #[test]
    fn other_hosts_give_no_key() {
        assert_eq!(li("https://example.com/in/john-doe"), None);
        assert_eq!(li("https://linkedin.com.evil.com/in/john-doe"), None);
        assert_eq!(li("https://evillinkedin.com/in/john-doe"), None);
        assert_eq!(li("https://linkedin.co/in/john-doe"), None);
        assert_eq!(li("https://lnkd.in/abc123"), None);
        assert_eq!(li("https://evil.com?.linkedin.com/in/john-doe"), None);
        assert_eq!(li("https://evil.com#.linkedin.com/in/john-doe"), None);
        assert_eq!(li("https://a b.linkedin.com/in/john-doe"), None);
        assert_eq!(li("https://x..linkedin.com/in/john-doe"), None);
        assert_eq!(li("https://linkedin.com@evil.com/in/john-doe"), None);
        assert_eq!(li("in/john-doe"), None);
        assert_eq!(li("john-doe"), None);
    }

    #[test]
    fn credentials_naming_linkedin_do_not_count() {
        assert_eq!(li("https://evil.com@www.linkedin.com/in/x"), some("in/x"));
    }

    // ---- empty and slug-less ----

    #[test]
    fn empty_and_scheme_only_give_no_key() {
        assert_eq!(li(""), None);
        assert_eq!(li("   "), None);
        assert_eq!(li("http://"), None);
        assert_eq!(li("https://"), None);
    }

    #[test]
    fn no_slug_gives_no_key() {
        assert_eq!(li("linkedin.com/in/"), None);
        assert_eq!(li("https://linkedin.com/company"), None);
        assert_eq!(li("https://www.linkedin.com/"), None);
        assert_eq!(li("https://www.linkedin.com"), None);
        assert_eq!(li("https://www.linkedin.com/school/"), None);
        assert_eq!(li("https://www.linkedin.com/in//"), None);
        assert_eq!(li("https://www.linkedin.com/in?x=john"), None);
        assert_eq!(li("https://www.linkedin.com/m/"), None);
    }

    // ---- query, fragment, trailing slash, sub-pages ----

    #[test]
    fn query_fragment_and_trailing_slash_are_removed() {
        assert_eq!(
            li("https://www.linkedin.com/in/john-doe/"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://www.linkedin.com/in/john-doe?originalSubdomain=es"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://www.linkedin.com/in/john-doe/#experience"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://www.linkedin.com/in/john-doe/?trk=public_profile&utm=x#a"),
            some("in/john-doe")
        );
    }

    #[test]
    fn sub_pages_reduce_to_profile_root() {
        assert_eq!(
            li("https://www.linkedin.com/company/acme/about/"),
            some("company/acme")
        );
        assert_eq!(
            li("https://www.linkedin.com/company/acme"),
            li("linkedin.com/company/acme/about/")
        );
        assert_eq!(
            li("https://www.linkedin.com/company/acme/jobs"),
            some("company/acme")
        );
        assert_eq!(
            li("https://www.linkedin.com/in/john-doe/details/experience/"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://www.linkedin.com/in/john-doe/en"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://www.linkedin.com/school/mit/people/"),
            some("school/mit")
        );
    }

    #[test]
    fn double_slashes_are_ignored() {
        assert_eq!(
            li("https://www.linkedin.com//in//john-doe//"),
            some("in/john-doe")
        );
    }

    // ---- key spaces ----

    #[test]
    fn types_are_separate_key_spaces() {
        assert_eq!(li("linkedin.com/in/acme"), some("in/acme"));
        assert_eq!(li("linkedin.com/company/acme"), some("company/acme"));
        assert_eq!(li("linkedin.com/school/acme"), some("school/acme"));
        assert_eq!(li("linkedin.com/showcase/acme"), some("showcase/acme"));
        assert_ne!(li("linkedin.com/in/acme"), li("linkedin.com/company/acme"));
        assert_ne!(
            li("linkedin.com/company/acme"),
            li("linkedin.com/school/acme")
        );
    }

    #[test]
    fn company_by_number() {
        assert_eq!(
            li("https://www.linkedin.com/company/1035/"),
            some("company/1035")
        );
        assert_eq!(
            li("https://www.linkedin.com/company-beta/1035/"),
            some("company/1035")
        );
    }

    #[test]
    fn type_segment_is_case_insensitive() {
        assert_eq!(
            li("https://www.linkedin.com/IN/John-Doe"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://www.linkedin.com/Company/ACME"),
            some("company/acme")
        );
    }

    // ---- mobile and wrapper prefixes ----

    #[test]
    fn mobile_prefixes_read_as_plain_paths() {
        assert_eq!(
            li("https://www.linkedin.com/m/in/john-doe"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://www.linkedin.com/mwlite/in/john-doe"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://m.linkedin.com/in/john-doe"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://www.linkedin.com/mwlite/company/acme"),
            some("company/acme")
        );
        assert_eq!(
            li("https://www.linkedin.com/m/company/acme/"),
            some("company/acme")
        );
    }

    #[test]
    fn email_and_guest_prefixes_read_as_plain_paths() {
        assert_eq!(
            li("https://www.linkedin.com/comm/in/john-doe"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://www.linkedin.com/organization-guest/company/acme"),
            some("company/acme")
        );
    }

    // ---- case, encoding, Unicode ----

    #[test]
    fn case_is_folded() {
        assert_eq!(
            li("https://www.linkedin.com/in/JOHN-DOE"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://www.linkedin.com/in/José-García"),
            some("in/josé-garcía")
        );
        assert_eq!(
            li("https://www.linkedin.com/in/JOSÉ-GARCÍA"),
            some("in/josé-garcía")
        );
    }

    #[test]
    fn percent_encoding_is_decoded() {
        assert_eq!(
            li("https://www.linkedin.com/in/jos%C3%A9-garc%C3%ADa"),
            some("in/josé-garcía")
        );
        assert_eq!(
            li("https://www.linkedin.com/in/jos%C3%A9-garc%C3%ADa"),
            li("https://www.linkedin.com/in/josé-garcía")
        );
        assert_eq!(
            li("https://www.linkedin.com/in/john%2Ddoe"),
            some("in/john-doe")
        );
        assert_eq!(
            li("https://www.linkedin.com/%69n/john-doe"),
            some("in/john-doe")
        );
    }

    #[test]
    fn percent_encoded_upper_case_is_folded_after_decoding() {
        assert_eq!(li("https://www.linkedin.com/in/jos%C3%89"), some("in/josé"));
    }

    #[test]
    fn unicode_is_composed() {
        // Decomposed é (e + U+0301), raw and percent-encoded, equals precomposed é.
        assert_eq!(li("linkedin.com/in/jose\u{301}"), some("in/josé"));
        assert_eq!(li("linkedin.com/in/jose%CC%81"), some("in/josé"));
    }

    #[test]
    fn invalid_utf8_after_decoding_gives_no_key() {
        assert_eq!(li("https://www.linkedin.com/in/%FF%FE"), None);
        assert_eq!(li("https://www.linkedin.com/in/jos%C3"), None);
    }

    #[test]
    fn literal_percent_without_hex_is_kept() {
        assert_eq!(
            li("https://www.linkedin.com/in/100%-real"),
            some("in/100%-real")
        );
    }

    #[test]
    fn decoded_separators_and_spaces_give_no_key() {
        assert_eq!(li("https://www.linkedin.com/in/a%2Fb"), None);
        assert_eq!(li("https://www.linkedin.com/in/john%20doe"), None);
        assert_eq!(li("https://www.linkedin.com/in/john doe"), None);
        assert_eq!(li("https://www.linkedin.com/in/x%00"), None);
    }

    #[test]
    fn non_latin_slugs_are_kept() {
        assert_eq!(li("https://www.linkedin.com/in/李明"), some("in/李明"));
        assert_eq!(
            li("https://www.linkedin.com/in/%E6%9D%8E%E6%98%8E"),
            some("in/李明")
        );
    }

    // ---- Sales Navigator ----

    #[test]
    fn sales_navigator_is_kept_whole_with_case() {
        let url = "https://www.linkedin.com/sales/lead/ACwAAB1234xYz,NAME_SEARCH,aBcD?_ntb=xyz";
        assert_eq!(li(url), some("sales/lead/ACwAAB1234xYz,NAME_SEARCH,aBcD"));
    }

    #[test]
    fn sales_navigator_ids_are_case_sensitive() {
        assert_ne!(
            li("https://www.linkedin.com/sales/lead/ACwAAB1234xYz"),
            li("https://www.linkedin.com/sales/lead/acwaab1234xyz")
        );
    }

    #[test]
    fn sales_navigator_host_scheme_and_encoding_vary_freely() {
        assert_eq!(
            li("linkedin.com/sales/people/ACwAAB1,NAME_SEARCH,x/"),
            li("https://www.linkedin.com/SALES/people/ACwAAB1%2CNAME_SEARCH%2Cx")
        );
        assert_eq!(
            li("https://www.linkedin.com/sales/company/1035"),
            some("sales/company/1035")
        );
    }

    #[test]
    fn sales_navigator_without_id_gives_no_key() {
        assert_eq!(li("https://www.linkedin.com/sales"), None);
        assert_eq!(li("https://www.linkedin.com/sales/"), None);
        assert_eq!(li("https://www.linkedin.com/sales/homepage"), None);
    }

    #[test]
    fn sales_and_profile_urls_do_not_collide() {
        assert_ne!(li("linkedin.com/sales/lead/x"), li("linkedin.com/in/x"));
    }

    // ---- old /pub/ profiles ----

    #[test]
    fn old_pub_profiles_are_kept_whole() {
        assert_eq!(
            li("http://www.linkedin.com/pub/John-Doe/12/345/6AB/"),
            some("pub/john-doe/12/345/6ab")
        );
        assert_eq!(li("linkedin.com/pub/dir/John/Doe"), None);
        assert_eq!(li("linkedin.com/pub/"), None);
    }

    // ---- other pages ----

    #[test]
    fn non_profile_pages_give_no_key() {
        assert_eq!(li("https://www.linkedin.com/feed/"), None);
        assert_eq!(li("https://www.linkedin.com/jobs/view/123456/"), None);
        assert_eq!(
            li("https://www.linkedin.com/posts/john-doe_activity-1"),
            None
        );
        assert_eq!(li("https://www.linkedin.com/profile/view?id=12345"), None);
        assert_eq!(li("https://www.linkedin.com/groups/12345"), None);
    }

    #[test]
    fn surrounding_whitespace_is_ignored() {
        assert_eq!(
            li("  https://www.linkedin.com/in/john-doe  \n"),
            some("in/john-doe")
        );
        assert_eq!(
            li("<https://www.linkedin.com/in/john-doe>"),
            some("in/john-doe")
        );
    }

    #[test]
    fn very_long_slug_is_handled() {
        let slug = "a".repeat(100_000);
        assert_eq!(
            li(&format!("linkedin.com/in/{slug}/about")),
            Some(format!("in/{slug}"))
        );
    }
}

//! Reading a page's markup as a browser would, for the tests that fill its forms.

/// Text with the page's escapes undone.
pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// The value of attribute `name` in one tag, unescaped.
pub fn attr(tag: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(unescape(&tag[at..at + tag[at..].find('"')?]))
}

/// The textareas and selects of a form's markup as a browser sends them: a textarea's text with
/// its newlines as LF and without the one newline right after its start tag (HTML parsing drops
/// it), a select's chosen option, else its first.
pub fn textareas_and_selects(markup: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for (i, _) in markup.match_indices("<textarea") {
        let open_end = i + markup[i..].find('>').unwrap();
        let name = attr(&markup[i..open_end], "name").unwrap();
        let close = open_end + markup[open_end..].find("</textarea>").unwrap();
        let text = unescape(&markup[open_end + 1..close]).replace("\r\n", "\n").replace('\r', "\n");
        fields.push((name, text.strip_prefix('\n').map(str::to_string).unwrap_or(text)));
    }
    for (i, _) in markup.match_indices("<select") {
        let open_end = i + markup[i..].find('>').unwrap();
        let name = attr(&markup[i..open_end], "name").unwrap();
        let close = open_end + markup[open_end..].find("</select>").unwrap();
        let options = &markup[open_end..close];
        let chosen = options.split("<option").skip(1).find(|o| o.contains(" selected")).or(options.split("<option").nth(1));
        fields.push((name, chosen.and_then(|o| attr(o, "value")).unwrap_or_default()));
    }
    fields
}

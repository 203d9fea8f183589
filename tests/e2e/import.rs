//! Import (API.md §4, Import; §9): CSV files through the create path, previewed with
//! `?dryRun=true`. Each file's preview is checked against what its import then does (the same
//! counts, the same decision for every row), and a second import of the same file creates
//! nothing. The files: a HubSpot contacts export (its own header names), a semicolon file with a
//! byte order mark and line breaks inside quoted cells, a file holding the same people twice,
//! and a file whose rows are records Enginy created through the API (by email, by LinkedIn, by
//! domain). Bad rows are reported with their row numbers and the rest is imported.

use serde_json::{json, Value};

use crate::harness::{unique, Client, Key, Resp};
use crate::work_pages::{form, location, set, userinfo, Person};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("import::a_hubspot_contacts_export_is_previewed_imported_and_imported_again", a_hubspot_contacts_export_is_previewed_imported_and_imported_again),
    ("import::a_semicolon_file_with_a_bom_and_quoted_line_breaks", a_semicolon_file_with_a_bom_and_quoted_line_breaks),
    ("import::rows_repeated_inside_the_file_are_one_record", rows_repeated_inside_the_file_are_one_record),
    ("import::rows_are_the_records_enginy_created_by_email_linkedin_and_domain", rows_are_the_records_enginy_created_by_email_linkedin_and_domain),
    ("import::files_that_cannot_be_read_are_refused_saying_why", files_that_cannot_be_read_are_refused_saying_why),
    ("import::a_person_imports_a_file_on_the_page_previewed_then_confirmed", a_person_imports_a_file_on_the_page_previewed_then_confirmed),
    ("import::a_large_file_is_imported_part_by_part_with_its_progress", a_large_file_is_imported_part_by_part_with_its_progress),
    ("import::the_import_page_refuses_what_it_cannot_take", the_import_page_refuses_what_it_cannot_take),
    ("import::a_person_imports_in_the_browser", a_person_imports_in_the_browser),
];

/// Sends `csv` to `POST /{kind}/import` (a dry run when `dry`), checks the answer against the
/// API description, and answers it.
pub fn import(app: &App, c: &Client, kind: &str, csv: &str, dry: bool) -> Value {
    let resp = send(c, kind, csv.as_bytes(), dry, "text/csv");
    assert_eq!(resp.status, 200, "{}", resp.text());
    app.conforms(&format!("/{kind}/import"), "POST", &resp);
    let answer = resp.json();
    assert_eq!(answer["dryRun"], dry, "{answer}");
    answer
}

fn send(c: &Client, kind: &str, body: &[u8], dry: bool, content_type: &str) -> Resp {
    let path = if dry { format!("/{kind}/import?dryRun=true") } else { format!("/{kind}/import") };
    c.send("POST", &path, Key::Valid, &[("Content-Type", content_type)], Some(body))
}

/// The counts of an answer, without its samples or rows.
pub fn counts(answer: &Value) -> Value {
    let mut c = answer.clone();
    for key in ["samples", "results", "dryRun"] {
        c.as_object_mut().unwrap().remove(key);
    }
    c
}

/// `(row, outcome)` of every row of an import's answer.
fn outcomes(answer: &Value) -> Vec<(u64, String)> {
    answer["results"].as_array().unwrap().iter().map(|r| (r["row"].as_u64().unwrap(), r["outcome"].as_str().unwrap().to_string())).collect()
}

/// `(row, outcome)` of every sample of a dry run, in row order.
fn sampled(answer: &Value) -> Vec<(u64, String)> {
    let mut all: Vec<(u64, String)> = answer["samples"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|list| list.as_array().unwrap().iter().map(|r| (r["row"].as_u64().unwrap(), r["outcome"].as_str().unwrap().to_string())))
        .collect();
    all.sort();
    all
}

/// The preview of `csv`, then its import: the same counts and the same outcome for every row.
pub fn preview_then_import(app: &App, c: &Client, kind: &str, csv: &str) -> (Value, Value) {
    let preview = import(app, c, kind, csv, true);
    let done = import(app, c, kind, csv, false);
    assert_eq!(counts(&preview), counts(&done), "the preview's counts are what the import did");
    assert_eq!(sampled(&preview), outcomes(&done), "each row as the preview said");
    (preview, done)
}

fn row(answer: &Value, number: u64) -> &Value {
    answer["results"].as_array().unwrap().iter().find(|r| r["row"] == number).unwrap_or_else(|| panic!("no row {number} in {answer}"))
}

fn record(c: &Client, kind: &str, id: &str) -> Value {
    let resp = c.get(&format!("/{kind}/{id}"));
    assert_eq!(resp.status, 200, "{}", resp.text());
    resp.json()
}

fn a_hubspot_contacts_export_is_previewed_imported_and_imported_again(app: &App) {
    let c = &app.api;
    let (ada, alan, grace) = (unique("ada"), unique("alan"), unique("Hopper"));
    let engines = format!("{}.com", unique("engines"));
    let long_title = "T".repeat(2_001);
    let csv = format!(
        "Record ID,First Name,Last Name,Email,Phone Number,Mobile Phone Number,Job Title,Company Name,Associated Company,Website URL,LinkedIn URL,Contact owner,Lifecycle Stage,Lead Status,Create Date,Last Activity Date\n\
         501,Ada,Lovelace,{ada}@engines.test,+44 20 7946 0001,,CTO,Analytical Engines,Analytical Engines,https://www.{engines}/about,https://www.linkedin.com/in/{ada},owner@team.test,customer,Open,2024-01-05 10:00,2024-03-01 09:30\n\
         502,Alan,Turing,{alan}@bletchley.test,,+44 7700 900002,Researcher,Bletchley Park,,,https://linkedin.com/in/{alan}/,,lead,,2024-02-01 11:00,\n\
         503,Grace,{grace},,,,Rear Admiral,US Navy,,,,,lead,,2024-02-02 12:00,\n\
         ,,,,,,,,,,,,,,,\n\
         505,John,Smith, Jr.,john@smith.test,,,,,,,,,,,,\n\
         506,Long,Title,long@title.test,,,{long_title},Acme,,,,,,,,\n"
    );
    let (preview, done) = preview_then_import(app, c, "contacts", &csv);
    assert_eq!(
        (done["rows"].as_u64(), done["blank"].as_u64(), done["create"].as_u64(), done["invalid"].as_u64(), done["unidentified"].as_u64()),
        (Some(5), Some(1), Some(3), Some(2), Some(0)),
        "{done}"
    );
    // The mapping: HubSpot's headers to fields, the rest kept as properties.
    let columns = &preview["columns"];
    for (header, field) in [
        ("First Name", "firstName"), ("Email", "email"), ("Phone Number", "phone"), ("Mobile Phone Number", "phone"), ("Job Title", "title"),
        ("Company Name", "company"), ("Associated Company", "company"), ("Website URL", "companyDomain"), ("LinkedIn URL", "linkedinUrl"),
        ("Record ID", "properties.Record ID"), ("Lifecycle Stage", "properties.Lifecycle Stage"), ("Last Activity Date", "properties.Last Activity Date"),
    ] {
        assert_eq!(columns[header], field, "{header}: {columns}");
    }
    // Bad rows are named by their row number, field and column; the rest is imported.
    let smith = row(&done, 6);
    assert_eq!((smith["outcome"].as_str(), smith["line"].as_u64()), (Some("invalid"), Some(6)), "{smith}");
    assert!(smith["error"].as_str().unwrap().contains("17 cells and the header 16 columns"), "{smith}");
    let long = row(&done, 7);
    assert_eq!((long["field"].as_str(), long["column"].as_str(), long["code"].as_str()), (Some("title"), Some("Job Title"), Some("invalid")), "{long}");
    assert_eq!(preview["samples"]["invalid"][1]["row"], 7);
    // Each created record holds what its row carried.
    let ada_id = row(&done, 2)["crmId"].as_str().unwrap().to_string();
    let got = record(c, "contacts", &ada_id);
    assert_eq!(
        (got["firstName"].as_str(), got["lastName"].as_str(), got["email"].as_str(), got["phone"].as_str(), got["title"].as_str(), got["company"].as_str(), got["companyDomain"].as_str()),
        (Some("Ada"), Some("Lovelace"), Some(format!("{ada}@engines.test").as_str()), Some("+44 20 7946 0001"), Some("CTO"), Some("Analytical Engines"), Some(engines.as_str())),
        "{got}"
    );
    assert_eq!(got["properties"]["Lifecycle Stage"], "customer");
    assert_eq!(got["properties"]["Record ID"], "501");
    assert_eq!(got["properties"]["Contact owner"], "owner@team.test");
    let alan_record = record(c, "contacts", row(&done, 3)["crmId"].as_str().unwrap());
    assert_eq!(alan_record["phone"], "+44 7700 900002", "the mobile number fills an empty phone");
    // History says what created them: the API, for this request.
    let history = c.get(&format!("/contacts/{ada_id}/history")).json();
    assert_eq!(history["history"][0]["field"], "(created)");
    assert_eq!(history["history"][0]["actor"], "api");

    // The same file again: nothing is created; every row is the record it was.
    let (_, again) = preview_then_import(app, c, "contacts", &csv);
    assert_eq!((again["create"].as_u64(), again["match"]["byIdentifier"].as_u64(), again["invalid"].as_u64()), (Some(0), Some(3), Some(2)), "{again}");
    for n in [2, 3, 4] {
        assert_eq!(row(&again, n)["crmId"], row(&done, n)["crmId"], "row {n}");
    }
    assert_eq!(again["match"]["byRule"], json!({"linkedinUrl": 2, "firstName&lastName&company": 1}), "{again}");
}

fn a_semicolon_file_with_a_bom_and_quoted_line_breaks(app: &App) {
    let c = &app.api;
    let (a, b) = (format!("{}.com", unique("semi")), format!("{}.com", unique("colon")));
    let csv = format!(
        "\u{feff}Company name;Company Domain Name;Industry;Number of Employees;Notes\r\n\
         \"Acme; Ibérica S.L.\";{a};Software;120;\"First line\r\nsecond line; with \"\"quotes\"\"\"\r\n\
         Beta GmbH;https://www.{b}/de;Retail;about forty;plain\r\n\
         Gamma;{a};;;\r\n"
    );
    let (preview, done) = preview_then_import(app, c, "companies", &csv);
    assert_eq!(preview["delimiter"], ";");
    assert_eq!(
        (done["rows"].as_u64(), done["create"].as_u64(), done["invalid"].as_u64(), done["duplicateInFile"].as_u64()),
        (Some(3), Some(1), Some(1), Some(1)),
        "{done}"
    );
    let acme = row(&done, 2);
    assert_eq!(acme["outcome"], "created");
    let got = record(c, "companies", acme["crmId"].as_str().unwrap());
    assert_eq!((got["name"].as_str(), got["domain"].as_str(), got["employeeCount"].as_i64()), (Some("Acme; Ibérica S.L."), Some(a.as_str()), Some(120)), "{got}");
    assert_eq!(got["properties"]["Notes"], "First line\r\nsecond line; with \"quotes\"", "a quoted cell keeps its line break");
    // The row after the two-line cell is row 3, on line 4 of the file.
    let beta = row(&done, 3);
    assert_eq!((beta["line"].as_u64(), beta["outcome"].as_str(), beta["field"].as_str(), beta["column"].as_str()), (Some(4), Some("invalid"), Some("employeeCount"), Some("Number of Employees")), "{beta}");
    // Gamma has Acme's domain: it is Acme's record.
    let gamma = row(&done, 4);
    assert_eq!((gamma["outcome"].as_str(), gamma["line"].as_u64()), (Some("duplicateInFile"), Some(5)), "{done}");
    assert_eq!(gamma["crmId"], acme["crmId"]);
}

fn rows_repeated_inside_the_file_are_one_record(app: &App) {
    let c = &app.api;
    let (e1, last, slug) = (unique("hs"), unique("Twice"), unique("in"));
    let csv = format!(
        "External ID,First Name,Last Name,Company,LinkedIn\n\
         {e1},Ana,{last},Acme,\n\
         ,Bea,{last},Acme,https://www.linkedin.com/in/{slug}\n\
         {e1},Ana (again),{last},Other,\n\
         ,Bea,{last},Acme,linkedin.com/in/{slug}/\n\
         ,Cid,{last},Acme,\n\
         ,Cid,{last},ACME Inc.,\n"
    );
    let (preview, done) = preview_then_import(app, c, "contacts", &csv);
    assert_eq!((done["create"].as_u64(), done["duplicateInFile"].as_u64()), (Some(3), Some(3)), "{done}");
    let same: Vec<(u64, u64)> = preview["samples"]["duplicateInFile"].as_array().unwrap().iter().map(|r| (r["row"].as_u64().unwrap(), r["sameAsRow"].as_u64().unwrap())).collect();
    assert_eq!(same, vec![(4, 2), (5, 3), (7, 6)], "the preview names the row each repeats");
    for (dup, first) in same {
        assert_eq!(row(&done, dup)["crmId"], row(&done, first)["crmId"], "row {dup} is row {first}'s record");
    }
    let ids: std::collections::HashSet<&str> = done["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "three people, one record each: {done}");
}

fn rows_are_the_records_enginy_created_by_email_linkedin_and_domain(app: &App) {
    // Contacts on the server matching by email first (CONTACT_MATCH=email_or_linkedin_or_name_company).
    let c = &app.policy;
    let (mail, slug, new) = (format!("{}@acme.test", unique("ana")), unique("ben"), unique("new"));
    let enginy = c.json("POST", "/contacts", &json!({"contacts": [
        {"externalId": unique("enginy"), "firstName": "Ana", "lastName": "Ruiz", "email": mail},
        {"externalId": unique("enginy"), "firstName": "Ben", "lastName": "Stone", "linkedinUrl": format!("https://www.linkedin.com/in/{slug}"), "title": "CFO"},
    ]}));
    assert_eq!(enginy.status, 200, "{}", enginy.text());
    let ids: Vec<String> = enginy.json()["results"].as_array().unwrap().iter().map(|r| r["crmId"].as_str().unwrap().to_string()).collect();
    let csv = format!(
        "First Name,Last Name,Email Address,Title,LinkedIn Profile URL,Lead Source\n\
         Ana,Ruiz,{},VP Sales,,Webinar\n\
         Benjamin,Stone,,CEO,http://linkedin.com/in/{slug}?trk=x,Referral\n\
         New,Person,{new}@acme.test,,,Fair\n",
        mail.to_uppercase()
    );
    let (preview, done) = preview_then_import(app, c, "contacts", &csv);
    assert_eq!(preview["match"], json!({"byExternalId": 0, "byIdentifier": 2, "byRule": {"email": 1, "linkedinUrl": 1}}), "{preview}");
    let matched = &preview["samples"]["matched"];
    assert_eq!((matched[0]["crmId"].as_str(), matched[0]["matchedBy"].as_str()), (Some(ids[0].as_str()), Some("email")), "{matched}");
    assert_eq!(matched[0]["updatedFields"], json!(["title", "properties.Lead Source"]), "what the import will fill in");
    assert_eq!((row(&done, 2)["crmId"].as_str(), row(&done, 3)["crmId"].as_str()), (Some(ids[0].as_str()), Some(ids[1].as_str())));
    assert_eq!(row(&done, 4)["outcome"], "created");
    // CREATE_MERGE=fill_empty: an empty field is filled, a filled one kept.
    let ana = record(c, "contacts", &ids[0]);
    assert_eq!((ana["title"].as_str(), ana["properties"]["Lead Source"].as_str()), (Some("VP Sales"), Some("Webinar")), "{ana}");
    let ben = record(c, "contacts", &ids[1]);
    assert_eq!((ben["firstName"].as_str(), ben["title"].as_str()), (Some("Ben"), Some("CFO")), "{ben}");
    let kept: Vec<&str> = row(&done, 3)["keptFields"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(kept.contains(&"firstName") && kept.contains(&"title"), "what the row sent and Ben kept is said: {}", row(&done, 3));
    // Enginy's sync sees the filled field.
    let synced = c.json("POST", "/contacts/sync", &json!({"contacts": [{"externalId": unique("x"), "email": mail}]})).json();
    assert_eq!(synced["results"][0]["properties"]["title"], "VP Sales", "{synced}");

    // Companies by domain, on the server matching by domain: a website URL finds its company.
    let c = &app.api;
    let domain = format!("{}.com", unique("acme"));
    let created = c.json("POST", "/companies", &json!({"companies": [{"externalId": unique("enginy"), "name": "Acme", "domain": domain}]})).json();
    let acme = created["results"][0]["crmId"].as_str().unwrap().to_string();
    let csv = format!("Account Name,Website,Industry,Annual Revenue\nACME Corp,https://www.{domain}/en/about,Manufacturing,12000000\n");
    let (preview, done) = preview_then_import(app, c, "companies", &csv);
    assert_eq!(preview["match"]["byRule"], json!({"domain": 1}), "{preview}");
    assert_eq!(row(&done, 2)["crmId"], acme.as_str());
    let got = record(c, "companies", &acme);
    assert_eq!((got["name"].as_str(), got["industry"].as_str(), got["revenue"].as_str()), (Some("Acme"), Some("Manufacturing"), Some("12000000")), "{got}");
    assert_eq!(got["website"], format!("https://www.{domain}/en/about"), "an empty website is filled");
}

fn files_that_cannot_be_read_are_refused_saying_why(app: &App) {
    let c = &app.api;
    let check = |resp: Resp, status: u16, words: &str| {
        assert_eq!(resp.status, status, "{}", resp.text());
        app.conforms("/contacts/import", "POST", &resp);
        assert!(resp.json()["error"].as_str().unwrap().contains(words), "{words:?} not in {}", resp.text());
    };
    check(send(c, "contacts", b"Email\nada@x.test\n", false, "application/json"), 415, "text/csv");
    check(send(c, "contacts", b"", false, "text/csv"), 400, "the file is empty");
    check(send(c, "contacts", b"Email\n\xff\xfe@x.test\n", false, "text/csv"), 400, "line 2");
    check(send(c, "contacts", b"Foo|Bar\n1|2\n", true, "text/csv"), 400, "no column names a field of a contact");
    let resp = c.send("POST", "/contacts/import?dryRun=maybe", Key::Valid, &[("Content-Type", "text/csv")], Some(b"Email\na@b.test\n"));
    check(resp, 400, "dryRun");
    let many = format!("Email\n{}", (0..10_001).map(|i| format!("p{i}@many.test\n")).collect::<String>());
    check(send(c, "contacts", many.as_bytes(), true, "text/csv"), 413, "10001 rows");
    let resp = c.send("POST", "/contacts/import", Key::None, &[("Content-Type", "text/csv")], Some(b"Email\na@b.test\n"));
    assert_eq!(resp.status, 401);
}

/// A `multipart/form-data` body of `fields` and a `file` part, as a browser sends the upload
/// form; answers the content type and the body.
fn multipart(fields: &[(String, String)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = format!("----edge-crm-{}", crate::harness::random_hex(8));
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    if let Some((filename, bytes)) = file {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n").as_bytes());
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Uploads `csv` on the import page of `kind` as `person`: answers the response.
fn upload(person: &Person<'_>, kind: &str, csv: &[u8], fields: Option<Vec<(String, String)>>) -> Resp {
    let action = format!("/view/import/{kind}");
    let fields = fields.unwrap_or_else(|| form(&person.get(&action), &action, "name=\"file\""));
    let fields: Vec<(String, String)> = fields.into_iter().filter(|(k, _)| k != "file").collect();
    let (content_type, body) = multipart(&fields, Some(("export.csv", csv)));
    person.send("POST", &action, &[("Content-Type", &content_type), ("Sec-Fetch-Site", "same-origin")], Some(&body))
}

/// Follows an import's progress from `start` (a `?next` address) to its result: answers the
/// progress pages seen and the result page.
fn follow(person: &Person<'_>, start: &str) -> (Vec<String>, String) {
    let mut pages = Vec::new();
    let mut at = start.to_string();
    for _ in 0..400 {
        let resp = person.send("GET", &at, &[], None);
        match resp.status {
            303 => at = location(&resp),
            200 if resp.text().contains("http-equiv=\"refresh\"") => pages.push(resp.text()),
            200 => return (pages, resp.text()),
            other => panic!("GET {at}: {other} {}", resp.text()),
        }
    }
    panic!("the import never finished");
}

fn number_in(html: &str, label: &str) -> u64 {
    let end = html.find(&format!("</b>{label}</div>")).unwrap_or_else(|| panic!("no count {label:?} in {html}"));
    let start = html[..end].rfind("<b>").unwrap() + 3;
    html[start..end].replace(',', "").parse().unwrap()
}

fn a_person_imports_a_file_on_the_page_previewed_then_confirmed(app: &App) {
    let me = Person::new(app, "Iris Importer");
    let c = me.c;
    // Enginy created one of the people already.
    let (slug, last) = (unique("in"), unique("Page"));
    let known = c.json("POST", "/contacts", &json!({"contacts": [{"externalId": unique("enginy"), "firstName": "Kim", "lastName": last, "linkedinUrl": format!("https://linkedin.com/in/{slug}")}]})).json();
    let known = known["results"][0]["crmId"].as_str().unwrap().to_string();
    let csv = format!(
        "First Name,Last Name,Company Name,LinkedIn URL,Job Title,Lead Status\n\
         Kim,{last},Acme,https://www.linkedin.com/in/{slug}/,CTO,Open\n\
         Lee,{last},Acme,,Engineer,New\n\
         Lee,{last},ACME Inc,,,\n\
         Max,{last},Acme,,,,surplus\n"
    );
    let resp = upload(&me, "contact", csv.as_bytes(), None);
    let job = location(&resp);
    assert!(job.starts_with("/view/import/contact/imp_"), "{job}");
    let preview = me.get(&job);
    // The preview says what the API's dry run says.
    let dry = import(app, &app.api, "contacts", &csv, true);
    for (label, n) in [("to create", dry["create"].as_u64()), ("already in the CRM", dry["match"]["byIdentifier"].as_u64()), ("repeated in the file", dry["duplicateInFile"].as_u64()), ("cannot be imported", dry["invalid"].as_u64())] {
        assert_eq!(Some(number_in(&preview, label)), n, "{label}");
    }
    assert_eq!((dry["create"].as_u64(), dry["match"]["byIdentifier"].as_u64(), dry["duplicateInFile"].as_u64(), dry["invalid"].as_u64()), (Some(1), Some(1), Some(1), Some(1)));
    assert!(preview.contains(&format!("<a href=\"/view/contact/{known}\">Kim {last}</a>")), "the match links its record: {preview}");
    assert!(preview.contains("Recognised 1 by LinkedIn."), "{preview}");
    let fills = &preview[preview.find("<td data-label=\"Fills in\">").expect("what the match fills in")..];
    let fills = &fills[..fills.find("</td>").unwrap()];
    for field in ["Company", "Title", "Lead Status"] {
        assert!(fills.contains(field), "{field} in {fills}");
    }
    assert!(preview.contains("<td data-label=\"Same as\">row 3</td>"), "{preview}");
    assert!(preview.contains("<td data-label=\"Column\">the whole row</td>"), "{preview}");
    // Nothing is written by the preview.
    assert_eq!(record(c, "contacts", &known)["title"], Value::Null);
    // Confirm: the import runs as the person, and ends on its result.
    let start = form(&preview, &job, "Import 4 rows");
    let resp = me.post(&job, &start);
    assert_eq!(location(&resp), format!("{job}?next"));
    let (progress, result) = follow(&me, &format!("{job}?next"));
    assert!(progress.is_empty(), "one part: no progress page");
    assert!(result.contains("finished") && result.contains(&format!("<a href=\"/view/contact/{known}\">Kim {last}</a>")), "{result}");
    assert_eq!(number_in(&result, "created"), 1);
    let kim = record(c, "contacts", &known);
    assert_eq!((kim["title"].as_str(), kim["properties"]["Lead Status"].as_str()), (Some("CTO"), Some("Open")), "{kim}");
    let history = c.get(&format!("/contacts/{known}/history")).json();
    let title = history["history"].as_array().unwrap().iter().find(|h| h["field"] == "title").unwrap().clone();
    assert_eq!(title["actor"], me.email.as_str(), "the person did it: {history}");
    // The page again (a reload, a second tab): the result, nothing imported twice.
    assert_eq!(me.post(&job, &start).status, 303);
    let (_, again) = follow(&me, &format!("{job}?next"));
    assert_eq!(number_in(&again, "created"), 1);
    let lees = import(app, &app.api, "contacts", &format!("First Name,Last Name,Company\nLee,{last},Acme\n"), true);
    assert_eq!(lees["match"]["byIdentifier"], 1, "one Lee: {lees}");
}

fn a_large_file_is_imported_part_by_part_with_its_progress(app: &App) {
    let _heavy = crate::heavy();
    let me = Person::new(app, "Lara Large");
    let tag = unique("bulk");
    let mut csv = String::from("Company name,Company Domain Name,Industry\n");
    for i in 0..2_500 {
        csv.push_str(&format!("Bulk {i},{tag}-{i}.com,Software\n"));
    }
    csv.push_str(&format!("Bulk again,{tag}-7.com,\n"));
    let job = location(&upload(&me, "company", csv.as_bytes(), None));
    let preview = me.get(&job);
    assert_eq!((number_in(&preview, "to create"), number_in(&preview, "repeated in the file")), (2_500, 1), "{preview}");
    let start = form(&preview, &job, "Import 2,501 rows");
    // Left after the first part: the page says so, and goes on from there.
    me.post(&job, &start);
    let paused = me.get(&job);
    assert!(paused.contains("1,000 of 2,501 rows imported") && paused.contains("Continue the import"), "{paused}");
    let (progress, result) = follow(&me, &format!("{job}?next"));
    assert_eq!(progress.len(), 1, "one page between the second part and the last");
    assert!(progress[0].contains("<strong>2,000 of 2,501 rows</strong> (79%)") && progress[0].contains("<progress max=\"2501\" value=\"2000\">"), "{}", progress[0]);
    assert_eq!((number_in(&result, "created"), number_in(&result, "repeated in the file")), (2_500, 1), "{result}");
    // Every part once: the same file through the API finds every record.
    let again = import(app, &app.api, "companies", &csv, true);
    assert_eq!((again["create"].as_u64(), again["match"]["byIdentifier"].as_u64()), (Some(0), Some(2_501)), "{}", counts(&again));
}

fn the_import_page_refuses_what_it_cannot_take(app: &App) {
    let me = Person::new(app, "Rob Refused");
    let action = "/view/import/contact";
    let fields = form(&me.get(action), action, "name=\"file\"");
    // A file of no known column, an empty form: the form again, saying why.
    let resp = upload(&me, "contact", b"Foo;Bar\n1;2\n", Some(fields.clone()));
    assert_eq!(resp.status, 400, "{}", resp.text());
    assert!(resp.text().contains("There is a problem") && resp.text().contains("No column names a field of a contact"), "{}", resp.text());
    let (content_type, body) = multipart(&fields, None);
    let resp = me.send("POST", action, &[("Content-Type", &content_type), ("Sec-Fetch-Site", "same-origin")], Some(&body));
    assert_eq!(resp.status, 400);
    assert!(resp.text().contains("Choose a CSV file, or paste its rows"), "{}", resp.text());
    // Pasted rows are a file too.
    let pasted = set(fields.clone(), "csv", "Email,First Name\npaste@x.test,Pat\n");
    let (content_type, body) = multipart(&pasted, None);
    let resp = me.send("POST", action, &[("Content-Type", &content_type), ("Sec-Fetch-Site", "same-origin")], Some(&body));
    let job = location(&resp);
    assert!(me.get(&job).contains("pasted rows: 1 row"), "the preview of pasted rows");
    // Without the form's token, from another site, or not as a form: refused, nothing kept.
    let resp = upload(&me, "contact", b"Email\na@b.test\n", Some(set(fields.clone(), "token", &"0".repeat(64))));
    assert_eq!(resp.status, 403, "{}", resp.text());
    let resp = me.send("POST", action, &[("Content-Type", "text/csv"), ("Sec-Fetch-Site", "same-origin")], Some(b"Email\na@b.test\n"));
    assert_eq!(resp.status, 415);
    // Someone else's import, or one that does not exist: not found.
    let other = Person::new(app, "Olga Other");
    assert_eq!(other.send("GET", &job, &[], None).status, 404);
    assert_eq!(me.send("GET", "/view/import/contact/imp_0000000000000000000000000z", &[], None).status, 404);
    assert_eq!(me.send("GET", &job.replace("/contact/", "/company/"), &[], None).status, 404, "another kind's address");
}

/// Upload → preview → confirm → result in a real browser (ChromeDriver), at desktop and phone
/// width: the file chosen with the file input, the preview read, the import confirmed, its
/// records linked. Screenshots: `target/screenshots/import-*.png`.
fn a_person_imports_in_the_browser(app: &App) {
    use crate::harness::repo_root;
    use crate::webdriver::Browser;
    let shots = repo_root().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for (width, tag) in [(1280u32, "desktop"), (390, "phone")] {
        let me = Person::new(app, &format!("Bea Browser {tag}"));
        let c = me.c;
        let last = unique("Browser");
        let domain = format!("{}.com", unique("acme"));
        let known = c.json("POST", "/contacts", &json!({"contacts": [{"externalId": unique("enginy"), "firstName": "Ana", "lastName": last, "company": "Acme"}]})).json();
        let known = known["results"][0]["crmId"].as_str().unwrap().to_string();
        let long_note = format!("https://notes.example.com/{}", "x".repeat(150));
        let csv = format!(
            "Record ID,First Name,Last Name,Email,Company Name,Company Domain Name,Job Title,Lead Status,Notes\n\
             1,Ana,{last},,Acme,{domain},CTO,Open,{long_note}\n\
             2,Ben,{last},ben@{domain},Acme,{domain},CFO,New,\n\
             3,Cleo,{last},cleo@{domain},Acme,{domain},,,\n\
             4,Ben,{last},,Acme,,,,\n\
             5,Dan,{last},dan@{domain},Acme,{domain},CEO,New,oops,extra\n"
        );
        let file = std::env::temp_dir().join(format!("edge-crm-import-{tag}-{}.csv", crate::harness::random_hex(4)));
        std::fs::write(&file, &csv).unwrap();
        let port = c.base.rsplit(':').next().unwrap();
        let origin = format!("http://{}:{}@127.0.0.1:{port}", userinfo(&me.email), app.dashboard_password);
        let browser = Browser::start(width, 1400);
        let fits = |what: &str| {
            let overflow = browser.eval("return document.documentElement.scrollWidth - document.documentElement.clientWidth;");
            assert!(overflow.as_i64().unwrap_or(99) <= 0, "{what} at {width} px scrolls sideways by {overflow} px");
        };
        browser.goto(&format!("{origin}/view/import/contact"));
        fits("the upload form");
        browser.click("details summary");
        browser.screenshot(&shots.join(format!("import-upload-{tag}.png")));
        browser.choose_file("#file", &file);
        browser.click("form[enctype='multipart/form-data'] button[type='submit']");
        browser.wait_for_url("/view/import/contact/imp_");
        let html = browser.wait_for_text("Nothing has been written yet");
        assert!(html.contains("edge-crm-import-") && html.contains(": 5 rows"), "{html}");
        assert!(html.contains(&format!("<a href=\"/view/contact/{known}\">Ana {last}</a>")), "the match is linked: {html}");
        fits("the preview");
        browser.screenshot(&shots.join(format!("import-preview-{tag}.png")));
        assert_eq!(record(c, "contacts", &known)["title"], Value::Null, "the preview writes nothing");
        browser.click("form[method='post'] button[type='submit']:not([name])");
        let result = browser.wait_for_text("finished");
        assert!(result.contains("<b>2</b>created") && result.contains("<b>1</b>matched") && result.contains("<b>1</b>not imported"), "{result}");
        fits("the result");
        browser.screenshot(&shots.join(format!("import-result-{tag}.png")));
        assert_eq!(record(c, "contacts", &known)["title"], "CTO", "the import filled Ana's title");
        browser.click(&format!("a[href='/view/contact/{known}']"));
        browser.wait_for_url(&format!("/view/contact/{known}"));
        assert!(browser.source().contains("Lead Status"), "the record page shows the imported property");
        let _ = std::fs::remove_file(&file);
    }
    eprintln!("[e2e] screenshots: import-upload, import-preview, import-result (-desktop, -phone) in {}", shots.display());
}

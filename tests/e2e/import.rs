//! Import (API.md §4, Import; §9): CSV files through the create path, previewed with
//! `?dryRun=true`. Each file's preview is checked against what its import then does (the same
//! counts, the same decision for every row), and a second import of the same file creates
//! nothing. The files: a HubSpot contacts export (its own header names), a semicolon file with a
//! byte order mark and line breaks inside quoted cells, a file holding the same people twice,
//! and a file whose rows are records Enginy created through the API (by email, by LinkedIn, by
//! domain). Bad rows are reported with their row numbers and the rest is imported.

use serde_json::{json, Value};

use crate::harness::{unique, Client, Key, Resp};
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("import::a_hubspot_contacts_export_is_previewed_imported_and_imported_again", a_hubspot_contacts_export_is_previewed_imported_and_imported_again),
    ("import::a_semicolon_file_with_a_bom_and_quoted_line_breaks", a_semicolon_file_with_a_bom_and_quoted_line_breaks),
    ("import::rows_repeated_inside_the_file_are_one_record", rows_repeated_inside_the_file_are_one_record),
    ("import::rows_are_the_records_enginy_created_by_email_linkedin_and_domain", rows_are_the_records_enginy_created_by_email_linkedin_and_domain),
    ("import::files_that_cannot_be_read_are_refused_saying_why", files_that_cannot_be_read_are_refused_saying_why),
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

fn row<'a>(answer: &'a Value, number: u64) -> &'a Value {
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

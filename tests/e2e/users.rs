//! Users (API.md §8): owners, upserted by email; `GET /users` answers `404` while there are none,
//! which Enginy reads as "owner assignment off".

use serde_json::{json, Value};

use crate::harness::Key;
use crate::tasks::ok;
use crate::App;

pub const TESTS: &[(&str, crate::TestFn)] = &[
    ("users::users_flip_from_404_and_own_records", users_flip_from_404_and_own_records),
];

fn users_flip_from_404_and_own_records(app: &App) {
    // The users server starts with no user at all.
    let c = &app.users;
    let none = c.get("/users");
    assert_eq!(none.status, 404, "{}", none.text());
    app.conforms("/users", "GET", &none);
    // With no users, any ownerId is accepted (owners are off).
    let free = ok(c.json("POST", "/contacts", &json!({"contacts": [{"firstName": "Free", "ownerId": "anyone"}]})));
    assert_eq!(free["results"][0]["created"], true, "{free}");
    let free = free["results"][0]["crmId"].as_str().unwrap().to_string();

    let resp = c.json("POST", "/users", &json!({"name": "John Smith", "email": "John@Example.com"}));
    app.conforms("/users", "POST", &resp);
    let john = ok(resp);
    assert!(john["id"].as_str().unwrap().starts_with("us_"));
    let list = c.get("/users");
    app.conforms("/users", "GET", &list);
    assert_eq!(ok(list), json!([{"id": john["id"], "name": "John Smith", "email": "John@Example.com"}]));
    // Upsert by email: the same user, renamed.
    let again = ok(c.json("POST", "/users", &json!({"users": [{"name": "John S.", "email": "john@example.com"}, {"email": "not-an-email"}]})));
    assert_eq!(again["results"][0]["id"], john["id"]);
    assert_eq!(again["errors"][0]["field"], "email");
    assert_eq!(c.json("POST", "/users", &json!({"name": "x"})).status, 400);
    // An upsert that sends no name keeps the stored one; properties merge.
    let kept = ok(c.json("POST", "/users", &json!({"email": "JOHN@example.com", "team": "north"})));
    assert_eq!((kept["id"].clone(), kept["name"].clone()), (john["id"].clone(), json!("John S.")), "{kept}");
    assert_eq!(ok(c.get("/users")).as_array().unwrap().len(), 1, "still one user");

    // Now owners are checked.
    let id = john["id"].as_str().unwrap();
    let body = ok(c.json("POST", "/contacts", &json!({"contacts": [{"firstName": "Owned", "ownerId": id}, {"firstName": "Bad", "ownerId": "us_nobody"}]})));
    // One code per cause: an unknown owner is `not_found` on contacts as on tasks.
    assert_eq!((body["errors"][0]["code"].as_str(), body["errors"][0]["field"].as_str()), (Some("not_found"), Some("ownerId")), "{body}");
    let task_err = ok(c.json("POST", "/tasks", &json!({"tasks": [{"subject": "x", "ownerId": "us_nobody"}]})));
    assert_eq!(task_err["errors"][0]["code"], body["errors"][0]["code"], "{task_err}");
    assert_eq!(task_err["errors"][0]["error"], body["errors"][0]["error"], "the same words too");
    let owned = body["results"][0]["crmId"].as_str().unwrap().to_string();
    assert_eq!(c.json("POST", "/tasks", &json!({"subject": "x", "ownerId": "us_nobody"})).status, 400);
    let task = ok(c.json("POST", "/tasks", &json!({"subject": "Owned task", "ownerId": id})));
    let activity = ok(c.json("POST", "/activities", &json!({"type": "EMAIL", "ownerId": id, "contactId": owned})));
    assert_eq!((task["ownerId"].as_str(), activity["ownerId"].as_str()), (Some(id), Some(id)));

    // Deleting a user that does not exist changes nothing, not even records that name it as
    // owner from before owners were checked.
    let resp = c.send("DELETE", "/users/anyone", Key::Valid, &[], None);
    assert_eq!(resp.status, 404, "{}", resp.text());
    assert_eq!(ok(c.get(&format!("/contacts/{free}")))["ownerId"], "anyone");
    let history = ok(c.get(&format!("/contacts/{free}/history")));
    assert!(history["history"].as_array().unwrap().iter().all(|h| h["field"] != "ownerId"), "{history}");

    let resp = c.send("DELETE", &format!("/users/{id}"), Key::Valid, &[], None);
    assert_eq!(resp.status, 200, "{}", resp.text());
    let record = ok(c.get(&format!("/contacts/{owned}")));
    assert_eq!(record["ownerId"], Value::Null, "the owner is cleared, not dangling");
    let task = ok(c.get(&format!("/tasks/{}", task["id"].as_str().unwrap())));
    let activity = ok(c.get(&format!("/activities/{}", activity["id"].as_str().unwrap())));
    assert_eq!((task["ownerId"].clone(), activity["ownerId"].clone()), (Value::Null, Value::Null));
    let task_history = ok(c.get(&format!("/tasks/{}/history", task["id"].as_str().unwrap())));
    assert!(task_history["history"].as_array().unwrap().iter().any(|h| h["field"] == "ownerId" && h["oldValue"] == id), "{task_history}");
    let history = ok(c.get(&format!("/contacts/{owned}/history")));
    let change = history["history"].as_array().unwrap().iter().find(|h| h["field"] == "ownerId").expect("owner change in history");
    assert_eq!(change["oldValue"], id);
    assert_eq!(c.send("DELETE", &format!("/users/{id}"), Key::Valid, &[], None).status, 404);
    assert_eq!(c.get("/users").status, 404, "no users again");
}

//! The pages' forms (API.md §9). A post is first proved to come from a page this server made for
//! this browser's session and person (`domain::pages::form::check_post`); the pure core then
//! turns it into the API's own request (`domain::pages::edit`), which runs through the API's own
//! handler, under the form's `formId` as its `Idempotency-Key` (a double submit writes once) and
//! with the person as history's actor. Done, the browser goes back where the form said (`303`);
//! refused, the page is drawn again with what was typed and what is wrong.

use serde_json::{json, Value};
use worker::Request;

use super::super::associations::{self, LinkWrite};
use super::super::context::{now, HandlerResult};
use super::super::{activities, idempotency, merge, records, tasks, Ctx};
use super::answer::Answer;
use super::views;
use super::Page;
use crate::domain::error::ApiError;
use crate::domain::idempotency::{fingerprint, is_pending, replay, Replay};
use crate::domain::matching::MatchField;
use crate::domain::pages::edit::{
    api_problems, back_to, is_crm_id, link_body, other_input, plan_activity, plan_edit, plan_link, plan_task, plan_task_action, stale_task, value, Edit,
    FieldError, FormName, FormState, Notice,
};
use crate::domain::pages::form::{form_key_of, parse_form};
use crate::domain::pages::html::url_encode;
use crate::domain::pages::merge::{merge_body, merge_refused, review_href};
use crate::domain::pages::parts::record_href;
use crate::domain::record::{KeySet, RecordKind};
use crate::domain::request::check_declared_length;
use crate::domain::routes::RouteId;
use crate::domain::sync::Links;

type FormResult = Result<Answer, ApiError>;
type Form = Vec<(String, String)>;

/// One line per form: where each form's code lives.
pub async fn serve(page: &mut Page<'_>, route: RouteId, mut req: Request) -> FormResult {
    // A file comes as `multipart/form-data`, read by the import page itself.
    if let RouteId::PageImportUpload(kind) = route {
        return super::import::upload(page, kind, req).await;
    }
    let form = match read(page, &mut req).await? {
        Ok(form) => form,
        Err(refused) => return Ok(refused),
    };
    match route {
        RouteId::PageRecordEdit(kind) => edit(page, kind, &form).await,
        RouteId::PageActivity(kind) => log_activity(page, kind, &form).await,
        RouteId::PageTaskCreate(kind) => create_task(page, kind, &form).await,
        RouteId::PageTask => task(page, &form).await,
        RouteId::PageLinks(kind) => link(page, kind, &form).await,
        RouteId::PageRecordDelete(kind) => delete(page, kind, &form).await,
        RouteId::PageMerge(kind) => merge_form(page, kind, &form).await,
        RouteId::PageMergeUndo(kind) => undo_form(page, kind, &form).await,
        RouteId::PageImportStart(kind) => super::import::start(page, kind).await,
        other => unreachable!("{other:?} takes no form"),
    }
}

/// A page form's fields, once the post proved it came from a page this server rendered for this
/// browser's session and person; otherwise the page that refuses it (`403`, `413`, `415`),
/// nothing written.
async fn read(page: &Page<'_>, req: &mut Request) -> Result<Result<Form, Answer>, ApiError> {
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let content_type = header("Content-Type").unwrap_or_default();
    if !content_type.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
        return Ok(Err(page.message(415, "Not a form", "This address takes the form of a page of this site.")));
    }
    check_declared_length(header("Content-Length").as_deref(), page.ctx.config.max_body_bytes)?;
    let bytes = req.bytes().await.map_err(|e| ApiError::bad_request(format!("could not read the form: {e}")))?;
    if bytes.len() > page.ctx.config.max_body_bytes {
        return Ok(Err(page.message(413, "Too large", "The form is larger than this server takes.")));
    }
    let fields = parse_form(&bytes);
    match page.refuse_post(req, value(&fields, "token")) {
        None => Ok(Ok(fields)),
        Some(refused) => Ok(Err(refused)),
    }
}

/// Runs an API handler for a form, as the person, with `body` as its request body, under the
/// form's `formId` as the `Idempotency-Key` (so the same form sent twice writes once and answers
/// the same). Answers the API's status and JSON.
/// The form itself is the fingerprint of the key (a second submit of one form is the same form,
/// even where its body holds the time it was sent).
async fn as_api(page: &mut Page<'_>, form: &Form, pattern: &str, body: Value, handler: impl AsyncFnOnce(&Ctx<'_>) -> HandlerResult) -> Result<(u16, Value), ApiError> {
    page.ctx.store.act_as(page.ctx.request_id, page.person.actor());
    let bytes = serde_json::to_vec(form).unwrap_or_default();
    page.ctx.body = Some(body);
    // A form with its key is keyed like a request with an Idempotency-Key.
    page.ctx.keyed = form_key_of(form).is_some();
    let ctx = &page.ctx;
    let outcome = match form_key_of(form) {
        Some(key) => {
            let print = fingerprint("POST", pattern, &ctx.params, &bytes);
            match idempotency::run(ctx, &key, pattern, &print, handler(ctx)).await {
                // Sent again while the first send is still being written (a double click): wait
                // for its answer rather than draw the form again under a new key, whose next
                // send would write a second time.
                Err(e) if is_pending(&e) => first_answer(ctx, &key, &print).await,
                outcome => outcome,
            }
        }
        None => handler(ctx).await,
    };
    match outcome {
        Ok(mut response) => {
            let status = response.status_code();
            let text = response.text().await?;
            Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
        }
        Err(e @ (ApiError::BadRequest { .. } | ApiError::NotFound(_) | ApiError::Conflict(_) | ApiError::Unprocessable(_))) => {
            Ok((e.status(), e.body(ctx.request_id)))
        }
        Err(e) => Err(e),
    }
}

/// The answer of the first send of a form whose key is taken, once it is kept: looked for 10
/// times, 300 ms apart; past that, `503` with `Retry-After` (a page that offers no form: reloaded,
/// it sends this same form again, under its own key).
async fn first_answer(ctx: &Ctx<'_>, key: &str, print: &str) -> HandlerResult {
    for _ in 0..10 {
        worker::Delay::from(std::time::Duration::from_millis(300)).await;
        let Some(used) = ctx.store.used_key(key).await? else { break };
        match replay(&used, print) {
            Replay::Answer { status, body } => return super::super::respond::raw_json(&body, status),
            Replay::Refuse(e) if is_pending(&e) => continue,
            Replay::Refuse(e) => return Err(e),
        }
    }
    Err(ApiError::Busy { message: "this form is still being saved from your first click: reload the page in a moment".into(), retry_after: 2 })
}

/// The record page again, with a refused form as the person left it.
async fn refused(page: &Page<'_>, kind: RecordKind, form_name: FormName, form: &Form, errors: Vec<FieldError>) -> FormResult {
    views::record(page, kind, page.ctx.params[0], Some(FormState::invalid(form_name, form, errors))).await
}

fn done(page: &Page<'_>, kind: RecordKind, form: &Form, notice: Notice) -> Answer {
    Answer::redirect(303, back_to(value(form, "back"), &record_href(kind, page.ctx.params[0]), notice))
}

/// The edit form: the fields the person changed, if nobody changed them since the form was
/// opened, through `PUT /{kind}` (one statement to read the record, then the update's own).
async fn edit(page: &mut Page<'_>, kind: RecordKind, form: &Form) -> FormResult {
    let id = page.ctx.params[0];
    let Some(stored) = page.ctx.store.one(kind, id).await? else {
        return views::record(page, kind, id, None).await;
    };
    match plan_edit(kind, id, form, &stored.fields, &stored.properties) {
        Edit::Unchanged => Ok(done(page, kind, form, Notice::Unchanged)),
        Edit::Invalid(errors) => refused(page, kind, FormName::Edit, form, errors).await,
        Edit::Stale(conflicts) => {
            let state = FormState { form: FormName::Edit, typed: form.clone(), errors: Vec::new(), conflicts };
            views::record(page, kind, id, Some(state)).await
        }
        Edit::Save { body, .. } => {
            let pattern = format!("/{}", kind.collection());
            let (_, answer) = as_api(page, form, &pattern, body, async |ctx| records::update(ctx, kind).await).await?;
            match api_problems(&answer, "title") {
                problems if problems.is_empty() => Ok(done(page, kind, form, Notice::Saved)),
                problems => refused(page, kind, FormName::Edit, form, problems).await,
            }
        }
    }
}

/// A note or a call, owned by the person, through `POST /activities`.
async fn log_activity(page: &mut Page<'_>, kind: RecordKind, form: &Form) -> FormResult {
    let owner = page.user.as_ref().map(|u| u.id.clone());
    let activity = match plan_activity(kind, page.ctx.params[0], form, owner.as_deref(), &now()) {
        Ok(activity) => activity,
        Err(errors) => return refused(page, kind, FormName::Activity, form, errors).await,
    };
    let notice = if activity["type"] == "CALL" { Notice::CallLogged } else { Notice::NoteLogged };
    let (status, answer) = as_api(page, form, "/activities", activity, async |ctx| activities::log(ctx).await).await?;
    match status {
        200 => Ok(done(page, kind, form, notice)),
        _ => refused(page, kind, FormName::Activity, form, api_problems(&answer, "body")).await,
    }
}

/// A task on this record, through `POST /tasks`.
async fn create_task(page: &mut Page<'_>, kind: RecordKind, form: &Form) -> FormResult {
    let me = page.user.as_ref().map(|u| u.id.clone());
    let task = match plan_task(kind, page.ctx.params[0], form, me.as_deref()) {
        Ok(task) => task,
        Err(errors) => return refused(page, kind, FormName::Task, form, errors).await,
    };
    let (status, answer) = as_api(page, form, "/tasks", task, async |ctx| tasks::create(ctx).await).await?;
    match status {
        200 => Ok(done(page, kind, form, Notice::TaskCreated)),
        _ => refused(page, kind, FormName::Task, form, api_problems(&answer, "subject")).await,
    }
}

/// Complete, reopen, reschedule or reassign a task, through `PATCH /tasks/{id}` (one statement
/// reads the task first). A reschedule or reassignment made over someone else's change of that
/// same field is refused, both values named (`edit::stale_task`).
async fn task(page: &mut Page<'_>, form: &Form) -> FormResult {
    let id = page.ctx.params[0];
    let back = value(form, "back").filter(|b| b.starts_with("/view/")).unwrap_or("/view/work").to_string();
    let Some(stored) = page.ctx.store.tasks_by_ids(&[id]).await?.pop() else {
        return Ok(page.message(404, "Task not found", &format!("There is no task with the id {id}. It may have been deleted.")));
    };
    let action = match plan_task_action(form, stored.due_date.as_deref()) {
        Ok(action) => action,
        Err(problem) => return Ok(task_refused(page, &back, 400, &problem.message)),
    };
    if let Some(message) = stale_task(form, stored.due_date.as_deref(), stored.owner_id.as_deref()) {
        return Ok(task_refused(page, &back, 409, &message));
    }
    let (status, answer) = as_api(page, form, "/tasks/{id}", action.patch, async |ctx| tasks::update(ctx).await).await?;
    match status {
        200 => Ok(Answer::redirect(303, back_to(Some(&back), "/view/work", action.notice))),
        status => {
            let problem = api_problems(&answer, "task").into_iter().next().map(|p| p.message).unwrap_or_default();
            Ok(task_refused(page, &back, status, &problem))
        }
    }
}

fn task_refused(page: &Page<'_>, back: &str, status: u16, message: &str) -> Answer {
    let title = if status == 409 { "Error: the task changed" } else { "Error: the task was not changed" };
    let mut answer = page.message(status, title, message);
    let link = format!("<p><a href=\"{}\">Back to where you were</a></p></section>", crate::domain::pages::html::escape(back));
    answer.body = answer.body.replacen("</section>", &link, 1);
    answer
}

/// Add or remove a link, through `POST`/`DELETE /associations`. The other record is named by
/// its CRM id, or looked up by its domain (a company) or email (a contact): one statement.
async fn link(page: &mut Page<'_>, kind: RecordKind, form: &Form) -> FormResult {
    let wanted = match plan_link(kind, form) {
        Ok(wanted) => wanted,
        Err(problem) => return refused(page, kind, FormName::Link, form, vec![problem]).await,
    };
    let other_kind = match kind {
        RecordKind::Contact => RecordKind::Company,
        RecordKind::Company => RecordKind::Contact,
    };
    let other = match is_crm_id(kind, &wanted.other) {
        true => wanted.other.clone(),
        false => match find_other(page, other_kind, &wanted.other).await? {
            Ok(id) => id,
            Err(problem) => return refused(page, kind, FormName::Link, form, vec![FieldError::new(other_input(kind), problem)]).await,
        },
    };
    let body = link_body(kind, page.ctx.params[0], &other, wanted.link_type);
    let (how, notice) = if wanted.remove { (LinkWrite::Remove, Notice::Unlinked) } else { (LinkWrite::Add, Notice::Linked) };
    let (_, answer) = as_api(page, form, "/associations", body, async |ctx| associations::write(ctx, how).await).await?;
    match answer["success"] == json!(true) {
        true => Ok(done(page, kind, form, notice)),
        false => refused(page, kind, FormName::Link, form, api_problems(&answer, other_input(kind))).await,
    }
}

/// The one live record of `kind` holding `text` as its domain (companies) or email (contacts).
async fn find_other(page: &Page<'_>, kind: RecordKind, text: &str) -> Result<Result<String, String>, ApiError> {
    let (field, source) = match kind {
        RecordKind::Company => (MatchField::Domain, "domain"),
        RecordKind::Contact => (MatchField::Email, "email"),
    };
    let keys = KeySet::of(kind, &serde_json::Map::from_iter([(source.to_string(), json!(text))]));
    let lookups: Vec<(MatchField, String)> = keys.keys(field).map(|k| (field, k.to_string())).collect();
    if lookups.is_empty() {
        return Ok(Err(format!("“{text}” is neither a CRM id nor a {source}")));
    }
    let found = page.ctx.store.candidates(kind, &[], &lookups, &[], Links::Deciding).await?;
    Ok(match found.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err(format!("No {} has the {source} {text}", kind.noun().to_lowercase())),
        many => Err(format!("{} records have the {source} {text}: use the CRM id of the one you mean", many.len())),
    })
}

/// The confirmed deletion, through `DELETE /{kind}/{id}`; back to the dashboard.
async fn delete(page: &mut Page<'_>, kind: RecordKind, form: &Form) -> FormResult {
    let pattern = format!("/{}/{{id}}", kind.collection());
    let (status, answer) = as_api(page, form, &pattern, Value::Null, async |ctx| records::delete(ctx, kind).await).await?;
    match status {
        200 => Ok(Answer::redirect(303, back_to(Some("/view/"), "/view/", Notice::Deleted))),
        _ => Ok(page.message(status, "Not deleted", answer["error"].as_str().unwrap_or("The record could not be deleted."))),
    }
}

/// The ids of an answer's list `name`, joined for a page address.
fn id_list(answer: &Value, name: &str) -> String {
    let ids: Vec<String> = answer[name].as_array().into_iter().flatten().filter_map(|v| v.as_str()).map(url_encode).collect();
    ids.join(",")
}

/// The review page's form: the API's merge with what the form chose. Done, it sends the browser
/// to the record that stayed (which offers to undo it); refused by the merge, it says why.
async fn merge_form(page: &mut Page<'_>, kind: RecordKind, form: &Form) -> FormResult {
    let pattern = format!("/{}/merge", kind.collection());
    let (status, answer) = as_api(page, form, &pattern, merge_body(form), async |ctx| {
        let request = crate::domain::merge::MergeRequest::parse(kind, ctx.body())?;
        super::super::respond::json(&merge::run(ctx, kind, &request).await?, 200)
    })
    .await?;
    if status == 200 {
        let survivor = answer["crmId"].as_str().unwrap_or_default();
        let merge_id = answer["mergeId"].as_str().unwrap_or_default();
        let to = format!("{}?merged={}&merge={}", record_href(kind, survivor), id_list(&answer, "mergedIds"), url_encode(merge_id));
        return Ok(Answer::redirect(303, to));
    }
    let ids: Vec<&str> = form.iter().filter(|(k, _)| k == "ids").map(|(_, v)| v.as_str()).collect();
    let message = format!("{} Nothing was changed.", answer["error"].as_str().unwrap_or("The merge was refused."));
    Ok(Answer::page(status, merge_refused(&page.shell, "Not merged", &message, Some(&review_href(kind, &ids)))))
}

/// The record page's "Undo this merge" form: the API's undo. Done, it sends the browser to the
/// record that had stayed, with a notice naming the records restored; refused, it says why.
async fn undo_form(page: &mut Page<'_>, kind: RecordKind, form: &Form) -> FormResult {
    let merge_id = value(form, "merge").unwrap_or_default().to_string();
    let pattern = format!("/{}/merge/{{id}}/undo", kind.collection());
    let (status, answer) = as_api(page, form, &pattern, json!({"merge": merge_id}), async |ctx| {
        super::super::respond::json(&merge::run_undo(ctx, kind, &merge_id).await?, 200)
    })
    .await?;
    if status == 200 {
        let survivor = answer["crmId"].as_str().unwrap_or_default();
        return Ok(Answer::redirect(303, format!("{}?restored={}", record_href(kind, survivor), id_list(&answer, "restoredIds"))));
    }
    let message = format!("{} Nothing was changed.", answer["error"].as_str().unwrap_or("The merge was not undone."));
    Ok(Answer::page(status, merge_refused(&page.shell, "Not undone", &message, None)))
}

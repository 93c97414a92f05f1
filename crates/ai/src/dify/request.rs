//! A chat request as a Dify app takes it, and a Dify app request read back as one.

use super::{query, App, Kind, DEFAULT_USER};
use crate::chat::{ImageSource, Invalid, Message, Part, Request, Role};
use crate::json::{object, Loc, Obj};
use serde_json::{Map, Value};

/// Writes the request `app` takes (see the module's documentation): the conversation
/// flattened by [`query`], `response_mode`, `user`. Images given by URL go as `files`
/// (`{type: image, transfer_method: remote_url, url}`; Go dropped them); an inline image is
/// [`Invalid`]: Dify takes only uploaded files besides URLs. Tools, tool choice and sampling
/// parameters have no place in an app's API (the app has its own): they are not sent, as in
/// Go.
pub fn write_request(app: &App, request: &Request) -> Result<Value, Invalid> {
    let files = files(request)?;
    let mode = if request.stream { "streaming" } else { "blocking" };
    let user = request.params.user.as_deref().filter(|u| !u.is_empty()).unwrap_or(DEFAULT_USER);
    let text = query(request);
    let mut body = Map::new();
    match app.kind {
        Kind::Chat | Kind::Agent => {
            body.insert("inputs".into(), Value::Object(Map::new()));
            body.insert("query".into(), text.into());
            body.insert("response_mode".into(), mode.into());
            body.insert("user".into(), user.into());
            body.insert("auto_generate_name".into(), false.into());
            body.insert("conversation_id".into(), "".into());
        }
        Kind::Completion | Kind::Workflow => {
            let mut inputs = Map::new();
            inputs.insert(app.input().to_string(), text.into());
            body.insert("inputs".into(), Value::Object(inputs));
            body.insert("response_mode".into(), mode.into());
            body.insert("user".into(), user.into());
        }
    }
    if !files.is_empty() && app.kind != Kind::Workflow {
        body.insert("files".into(), Value::Array(files));
    }
    Ok(Value::Object(body))
}

/// The images of the conversation, as remote files.
fn files(request: &Request) -> Result<Vec<Value>, Invalid> {
    let mut files = Vec::new();
    for (index, message) in request.messages.iter().enumerate() {
        for part in &message.parts {
            match part {
                Part::Image { source: ImageSource::Url(url), .. } => files.push(object([
                    ("type", "image".into()),
                    ("transfer_method", "remote_url".into()),
                    ("url", url.as_str().into()),
                ])),
                Part::Image { source: ImageSource::Base64 { .. }, .. } => {
                    return Err(Invalid(format!(
                        "messages[{index}]: Dify takes images by URL only (an inline image must be uploaded to Dify)"
                    )))
                }
                _ => {}
            }
        }
    }
    Ok(files)
}

/// Reads a Dify app request (a client speaking Dify's API): its text (`query`, else the one
/// text of `inputs`) as one user message, `response_mode`, `user`. Dify names no model: the
/// request's is empty.
pub fn read_request(body: &Value) -> Result<Request, Invalid> {
    let root = Obj::new(body, Loc::Root)?;
    let text = match root.str("query")? {
        Some(query) if !query.is_empty() => query.to_string(),
        _ => match root.obj("inputs")? {
            Some(inputs) => {
                let texts: Vec<&str> =
                    inputs.value().as_object().into_iter().flatten().filter_map(|(_, v)| v.as_str()).collect();
                texts.join("\n")
            }
            None => String::new(),
        },
    };
    if text.is_empty() {
        return Err(root.at("query").invalid("a text (or an input variable holding one)"));
    }
    let stream = match root.str("response_mode")? {
        None | Some("blocking") => false,
        Some("streaming") => true,
        Some(_) => return Err(root.at("response_mode").invalid("blocking or streaming")),
    };
    let mut request = Request {
        messages: vec![Message { role: Role::User, parts: vec![Part::Text { text, cache: None }], name: None }],
        stream,
        ..Request::default()
    };
    request.params.user = root.str("user")?.map(str::to_string);
    Ok(request)
}

//! Which API a request calls, from its path: Higress's API names (`openai/v1/chatcompletions`,
//! the keys of `capabilities`) and how a request path is recognised as one.

/// An API a client may call through the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Completion,
    ChatCompletion,
    Embeddings,
    ImageGeneration,
    ImageEdit,
    ImageVariation,
    AudioSpeech,
    AudioTranscription,
    AudioTranslation,
    Realtime,
    Files,
    RetrieveFile,
    RetrieveFileContent,
    Batches,
    RetrieveBatch,
    CancelBatch,
    Models,
    Responses,
    FineTuningJobs,
    RetrieveFineTuningJob,
    FineTuningJobEvents,
    FineTuningJobCheckpoints,
    CancelFineTuningJob,
    ResumeFineTuningJob,
    PauseFineTuningJob,
    FineTuningCheckpointPermissions,
    DeleteFineTuningCheckpointPermission,
    Videos,
    RetrieveVideo,
    VideoRemix,
    RetrieveVideoContent,
    CohereRerank,
    QwenRerank,
    QwenConversations,
    QwenAsyncAigc,
    QwenAsyncTask,
    GeminiGenerateContent,
    GeminiStreamGenerateContent,
    AnthropicMessages,
    AnthropicComplete,
}

use Api::*;

/// Paths recognised by their end, in the order Higress tries them.
const SUFFIXES: &[(&str, Api)] = &[
    ("/v1/chat/completions", ChatCompletion),
    ("/v1/completions", Completion),
    ("/v1/embeddings", Embeddings),
    ("/v1/audio/speech", AudioSpeech),
    ("/v1/audio/transcriptions", AudioTranscription),
    ("/v1/audio/translations", AudioTranslation),
    ("/v1/realtime", Realtime),
    ("/v1/images/generations", ImageGeneration),
    ("/v1/images/variations", ImageVariation),
    ("/v1/images/edits", ImageEdit),
    ("/v1/batches", Batches),
    ("/v1/files", Files),
    ("/v1/models", Models),
    ("/v1/fine_tuning/jobs", FineTuningJobs),
    ("/v1/responses", Responses),
    ("/v1/videos", Videos),
    ("/v1/messages", AnthropicMessages),
    ("/v1/complete", AnthropicComplete),
    ("/v1/rerank", CohereRerank),
    ("/v1/reranks", QwenRerank),
    ("/v1/conversations", QwenConversations),
];

/// Paths with ids, recognised by their last segments (`{x}` is any one segment), in the
/// order Higress tries its patterns.
const PATTERNS: &[(&str, Api)] = &[
    ("/v1/batches/{batch_id}", RetrieveBatch),
    ("/v1/batches/{batch_id}/cancel", CancelBatch),
    ("/v1/files/{file_id}", RetrieveFile),
    ("/v1/files/{file_id}/content", RetrieveFileContent),
    ("/v1/videos/{video_id}", RetrieveVideo),
    ("/v1/videos/{video_id}/content", RetrieveVideoContent),
    ("/v1/videos/{video_id}/remix", VideoRemix),
    ("/v1/fine_tuning/jobs/{fine_tuning_job_id}", RetrieveFineTuningJob),
    ("/v1/fine_tuning/jobs/{fine_tuning_job_id}/events", FineTuningJobEvents),
    ("/v1/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints", FineTuningJobCheckpoints),
    ("/v1/fine_tuning/jobs/{fine_tuning_job_id}/cancel", CancelFineTuningJob),
    ("/v1/fine_tuning/jobs/{fine_tuning_job_id}/resume", ResumeFineTuningJob),
    ("/v1/fine_tuning/jobs/{fine_tuning_job_id}/pause", PauseFineTuningJob),
    ("/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions", FineTuningCheckpointPermissions),
    (
        "/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions/{permission_id}",
        DeleteFineTuningCheckpointPermission,
    ),
];

/// Every API with its Higress name.
const NAMES: &[(Api, &str)] = &[
    (Completion, "openai/v1/completions"),
    (ChatCompletion, "openai/v1/chatcompletions"),
    (Embeddings, "openai/v1/embeddings"),
    (ImageGeneration, "openai/v1/imagegeneration"),
    (ImageEdit, "openai/v1/imageedit"),
    (ImageVariation, "openai/v1/imagevariation"),
    (AudioSpeech, "openai/v1/audiospeech"),
    (AudioTranscription, "openai/v1/audiotranscription"),
    (AudioTranslation, "openai/v1/audiotranslation"),
    (Realtime, "openai/v1/realtime"),
    (Files, "openai/v1/files"),
    (RetrieveFile, "openai/v1/retrievefile"),
    (RetrieveFileContent, "openai/v1/retrievefilecontent"),
    (Batches, "openai/v1/batches"),
    (RetrieveBatch, "openai/v1/retrievebatch"),
    (CancelBatch, "openai/v1/cancelbatch"),
    (Models, "openai/v1/models"),
    (Responses, "openai/v1/responses"),
    (FineTuningJobs, "openai/v1/fine-tuningjobs"),
    (RetrieveFineTuningJob, "openai/v1/retrievefine-tuningjob"),
    (FineTuningJobEvents, "openai/v1/fine-tuningjobsevents"),
    (FineTuningJobCheckpoints, "openai/v1/fine-tuningjobcheckpoints"),
    (CancelFineTuningJob, "openai/v1/cancelfine-tuningjob"),
    (ResumeFineTuningJob, "openai/v1/resumefine-tuningjob"),
    (PauseFineTuningJob, "openai/v1/pausefine-tuningjob"),
    (FineTuningCheckpointPermissions, "openai/v1/fine-tuningjobcheckpointpermissions"),
    (DeleteFineTuningCheckpointPermission, "openai/v1/deletefine-tuningjobcheckpointpermission"),
    (Videos, "openai/v1/videos"),
    (RetrieveVideo, "openai/v1/retrievevideo"),
    (VideoRemix, "openai/v1/videoremix"),
    (RetrieveVideoContent, "openai/v1/retrievevideocontent"),
    (CohereRerank, "cohere/v1/rerank"),
    (QwenRerank, "qwen/v1/rerank"),
    (QwenConversations, "qwen/v1/conversations"),
    (QwenAsyncAigc, "qwen/v1/services/aigc"),
    (QwenAsyncTask, "qwen/v1/tasks"),
    (GeminiGenerateContent, "gemini/v1beta/generatecontent"),
    (GeminiStreamGenerateContent, "gemini/v1beta/streamgeneratecontent"),
    (AnthropicMessages, "anthropic/v1/messages"),
    (AnthropicComplete, "anthropic/v1/complete"),
];

/// The APIs `capabilities` may name (Higress ignores the others).
pub const CONFIGURABLE: &[Api] = &[
    ChatCompletion,
    Embeddings,
    ImageGeneration,
    ImageVariation,
    ImageEdit,
    AudioSpeech,
    AudioTranscription,
    AudioTranslation,
    Realtime,
    Responses,
    CohereRerank,
    Videos,
    RetrieveVideo,
    RetrieveVideoContent,
    VideoRemix,
];

/// OpenAI's own path of each API OpenAI has (the `openai` provider's table, and the base of
/// Azure's and of custom URLs).
pub const OPENAI_PATHS: &[(Api, &str)] = &[
    (Completion, "/v1/completions"),
    (ChatCompletion, "/v1/chat/completions"),
    (Embeddings, "/v1/embeddings"),
    (ImageGeneration, "/v1/images/generations"),
    (ImageEdit, "/v1/images/edits"),
    (ImageVariation, "/v1/images/variations"),
    (AudioSpeech, "/v1/audio/speech"),
    (AudioTranscription, "/v1/audio/transcriptions"),
    (AudioTranslation, "/v1/audio/translations"),
    (Realtime, "/v1/realtime"),
    (Models, "/v1/models"),
    (Files, "/v1/files"),
    (RetrieveFile, "/v1/files/{file_id}"),
    (RetrieveFileContent, "/v1/files/{file_id}/content"),
    (Batches, "/v1/batches"),
    (RetrieveBatch, "/v1/batches/{batch_id}"),
    (CancelBatch, "/v1/batches/{batch_id}/cancel"),
    (Responses, "/v1/responses"),
    (FineTuningJobs, "/v1/fine_tuning/jobs"),
    (RetrieveFineTuningJob, "/v1/fine_tuning/jobs/{fine_tuning_job_id}"),
    (FineTuningJobEvents, "/v1/fine_tuning/jobs/{fine_tuning_job_id}/events"),
    (FineTuningJobCheckpoints, "/v1/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints"),
    (CancelFineTuningJob, "/v1/fine_tuning/jobs/{fine_tuning_job_id}/cancel"),
    (ResumeFineTuningJob, "/v1/fine_tuning/jobs/{fine_tuning_job_id}/resume"),
    (PauseFineTuningJob, "/v1/fine_tuning/jobs/{fine_tuning_job_id}/pause"),
    (FineTuningCheckpointPermissions, "/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions"),
    (
        DeleteFineTuningCheckpointPermission,
        "/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions/{permission_id}",
    ),
    (Videos, "/v1/videos"),
    (RetrieveVideo, "/v1/videos/{video_id}"),
    (VideoRemix, "/v1/videos/{video_id}/remix"),
    (RetrieveVideoContent, "/v1/videos/{video_id}/content"),
];

impl Api {
    /// Higress's name of the API (the keys of `capabilities`).
    pub fn name(self) -> &'static str {
        NAMES.iter().find(|(api, _)| *api == self).map_or("", |(_, name)| name)
    }

    /// The API named `name`.
    pub fn named(name: &str) -> Option<Api> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(api, _)| *api)
    }

    /// The API a request path (without its query) calls: by its end first, then by the
    /// patterns with ids, as Higress does.
    pub fn of_path(path: &str) -> Option<Api> {
        if let Some((_, api)) = SUFFIXES.iter().find(|(suffix, _)| path.ends_with(suffix)) {
            return Some(*api);
        }
        if let Some((_, api)) = PATTERNS.iter().find(|(pattern, _)| ids(pattern, path).is_some()) {
            return Some(*api);
        }
        gemini(path)
    }

    /// Whether Higress reads (and may change) the body of this API.
    pub fn has_model_body(self) -> bool {
        matches!(
            self,
            ChatCompletion
                | Videos
                | VideoRemix
                | Completion
                | Embeddings
                | ImageGeneration
                | ImageEdit
                | ImageVariation
                | AudioSpeech
                | FineTuningJobs
                | Responses
                | GeminiGenerateContent
                | GeminiStreamGenerateContent
                | AnthropicMessages
        )
    }

    /// Whether a request to this API may ask for a stream (`stream: true` in its body).
    pub fn may_stream(self) -> bool {
        matches!(
            self,
            Completion
                | ChatCompletion
                | ImageGeneration
                | ImageEdit
                | Responses
                | QwenAsyncAigc
                | AnthropicMessages
                | AnthropicComplete
                | GeminiStreamGenerateContent
        )
    }

    /// Whether the key choice sticks to the consumer (Higress: APIs whose later calls must
    /// reach the account that made the earlier ones - responses, files, batches, fine-tuning).
    pub fn is_stateful(self) -> bool {
        matches!(
            self,
            Responses
                | Files
                | RetrieveFile
                | RetrieveFileContent
                | Batches
                | RetrieveBatch
                | CancelBatch
                | FineTuningJobs
                | RetrieveFineTuningJob
                | FineTuningJobEvents
                | FineTuningJobCheckpoints
                | CancelFineTuningJob
                | ResumeFineTuningJob
        )
    }
}

/// Gemini's `/{version}/models/{model}:generateContent` and `:streamGenerateContent`.
fn gemini(path: &str) -> Option<Api> {
    let at = path.find("/models/")?;
    let rest = path.get(at + "/models/".len()..)?;
    let (model, action) = rest.split_once(':')?;
    if model.is_empty() || model.contains('/') || path.get(..at).is_none_or(|before| before.is_empty()) {
        return None;
    }
    if action.starts_with("streamGenerateContent") {
        Some(GeminiStreamGenerateContent)
    } else if action.starts_with("generateContent") {
        Some(GeminiGenerateContent)
    } else {
        None
    }
}

/// The ids a path holds for a pattern (`/v1/files/{file_id}`: the path's last segments must
/// be the pattern's, each `{name}` any one non-empty segment), by name; `None` when the path
/// does not end so.
pub fn ids<'p>(pattern: &'p str, path: &'p str) -> Option<Vec<(&'p str, &'p str)>> {
    let wanted: Vec<&str> = pattern.split('/').skip(1).collect();
    let segments: Vec<&str> = path.split('/').collect();
    // The pattern is preceded by anything (Higress's `^.*`), at least the leading `/`.
    let first = segments.len().checked_sub(wanted.len())?;
    if first == 0 {
        return None;
    }
    let mut out = Vec::new();
    for (want, have) in wanted.iter().zip(segments.get(first..)?) {
        match want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            Some(name) if !have.is_empty() => out.push((name, *have)),
            Some(_) => return None,
            None if want == have => {}
            None => return None,
        }
    }
    Some(out)
}

/// The path a capability maps a request to: `template` with its `{id}`s taken from the
/// request path (for the API's pattern), the template's own query kept, and the request's
/// query appended after it.
pub fn map_path(api: Api, template: &str, request_path: &str) -> String {
    let (request_only, request_query) = split_query(request_path);
    let mut path = template.to_string();
    if path.contains('{') {
        let pattern = PATTERNS.iter().find(|(_, a)| *a == api).map(|(p, _)| *p);
        let found = pattern.and_then(|pattern| ids(pattern, request_only)).unwrap_or_default();
        for (name, value) in found {
            path = path.replace(&format!("{{{name}}}"), value);
        }
    }
    if let Some(query) = request_query.filter(|q| !q.is_empty()) {
        path.push(if path.contains('?') { '&' } else { '?' });
        path.push_str(query);
    }
    path
}

/// `(path, Some(query))` for `path?query`.
pub fn split_query(path: &str) -> (&str, Option<&str>) {
    match path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_apis_as_higress_does() {
        for (path, api) in [
            ("/v1/chat/completions", Some(ChatCompletion)),
            ("/api/openai/v1/chat/completions", Some(ChatCompletion)),
            ("/v1/completions", Some(Completion)),
            ("/v1/messages", Some(AnthropicMessages)),
            ("/v1/files/file-1", Some(RetrieveFile)),
            ("/v1/files/file-1/content", Some(RetrieveFileContent)),
            ("/v1/files", Some(Files)),
            ("/v1/batches/b1/cancel", Some(CancelBatch)),
            ("/v1/fine_tuning/checkpoints/c/permissions/p", Some(DeleteFineTuningCheckpointPermission)),
            ("/v1beta/models/gemini-pro:generateContent", Some(GeminiGenerateContent)),
            ("/v1beta/models/gemini-pro:streamGenerateContent", Some(GeminiStreamGenerateContent)),
            ("/v1/files//content", None),
            ("/chat", None),
            ("/", None),
            ("", None),
        ] {
            assert_eq!(Api::of_path(path), api, "{path}");
        }
    }

    #[test]
    fn names_round_trip() {
        for (api, name) in NAMES {
            assert_eq!(api.name(), *name);
            assert_eq!(Api::named(name), Some(*api));
        }
        assert_eq!(Api::named("openai/v1/nothing"), None);
    }

    #[test]
    fn mapped_paths_take_ids_and_queries() {
        assert_eq!(
            map_path(ChatCompletion, "/v2/chat/completions", "/v1/chat/completions?x=1"),
            "/v2/chat/completions?x=1"
        );
        assert_eq!(
            map_path(RetrieveFileContent, "/compatible-mode/v1/files/{file_id}/content", "/v1/files/f-9/content?v=2"),
            "/compatible-mode/v1/files/f-9/content?v=2"
        );
        assert_eq!(
            map_path(
                ChatCompletion,
                "/openai/deployments/d/chat/completions?api-version=1",
                "/v1/chat/completions?a=b"
            ),
            "/openai/deployments/d/chat/completions?api-version=1&a=b"
        );
        assert_eq!(
            map_path(CancelFineTuningJob, "/x/jobs/{fine_tuning_job_id}/cancel", "/v1/fine_tuning/jobs/ftj-1/cancel"),
            "/x/jobs/ftj-1/cancel"
        );
    }
}

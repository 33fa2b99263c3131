//! The one exit for content: every tool result (text, `structuredContent`, resource
//! links), resource read, prompt, JSON-RPC error and confirmation question leaves the
//! server through [`Egress`], which scrubs secrets ([`scrub`]) always and, with
//! `--redact`, masks personal data ([`pii`]).
//!
//! Nothing else sends content: the server's handlers hand what they answer to
//! [`Egress`] as their last step, so a new tool, resource or prompt is covered without
//! knowing about it.

pub mod pii;
pub mod scrub;

use std::borrow::Cow;

use rmcp::model::{
    CallToolResponse, ContentBlock, ElicitRequestParams, ErrorData, GetPromptResponse,
    InputRequest, InputRequiredResult, ReadResourceResponse, Resource, ResourceContents,
};
use serde_json::Value;

/// What the one exit applies: built once per server (or tenant) from its settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Egress {
    /// `--redact`: personal data masked too, not only secrets.
    redact: bool,
}

/// What a piece of content is, for the one function every piece passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Stripe data and the server's words about it (results, resources, questions).
    Data,
    /// An error: quoted values in its text are masked as names too.
    Error,
    /// The server's own words and the caller's own arguments, not Stripe data (a
    /// prompt's text, an MCP Apps page): scrubbed of secrets, not masked (masking the
    /// email a person typed into `refund_last_payment` would only break the workflow).
    Own,
}

impl Egress {
    /// Secrets always; personal data too when `redact` (`--redact`).
    pub fn new(redact: bool) -> Self {
        Egress { redact }
    }

    /// True when personal data is masked.
    pub fn redacts(&self) -> bool {
        self.redact
    }

    /// The one function: `text` as it may leave (borrowed when nothing changed).
    /// JSON text is masked by field with `--redact`.
    fn text<'a>(&self, text: &'a str, kind: Kind) -> Cow<'a, str> {
        let scrubbed = scrub::redact(text);
        if !self.redact || kind == Kind::Own {
            return scrubbed;
        }
        match pii::mask_text(&scrubbed, kind == Kind::Error) {
            Some(masked) => Cow::Owned(masked),
            None => scrubbed,
        }
    }

    /// The same function over a JSON value, in place: one walk, whatever it holds.
    fn json(&self, value: &mut Value, kind: Kind) {
        scrub::redact_json(value);
        if self.redact && kind != Kind::Own {
            if kind == Kind::Error {
                pii::mask_error_json(value);
            } else {
                pii::mask_json(value);
            }
        }
    }

    fn string(&self, s: &mut String, kind: Kind) {
        if let Cow::Owned(clean) = self.text(s, kind) {
            *s = clean;
        }
    }

    fn link(&self, r: &mut Resource) {
        for s in [&mut r.uri, &mut r.name] {
            self.string(s, Kind::Data);
        }
        for s in [r.title.as_mut(), r.description.as_mut()]
            .into_iter()
            .flatten()
        {
            self.string(s, Kind::Data);
        }
    }

    fn blocks(&self, blocks: &mut [ContentBlock], kind: Kind) {
        for block in blocks {
            match block {
                ContentBlock::Text(t) => self.string(&mut t.text, kind),
                ContentBlock::ResourceLink(r) => self.link(r),
                ContentBlock::Resource(r) => self.contents(&mut r.resource, kind),
                _ => {}
            }
        }
    }

    fn contents(&self, c: &mut ResourceContents, kind: Kind) {
        match c {
            ResourceContents::TextResourceContents { uri, text, .. } => {
                self.string(uri, Kind::Data);
                self.string(text, kind);
            }
            ResourceContents::BlobResourceContents { uri, .. } => self.string(uri, Kind::Data),
            _ => {}
        }
    }

    fn input_required(&self, input: &mut InputRequiredResult) {
        for request in input.input_requests.iter_mut().flat_map(|r| r.values_mut()) {
            if let InputRequest::Elicitation(e) = request {
                match &mut e.params {
                    ElicitRequestParams::FormElicitationParams { message, .. }
                    | ElicitRequestParams::UrlElicitationParams { message, .. } => {
                        self.string(message, Kind::Data)
                    }
                    _ => {}
                }
            }
        }
    }

    /// A tool's answer: its text, `structuredContent` and links, or the question of an
    /// `input_required` round. An error result is masked as an error.
    pub fn tool_result(&self, response: CallToolResponse) -> CallToolResponse {
        match response {
            CallToolResponse::Complete(mut result) => {
                let kind = if result.is_error == Some(true) {
                    Kind::Error
                } else {
                    Kind::Data
                };
                self.blocks(&mut result.content, kind);
                if let Some(value) = &mut result.structured_content {
                    self.json(value, kind);
                }
                CallToolResponse::Complete(result)
            }
            CallToolResponse::InputRequired(mut input) => {
                self.input_required(&mut input);
                CallToolResponse::InputRequired(input)
            }
            other => other,
        }
    }

    /// A tool's answer whose first text block is to say what its `structuredContent`
    /// says (the call path added to that content: RFC 3339 twins, a replay note): the
    /// content passes the one function once, as JSON, and the text is written from what
    /// leaves. The text is neither scanned again nor parsed again for masking: every
    /// string of the JSON it is written from has passed, and serializing adds no letters
    /// to a string. Its other blocks pass as in [`Egress::tool_result`]. Without
    /// `structuredContent`, this is [`Egress::tool_result`].
    pub fn tool_result_from_structured(&self, response: CallToolResponse) -> CallToolResponse {
        let CallToolResponse::Complete(mut result) = response else {
            return self.tool_result(response);
        };
        let Some(value) = &mut result.structured_content else {
            return self.tool_result(CallToolResponse::Complete(result));
        };
        let kind = if result.is_error == Some(true) {
            Kind::Error
        } else {
            Kind::Data
        };
        self.json(value, kind);
        let mut text = Some(value.to_string());
        for block in &mut result.content {
            match block {
                ContentBlock::Text(t) if text.is_some() => t.text = text.take().unwrap_or_default(),
                _ => self.blocks(std::slice::from_mut(block), kind),
            }
        }
        CallToolResponse::Complete(result)
    }

    /// A resource read's contents.
    pub fn resource(&self, response: ReadResourceResponse) -> ReadResourceResponse {
        match response {
            ReadResourceResponse::Complete(mut result) => {
                for c in &mut result.contents {
                    self.contents(c, Kind::Data);
                }
                ReadResourceResponse::Complete(result)
            }
            ReadResourceResponse::InputRequired(mut input) => {
                self.input_required(&mut input);
                ReadResourceResponse::InputRequired(input)
            }
            other => other,
        }
    }

    /// A prompt's messages (secrets only: see `Kind::Own`).
    pub fn prompt(&self, response: GetPromptResponse) -> GetPromptResponse {
        match response {
            GetPromptResponse::Complete(mut result) => {
                for m in &mut result.messages {
                    self.blocks(std::slice::from_mut(&mut m.content), Kind::Own);
                }
                GetPromptResponse::Complete(result)
            }
            GetPromptResponse::InputRequired(mut input) => {
                self.input_required(&mut input);
                GetPromptResponse::InputRequired(input)
            }
            other => other,
        }
    }

    /// One of the server's own pages (an MCP Apps view): secrets only, see `Kind::Own`.
    /// The data a view draws arrives in tool results, which are masked.
    pub fn page(&self, response: ReadResourceResponse) -> ReadResourceResponse {
        match response {
            ReadResourceResponse::Complete(mut result) => {
                for c in &mut result.contents {
                    self.contents(c, Kind::Own);
                }
                ReadResourceResponse::Complete(result)
            }
            other => other,
        }
    }

    /// A JSON-RPC error (a resource read or prompt that failed): message and data.
    pub fn error(&self, mut error: ErrorData) -> ErrorData {
        if let Cow::Owned(clean) = self.text(&error.message, Kind::Error) {
            error.message = Cow::Owned(clean);
        }
        if let Some(data) = &mut error.data {
            self.json(data, Kind::Error);
        }
        error
    }

    /// A confirmation question shown to a person.
    pub fn question(&self, text: &str) -> String {
        self.text(text, Kind::Data).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::CallToolResult;
    use serde_json::json;

    #[test]
    fn secrets_always_and_personal_data_only_with_redact() {
        let result = || {
            CallToolResponse::from(CallToolResult::structured(
                json!({"id": "cus_1", "email": "jane@example.com", "note": "sk_test_abc123"}),
            ))
        };
        let plain = Egress::new(false).tool_result(result());
        let CallToolResponse::Complete(plain) = plain else {
            panic!()
        };
        let text = &plain.content[0].as_text().unwrap().text;
        assert!(
            text.contains("jane@example.com") && !text.contains("abc123"),
            "{text}"
        );
        let masked = Egress::new(true).tool_result(result());
        let CallToolResponse::Complete(masked) = masked else {
            panic!()
        };
        let text = &masked.content[0].as_text().unwrap().text;
        assert!(
            text.contains("j***@example.com") && !text.contains("abc123"),
            "{text}"
        );
        let s = masked.structured_content.unwrap();
        assert_eq!(s["email"], "j***@example.com");
    }

    #[test]
    fn a_result_written_from_its_structured_content_is_masked_like_one_scanned_as_text() {
        let result = || {
            let mut r = CallToolResult::structured(json!({
                "customers": [{"id": "cus_1", "email": "jane@example.com", "name": "Jane Doe",
                    "note": "sk_test_abc123", "sk_live_key": 1}],
                "has_more": false
            }));
            // The call path changed the content after rmcp wrote the text.
            r.structured_content.as_mut().unwrap()["customers"][0]["created_utc"] =
                json!("2025-12-06T17:40:00Z");
            r.content
                .push(ContentBlock::text("and sk_live_zzz9 in a second block"));
            CallToolResponse::from(r)
        };
        for redact in [false, true] {
            let egress = Egress::new(redact);
            let CallToolResponse::Complete(one) = egress.tool_result_from_structured(result())
            else {
                panic!()
            };
            let text = &one.content[0].as_text().unwrap().text;
            let from_text: Value = serde_json::from_str(text).unwrap();
            assert_eq!(Some(&from_text), one.structured_content.as_ref());
            assert_eq!(
                from_text["customers"][0]["created_utc"],
                "2025-12-06T17:40:00Z"
            );
            assert!(!text.contains("abc123") && !text.contains("_key"), "{text}");
            assert_eq!(text.contains("jane@example.com"), !redact, "{text}");
            assert_eq!(text.contains("Jane Doe"), !redact, "{text}");
            let second = &one.content[1].as_text().unwrap().text;
            assert!(!second.contains("zzz9"), "{second}");
        }
    }

    #[test]
    fn errors_mask_phones_and_quoted_names() {
        let e = ErrorData::invalid_params(
            "Invalid phone '+1 555 010 0167' for 'Jane Doe' (jane@example.com)",
            Some(json!({"error": {"message": "for 'Jane Doe'"}})),
        );
        let e = Egress::new(true).error(e);
        assert!(
            !e.message.contains("Jane") && !e.message.contains("010 0167"),
            "{}",
            e.message
        );
        assert!(!e.data.unwrap().to_string().contains("Jane"));
    }
}

//! A write is a planned request: the method, path, form params, connected account and
//! idempotency key a tool will send, built purely from its arguments. The client's only
//! write path, [`super::Client::send`], takes an [`Approved`] request, which only the guard
//! makes (`crate::guard::gate`), bound to exactly that method, path, params and account.
//! A tool, resource or lookup that tries to write without the guard has nothing to send
//! with: `Client::post` and `Client::delete` are private to the client.

use std::marker::PhantomData;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Error, IdempotencyKey, client::CALL_ACCOUNT};

/// The write methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Create, update or act on an object.
    Post,
    /// Delete an object.
    Delete,
}

impl Method {
    /// `POST` or `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// One Stripe write as it will be sent. Nothing is sent by making one.
#[derive(Debug, Clone)]
pub struct Planned {
    /// POST or DELETE.
    pub method: Method,
    /// The path, `/v1/...`, ids in it (checked by the tool that built it).
    pub path: String,
    /// The form params, as JSON (encoded in Stripe's form style when sent).
    pub params: Map<String, Value>,
    /// The connected account it acts on (`Stripe-Account`), if any.
    pub account: Option<String>,
    /// The key every attempt carries.
    pub idempotency_key: IdempotencyKey,
    /// The form body as sent, encoded once from the same value as `params` (so its
    /// order is the request type's): only this module sets it.
    body: String,
}

impl Planned {
    /// A `POST path` with `params` (any serializable body: a typed request or a JSON
    /// object), on the current call's connected account.
    pub fn post(
        path: impl Into<String>,
        params: &impl Serialize,
        idempotency_key: IdempotencyKey,
    ) -> Result<Planned, Error> {
        let body = super::client::encode_form(params)?;
        let params = match serde_json::to_value(params).map_err(|e| Error::Encode(e.to_string()))? {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => {
                return Err(Error::Encode(format!(
                    "a write's params must be an object, not {other}"
                )));
            }
        };
        Ok(Planned {
            method: Method::Post,
            path: path.into(),
            params,
            account: current_account(),
            idempotency_key,
            body,
        })
    }

    /// A `DELETE path` (no params), on the current call's connected account.
    pub fn delete(path: impl Into<String>, idempotency_key: IdempotencyKey) -> Planned {
        Planned {
            method: Method::Delete,
            path: path.into(),
            params: Map::new(),
            account: current_account(),
            idempotency_key,
            body: String::new(),
        }
    }

    /// The form body as it will be sent.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// True when `other` is the same request (method, path, params, account), whatever
    /// its idempotency key.
    pub fn same_request(&self, other: &Planned) -> bool {
        self.method == other.method
            && self.path == other.path
            && self.params == other.params
            && self.account == other.account
    }
}

/// The connected account of the current call (`--connect`'s `stripe_account`).
fn current_account() -> Option<String> {
    CALL_ACCOUNT.try_with(Clone::clone).ok().flatten()
}

/// A planned request the guard let through. It can be made only by the guard
/// (`Approved::by_guard` is crate-private and the tidy check allows it only in
/// `src/guard/`), and it is exactly the request that will be sent.
#[derive(Debug)]
pub struct Approved {
    /// The request, as approved.
    planned: Planned,
}

impl Approved {
    /// Only `crate::guard::gate` calls this (checked by `tests/guards_wire.rs`).
    pub(crate) fn by_guard(planned: Planned) -> Approved {
        Approved { planned }
    }

    /// For the client's own integration tests (retries, redirects, idempotency) only:
    /// `tests/guards_wire.rs` fails if any file under `src/` calls it.
    #[doc(hidden)]
    pub fn unguarded_for_tests(planned: Planned) -> Approved {
        Approved { planned }
    }

    /// The approved request.
    pub fn planned(&self) -> &Planned {
        &self.planned
    }

    /// The key it is sent with.
    pub fn idempotency_key(&self) -> &IdempotencyKey {
        &self.planned.idempotency_key
    }
}

/// A planned request whose answer decodes as `T` (what the typed resources return).
#[derive(Debug, Clone)]
pub struct Plan<T> {
    /// The request.
    pub planned: Planned,
    /// The answer's type.
    answer: PhantomData<fn() -> T>,
}

impl<T> Plan<T> {
    /// A typed `POST`.
    pub fn post(
        path: impl Into<String>,
        params: &impl Serialize,
        idempotency_key: IdempotencyKey,
    ) -> Result<Plan<T>, Error> {
        Ok(Plan::of(Planned::post(path, params, idempotency_key)?))
    }

    /// A typed `DELETE`.
    pub fn delete(path: impl Into<String>, idempotency_key: IdempotencyKey) -> Plan<T> {
        Plan::of(Planned::delete(path, idempotency_key))
    }

    /// A planned request answered by `T`.
    pub fn of(planned: Planned) -> Plan<T> {
        Plan {
            planned,
            answer: PhantomData,
        }
    }
}

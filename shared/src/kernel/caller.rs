//! Who is calling a guarded route: what an authorizer establishes, written once into API
//! Gateway's request context and read back, as the same type, by the function behind it.
//!
//! Both authorizers serialise a [`Verdict`] as their context; the Lambda glue (and `local-api`,
//! which plays API Gateway) deserialises it; `GET /apps/me` answers the app caller as written.
//! The field names are the context's keys, so they are spelled here and nowhere else.

use crate::kernel::authentication::Acr;
use crate::kernel::ids::Id;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Who is calling an authorised route, as the account authorizer established: its context
/// `{user_id, session_id, acr, email?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// Account id.
    #[serde(rename = "user_id")]
    pub account: Id,
    /// Session id.
    #[serde(rename = "session_id")]
    pub session: Id,
    /// The account's email, as the session keeps it (read in the authorizer's one round trip
    /// and passed in its context); `None` for a session that does not keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The assurance level of its access token (`aal1`, `aal2`): what an API behind the
    /// authorizer checks to demand two factors. A context without it reads as `aal1`.
    #[serde(default)]
    pub acr: Acr,
}

/// Who is calling a shared app's route, as the app authorizer established: its context
/// `{app_id, app_code, end_user_id, account_id?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppCaller {
    /// The app's id.
    #[serde(rename = "app_id")]
    pub app: Id,
    /// The app's code.
    pub app_code: String,
    /// The end user.
    #[serde(rename = "end_user_id")]
    pub end_user: Id,
    /// The signed-in account (private apps).
    #[serde(
        rename = "account_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub account: Option<Id>,
}

/// What the authorizer in front of a route established: the authorizer's context as written,
/// and the caller a guarded handler is given.
///
/// Serialised, it is the context object itself (no tag): `{}` for [`Verdict::None`]. Read back,
/// a context that is neither caller's (missing or malformed fields) is `None`, which a guarded
/// route refuses.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Verdict {
    /// The account authorizer's caller.
    Account(Caller),
    /// The app authorizer's caller.
    Visitor(AppCaller),
    /// No authorizer ran (an open route), it denied, or its context is missing.
    #[default]
    #[serde(serialize_with = "empty_object", deserialize_with = "anything")]
    None,
}

impl From<Option<Caller>> for Verdict {
    fn from(caller: Option<Caller>) -> Self {
        caller.map_or(Verdict::None, Verdict::Account)
    }
}

impl Verdict {
    /// The verdict a context object (API Gateway's `requestContext.authorizer.lambda`) holds.
    pub fn from_context<'a>(
        fields: impl IntoIterator<Item = (&'a String, &'a serde_json::Value)>,
    ) -> Self {
        let object: serde_json::Map<String, serde_json::Value> = fields
            .into_iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        serde_json::from_value(serde_json::Value::Object(object)).unwrap_or_default()
    }
}

fn empty_object<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    s.serialize_map(Some(0))?.end()
}

fn anything<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn id(n: u8) -> Id {
        Id::from_bytes([n; 16])
    }

    #[test]
    fn each_verdict_is_its_context_object_and_reads_back() {
        let account = Verdict::Account(Caller {
            account: id(0),
            session: id(1),
            email: Some("a@example.com".into()),
            acr: Acr::Aal2,
        });
        let app = Verdict::Visitor(AppCaller {
            app: id(2),
            app_code: "demo-app".into(),
            end_user: id(3),
            account: None,
        });
        assert_eq!(
            serde_json::to_value(&account).unwrap(),
            json!({"user_id": "AAAAAAAAAAAAAAAAAAAAAA", "session_id": "AQEBAQEBAQEBAQEBAQEBAQ",
                   "email": "a@example.com", "acr": "aal2"})
        );
        assert_eq!(
            serde_json::to_value(&app).unwrap(),
            json!({"app_id": "AgICAgICAgICAgICAgICAg", "app_code": "demo-app",
                   "end_user_id": "AwMDAwMDAwMDAwMDAwMDAw"})
        );
        assert_eq!(serde_json::to_value(Verdict::None).unwrap(), json!({}));
        for v in [account, app, Verdict::None] {
            let text = serde_json::to_value(&v).unwrap();
            let map = text.as_object().unwrap();
            assert_eq!(Verdict::from_context(map), v, "{text}");
        }
    }

    #[test]
    fn a_malformed_context_is_no_caller() {
        for bad in [
            json!({"user_id": "not-an-id", "session_id": "AQEBAQEBAQEBAQEBAQEBAQ"}),
            json!({"session_id": "AQEBAQEBAQEBAQEBAQEBAQ"}),
            json!({"app_id": "AgICAgICAgICAgICAgICAg", "app_code": 5,
                   "end_user_id": "AwMDAwMDAwMDAwMDAwMDAw"}),
            json!({"anything": ["else"]}),
        ] {
            let map = bad.as_object().unwrap();
            assert_eq!(Verdict::from_context(map), Verdict::None, "{bad}");
        }
        let none: Verdict = serde_json::from_value(Value::Null).unwrap();
        assert_eq!(none, Verdict::None);
    }
}

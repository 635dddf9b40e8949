//! The recorded passkey ceremonies (`fixtures/passkey_ceremonies.json`, made by
//! `web/e2e/record-passkey-ceremonies.mjs`) and the account they were made for.

use passport::Service;
use passport::api::Store;
use passport::kernel::ids::Id;
use passport::kernel::store::{Account, AccountStatus};
use passport::passkeys::webauthn::CEREMONY_SECONDS;
use serde_json::Value;

/// The recorded account's password (the recording's own is not needed: the account is made
/// afresh with this one).
pub const PASSWORD: &str = "the recorded account's password";

/// One registration and one sign-in, as Chromium's virtual authenticator made them, and the
/// server's state of each ceremony.
pub struct Recorded {
    pub origin: String,
    pub email: String,
    pub account: Id,
    pub session: Id,
    pub registration_state: String,
    pub registration: Value,
    pub authentication_state: String,
    pub authentication: Value,
}

pub fn recorded() -> Recorded {
    let f: Value =
        serde_json::from_str(include_str!("../fixtures/passkey_ceremonies.json")).unwrap();
    let reg = &f["registration"]["state"];
    Recorded {
        origin: f["origin"].as_str().unwrap().into(),
        email: f["email"].as_str().unwrap().into(),
        account: reg["account"].as_str().unwrap().parse().unwrap(),
        session: reg["session"].as_str().unwrap().parse().unwrap(),
        registration_state: reg.to_string(),
        registration: f["registration"]["credential"].clone(),
        authentication_state: f["authentication"]["state"].to_string(),
        authentication: f["authentication"]["credential"].clone(),
    }
}

/// The recorded account, made afresh (its id is the user handle the authenticator keeps).
pub async fn reset_account(store: &dyn Store, r: &Recorded) {
    store.delete_account(r.account).await.unwrap();
    // A passkey refusal counts toward the login limits: a run's counts must not reach the next.
    store.clear_attempts(&r.email, None).await.unwrap();
    let account = Account {
        id: r.account,
        email: r.email.clone(),
        password_hash: passport::kernel::accounts::hash_password(PASSWORD).unwrap(),
        status: AccountStatus::Active,
        created_at: 0,
        password_version: 0,
        email_verified: true,
        second_factor: false,
    };
    assert!(store.create_account(&account).await.unwrap());
    // The session the registration ceremony was made for, signed in now.
    let now = passport::kernel::clock::now();
    let (session, _) = passport::testing::new_session(r.account, r.session, now);
    passport::testing::store::create_session(store, &session, &r.email).await;
}

/// The recorded session proves itself again (`POST /reauthenticate`): a grant to add one
/// passkey.
pub async fn reauthenticate(service: &Service, r: &Recorded) {
    let now = service.clock().now();
    let again = passport::kernel::authentication::Authentication::password(now);
    let store = service.store();
    assert!(
        store
            .reauthenticate(r.account, r.session, &again, now)
            .await
            .unwrap()
    );
}

/// A ceremony holding `state`, as its options route would have left it.
pub async fn ceremony(service: &Service, state: &str) -> Id {
    let id = Id::random();
    let now = service.clock().now();
    service
        .store()
        .put_state(id, state, CEREMONY_SECONDS, now)
        .await
        .unwrap();
    id
}

//! The route table's [`RecentAuth`], applied: which requests need the session to have
//! authenticated within `REAUTH_MAX_AGE_SECONDS`. The one place the rule is read.

use super::routes::{RecentAuth, RouteSpec};
use crate::kernel::error::ApiError;
use crate::kernel::ids::Id;
use crate::service::Service;

/// Whether a request to `spec` needs a recent authentication; `ends_others` says whether it
/// ends sessions other than the caller's own.
pub fn needed(spec: &RouteSpec, ends_others: bool) -> bool {
    match spec.recent_auth {
        RecentAuth::No => false,
        RecentAuth::Yes => true,
        RecentAuth::ToEndOthers => ends_others,
    }
}

/// Refuses with `reauthentication_required` when [`needed`] and `account`'s `session` did not
/// authenticate recently.
pub async fn check(
    app: &Service,
    spec: &RouteSpec,
    account: Id,
    session: Id,
    ends_others: bool,
) -> Result<(), ApiError> {
    if needed(spec, ends_others) {
        app.require_recent_authentication(account, session).await
    } else {
        Ok(())
    }
}

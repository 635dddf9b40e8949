//! `GET /activity`: its query in, its answer out.

use super::service::Page;
use super::store::ActivityStore;
use crate::kernel::activity::MAX_ENTRIES;
use crate::kernel::error::ApiError;
use crate::kernel::http::{Call, json_response};
use crate::kernel::service::Core;
use http::{Response, StatusCode};

/// The activity feature's routes (the route table's `handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// The caller's own history, a page at a time.
    List,
}

/// The answer to `route`.
pub async fn serve<S, B>(
    service: &Core<S>,
    route: Route,
    call: Call<'_, B>,
) -> Result<Response<String>, ApiError>
where
    S: ?Sized + ActivityStore,
    B: AsRef<[u8]> + Sync,
{
    match route {
        Route::List => {
            let page = page(call.req.uri().query())?;
            let body = service.activity(call.caller()?.account, page).await?;
            Ok(json_response(StatusCode::OK, &body))
        }
    }
}

/// The largest `before` (2^53 − 1: what a JavaScript number holds exactly, as `openapi.yaml`
/// says); an entry's number never comes near it.
pub const MAX_BEFORE: u64 = (1 << 53) - 1;

/// `?before=<n>&limit=<n>`, both optional whole numbers; other parameters are ignored.
pub fn page(query: Option<&str>) -> Result<Page, ApiError> {
    let mut page = Page::default();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = || {
            value
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0 && value.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    ApiError::InvalidRequest(format!("`{name}` must be a whole number above 0"))
                })
        };
        match name {
            "before" => {
                let n = number()?;
                if n > MAX_BEFORE {
                    return Err(ApiError::InvalidRequest(format!(
                        "`before` must be at most {MAX_BEFORE}"
                    )));
                }
                page.before = Some(n);
            }
            "limit" => {
                let n = number()?;
                if n > MAX_ENTRIES as u64 {
                    return Err(ApiError::InvalidRequest(format!(
                        "`limit` must be at most {MAX_ENTRIES}"
                    )));
                }
                page.limit = n as usize;
            }
            _ => {}
        }
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_before_and_limit_and_refuses_anything_else_in_them() {
        assert_eq!(page(None).unwrap(), Page::default());
        let p = page(Some("limit=5&before=12&x=y")).unwrap();
        assert_eq!((p.before, p.limit), (Some(12), 5));
        assert_eq!(
            page(Some("before=9007199254740991")).unwrap().before,
            Some(MAX_BEFORE)
        );
        for bad in [
            "limit=0",
            "limit=51",
            "before=-1",
            "before=+3",
            "limit=",
            "before=1e3",
            "before=9007199254740992",
        ] {
            assert!(page(Some(bad)).is_err(), "{bad}");
        }
    }
}

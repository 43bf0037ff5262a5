//! How an entity's stream ended: ok, failed, or skipped because the token may not read a
//! reference endpoint (HTTP 403: the store did not grant that permission). A skipped entity is
//! not a failed run. A 403 on an entity the mirror is
//! for (`ESSENTIAL`) is a failure: an empty `lightspeed_sales` must never look green. Pure code.

use crate::entity::Entity;
use crate::lightspeed::{ApiError, FetchError};

/// The entities a mirror of a store is for: without permission to read them the run fails
/// (red, exit 1, an alert) instead of skipping them.
pub(crate) const ESSENTIAL: [Entity; 6] = [
    Entity::Outlets,
    Entity::Products,
    Entity::Customers,
    Entity::Inventory,
    Entity::Sales,
    Entity::Consignments,
];

/// The end of one entity's stream: `(error, skipped_reason)`, at most one of them set.
pub(crate) fn judge(result: anyhow::Result<()>) -> (Option<String>, Option<String>) {
    let Err(err) = result else {
        return (None, None);
    };
    let Some(fetch) = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<FetchError>())
    else {
        return (Some(format!("{err:#}")), None);
    };
    let entity = fetch.entity;
    match &fetch.cause {
        ApiError::Status { status: 403, .. } if ESSENTIAL.contains(&entity) => (
            Some(format!(
                "the token may not read /{entity} (HTTP 403), so {entity} cannot be copied: grant it the `{entity}:read` permission (for an OAuth token, the scope; for a personal token, a user allowed to see {entity})"
            )),
            None,
        ),
        ApiError::Status { status: 403, .. } => (
            None,
            Some(format!(
                "the token may not read /{entity} (HTTP 403): grant it that permission to copy {entity}"
            )),
        ),
        _ => (Some(format!("{err:#}")), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Entity;

    fn fetch_error(status: u16) -> anyhow::Error {
        anyhow::Error::new(FetchError {
            entity: Entity::Users,
            after: 0,
            attempts: 1,
            cause: ApiError::Status {
                status,
                detail: None,
            },
        })
        .context("fetching users")
    }

    #[test]
    fn a_403_skips_the_entity_and_other_errors_fail_it() {
        let (error, skipped) = judge(Err(fetch_error(403)));
        assert_eq!(error, None);
        assert!(skipped.unwrap().contains("HTTP 403"));
        let (error, skipped) = judge(Err(fetch_error(404)));
        assert!(error.unwrap().contains("HTTP 404"));
        assert_eq!(skipped, None);
        assert_eq!(judge(Ok(())), (None, None));
    }

    #[test]
    fn a_403_on_an_entity_the_mirror_is_for_fails_it_naming_the_permission() {
        for entity in ESSENTIAL {
            let err = anyhow::Error::new(FetchError {
                entity,
                after: 0,
                attempts: 1,
                cause: ApiError::Status {
                    status: 403,
                    detail: None,
                },
            });
            let (error, skipped) = judge(Err(err));
            assert_eq!(skipped, None, "{entity}");
            let error = error.unwrap();
            assert!(error.contains("HTTP 403"), "{error}");
            assert!(error.contains(&format!("`{entity}:read`")), "{error}");
        }
    }
}

//! The dashboard (Rocket + Tera): login, entity health, live progress, run history, the JSON API
//! and `/healthz`. It reads PostgreSQL only (and starts background syncs on request), so it runs
//! anywhere the database is reachable. `build` is used by `serve`, `demo` and the tests.

mod api;
mod assets;
pub mod auth;
mod chart;
pub mod client_addr;
pub mod front_door;
mod headers;
mod hooks;
mod launcher;
mod metrics;
pub mod monitoring;
mod pages;
pub mod session;
pub mod throttle;
mod views;

use std::path::PathBuf;

use rocket::http::{ContentType, Header, Status};
use rocket::{catch, catchers, routes, Build, Request, Rocket};
use rocket_dyn_templates::{context, Template};

pub use hooks::WebhookReceiver;
pub use launcher::{sync_environment, SyncLauncher};
pub use monitoring::Monitoring;

use crate::config::{Config, DatabaseUrl, Secret, TrustedProxy};
use crate::db::{self, DbError, PgPool};
use crate::health::HealthThresholds;
use auth::PasswordCheck;
use session::Sessions;
use throttle::Throttle;

/// Everything the routes share.
pub struct WebState {
    pub pool: PgPool,
    pub url: DatabaseUrl,
    pub password: PasswordCheck,
    /// Sessions of the current password epoch, and the ones logged out.
    pub sessions: Sessions,
    pub api_token: Option<Secret>,
    /// Counts failed logins.
    pub throttle: Throttle,
    /// Counts failed bearer tokens, apart from logins: a good token never forgives an
    /// address's failed logins, nor a good login its failed tokens.
    pub bearer_throttle: Throttle,
    /// The proxy allowed to name the client in a header (none: the socket peer is the client).
    pub trusted_proxy: Option<TrustedProxy>,
    pub health: HealthThresholds,
    pub secure_cookies: bool,
    pub launcher: SyncLauncher,
    /// The front door's secret when requests come through it (`serve`, `demo`): its header
    /// names the client.
    pub door_secret: Option<front_door::DoorSecret>,
}

impl WebState {
    /// The dashboard's state from the configuration: checks the password settings and the
    /// database (connecting and migrating).
    pub fn from_config(config: &Config, sync_log: Option<PathBuf>) -> anyhow::Result<WebState> {
        let dashboard = config.dashboard()?;
        let url = config.database_url()?.clone();
        let pool = db::pool(&url, 8)?;
        let logouts = {
            let mut conn = db::checkout(&pool, &url)?;
            db::run_pending_migrations(&mut conn)?;
            db::load_logouts(&mut conn)?
        };
        let password = PasswordCheck::new(&dashboard.password)?;
        let sessions = Sessions::new(password.epoch());
        sessions.remember(logouts.into_iter().map(|(session_digest, expires_at)| {
            session::Logout {
                session_digest,
                expires_at: expires_at.timestamp(),
            }
        }));
        Ok(WebState {
            sessions,
            password,
            api_token: dashboard.api_token,
            throttle: Throttle::default(),
            bearer_throttle: Throttle::default(),
            trusted_proxy: dashboard.trusted_proxy,
            health: config.health,
            secure_cookies: dashboard.secure_cookies,
            launcher: SyncLauncher::new(url.clone(), sync_log)?,
            door_secret: None,
            pool,
            url,
        })
    }
}

/// Runs blocking database work off the async executor.
pub(crate) async fn with_db<T, F>(state: &WebState, work: F) -> Result<T, Status>
where
    T: Send + 'static,
    F: FnOnce(&mut diesel::PgConnection) -> Result<T, DbError> + Send + 'static,
{
    let pool = state.pool.clone();
    let url = state.url.clone();
    rocket::tokio::task::spawn_blocking(move || {
        let mut conn = db::checkout(&pool, &url)?;
        work(&mut conn)
    })
    .await
    .map_err(|_| Status::InternalServerError)?
    .map_err(|err| {
        log::error!(
            "dashboard database query failed: {}",
            state.url.scrub(&err.to_string())
        );
        Status::ServiceUnavailable
    })
}

#[catch(401)]
fn unauthorized(request: &Request<'_>) -> (ContentType, String) {
    if request.uri().path().starts_with("/api/") {
        (ContentType::JSON, r#"{"error":"unauthorized"}"#.to_string())
    } else {
        (ContentType::Text, "Sign in at /login".to_string())
    }
}

/// An API request refused while the same address has a bearer token being checked.
#[derive(rocket::Responder)]
#[response(status = 429, content_type = "json")]
struct TooManyAttempts(&'static str, Header<'static>);

#[catch(429)]
fn too_many_attempts(request: &Request<'_>) -> TooManyAttempts {
    let auth::RetryAfter(wait) = *request.local_cache(auth::RetryAfter::default);
    TooManyAttempts(
        r#"{"error":"another attempt from this address is still being checked"}"#,
        pages::retry_after_header(wait.unwrap_or(std::time::Duration::from_secs(1))),
    )
}

#[catch(default)]
fn error_page(status: Status, _request: &Request<'_>) -> Template {
    let message = match status.code {
        403 => {
            "The form expired or did not come from this dashboard. Go back, reload and try again."
        }
        404 => "There is nothing here.",
        503 => "The database does not answer. The dashboard shows data again as soon as it does.",
        _ => "Something went wrong.",
    };
    Template::render("error", context! { status: status.to_string(), message })
}

/// The dashboard application for `state`, configured from Rocket's own figment (Rocket.toml,
/// `ROCKET_*`) plus `overrides`.
pub fn build(state: WebState, figment: rocket::figment::Figment) -> anyhow::Result<Rocket<Build>> {
    let templates = assets::TemplateDir::create()?;
    let mut figment = figment.merge(("template_dir", templates.path()));
    let has_key = figment
        .extract_inner::<rocket::config::SecretKey>("secret_key")
        .is_ok_and(|key| !key.is_zero());
    if !has_key {
        log::warn!("ROCKET_SECRET_KEY is not set: using a random key, so sessions end when the dashboard restarts");
        let key: [u8; 64] = std::array::from_fn(|_| rand::random::<u8>());
        figment = figment.merge(("secret_key", key.to_vec()));
    }
    let hsts = state.secure_cookies;
    Ok(rocket::custom(figment)
        .manage(state)
        .manage(templates)
        .attach(Template::custom(|engines| {
            // Escape everything: template names carry no extension for Tera to go by.
            engines.tera.autoescape_on(vec![""]);
        }))
        .attach(headers::SecurityHeaders { hsts })
        .attach(rocket::fairing::AdHoc::on_liftoff("announce", |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                if let Some(front_door::InnerPort(port)) = rocket.state() {
                    let _ = port.send(config.port);
                }
                let shown = match rocket.state::<front_door::PublicAddress>() {
                    Some(front_door::PublicAddress(public)) => *public,
                    None => std::net::SocketAddr::new(config.address, config.port),
                };
                log::info!("dashboard listening on http://{shown}");
            })
        }))
        .mount(
            "/",
            routes![
                pages::login_page,
                pages::login,
                pages::logout,
                pages::overview,
                pages::history,
                pages::run_detail,
                pages::sync_now,
                api::status,
                api::runs,
                api::healthz,
                metrics::metrics,
                hooks::lightspeed,
            ],
        )
        .mount("/", assets::routes())
        .register("/", catchers![unauthorized, too_many_attempts, error_page]))
}

/// The web settings lightsync uses unless `Rocket.toml` or `ROCKET_*` say otherwise, so `serve`
/// behaves the same from any directory (cron, systemd, after `cargo install`).
pub fn web_defaults() -> rocket::Config {
    rocket::Config {
        address: std::net::Ipv4Addr::LOCALHOST.into(),
        port: DEFAULT_PORT,
        limits: rocket::data::Limits::default().limit("form", FORM_LIMIT),
        // The client's address comes from the socket or a trusted proxy (see client_addr),
        // never from a header anyone can send.
        ip_header: None,
        ..rocket::Config::default()
    }
}

/// The documented port of the dashboard.
pub const DEFAULT_PORT: u16 = 5001;
/// Largest form accepted: the login and CSRF forms are a few hundred bytes.
pub const FORM_LIMIT: rocket::data::ByteUnit = rocket::data::ByteUnit::Kibibyte(16);

/// lightsync's defaults, then `rocket_toml` (if it exists), then `ROCKET_*` variables.
pub fn web_sources(rocket_toml: &str) -> rocket::figment::Figment {
    use rocket::figment::providers::{Env, Format, Toml};
    use rocket::figment::{Figment, Profile};
    Figment::from(web_defaults())
        .merge(Toml::file(rocket_toml).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
        .select(Profile::from_env_or(
            "ROCKET_PROFILE",
            rocket::Config::DEFAULT_PROFILE,
        ))
}

/// Rocket's configuration sources (lightsync's defaults, `Rocket.toml` or ROCKET_CONFIG,
/// `ROCKET_*`) with `address` and `port` from the command line, if given.
pub fn figment(address: Option<std::net::IpAddr>, port: Option<u16>) -> rocket::figment::Figment {
    let rocket_toml = std::env::var("ROCKET_CONFIG").unwrap_or_else(|_| "Rocket.toml".into());
    // Rocket's own request logging is off unless asked for (ROCKET_LOG_LEVEL); lightsync logs
    // what matters (logins, failures) itself.
    let mut figment = web_sources(&rocket_toml);
    if std::env::var_os("ROCKET_LOG_LEVEL").is_none() {
        figment = figment.merge(("log_level", rocket::config::LogLevel::Critical));
    }
    if let Some(address) = address {
        figment = figment.merge(("address", address));
    }
    if let Some(port) = port {
        figment = figment.merge(("port", port));
    }
    figment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_hold_without_rocket_toml_and_rocket_toml_overrides_them() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("Rocket.toml");
        let config: rocket::Config = web_sources(missing.to_str().unwrap()).extract().unwrap();
        if std::env::var_os("ROCKET_PORT").is_none() {
            assert_eq!(config.port, 5001);
        }
        if std::env::var_os("ROCKET_ADDRESS").is_none() {
            assert_eq!(config.address.to_string(), "127.0.0.1");
        }
        assert_eq!(config.limits.get("form"), Some(FORM_LIMIT));
        assert_eq!(config.ip_header, None, "X-Real-IP is not believed");

        std::fs::write(
            &missing,
            "[default]\nport = 6123\n[default.limits]\njson = \"1 MiB\"\n",
        )
        .unwrap();
        let config: rocket::Config = web_sources(missing.to_str().unwrap()).extract().unwrap();
        if std::env::var_os("ROCKET_PORT").is_none() {
            assert_eq!(config.port, 6123);
        }
        assert_eq!(
            config.limits.get("form"),
            Some(FORM_LIMIT),
            "a partial limits table keeps the form limit"
        );
        assert_eq!(
            config.limits.get("json"),
            Some(rocket::data::ByteUnit::Mebibyte(1))
        );
    }
}

//! The dashboard (Rocket + Tera): login, entity health, live progress, run history, the JSON API
//! and `/healthz`. It reads PostgreSQL only (and starts background syncs on request), so it runs
//! anywhere the database is reachable. `build` is used by `serve`, `demo` and the tests.

mod api;
mod assets;
pub mod auth;
mod chart;
mod headers;
mod launcher;
mod pages;
mod views;

use std::path::PathBuf;

use rocket::http::{ContentType, Status};
use rocket::{catch, catchers, routes, Build, Request, Rocket};
use rocket_dyn_templates::{context, Template};

pub use launcher::SyncLauncher;

use crate::config::{Config, DatabaseUrl, Secret};
use crate::db::{self, DbError, PgPool};
use crate::health::HealthThresholds;
use auth::{LoginThrottle, PasswordCheck};

/// Everything the routes share.
pub struct WebState {
    pub pool: PgPool,
    pub url: DatabaseUrl,
    pub password: PasswordCheck,
    pub api_token: Option<Secret>,
    pub throttle: LoginThrottle,
    pub health: HealthThresholds,
    pub secure_cookies: bool,
    pub launcher: SyncLauncher,
}

impl WebState {
    /// The dashboard's state from the configuration: checks the password settings and the
    /// database (connecting and migrating).
    pub fn from_config(config: &Config, sync_log: Option<PathBuf>) -> anyhow::Result<WebState> {
        let dashboard = config.dashboard()?;
        let url = config.database_url()?.clone();
        let pool = db::pool(&url, 8)?;
        {
            let mut conn = db::checkout(&pool, &url)?;
            db::run_pending_migrations(&mut conn)?;
        }
        Ok(WebState {
            password: PasswordCheck::new(&dashboard.password)?,
            api_token: dashboard.api_token,
            throttle: LoginThrottle::default(),
            health: config.health,
            secure_cookies: dashboard.secure_cookies,
            launcher: SyncLauncher::new(url.clone(), sync_log)?,
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
    Ok(rocket::custom(figment)
        .manage(state)
        .manage(templates)
        .attach(Template::custom(|engines| {
            // Escape everything: template names carry no extension for Tera to go by.
            engines.tera.autoescape_on(vec![""]);
        }))
        .attach(headers::SecurityHeaders)
        .attach(rocket::fairing::AdHoc::on_liftoff("announce", |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                log::info!(
                    "dashboard listening on http://{}:{}",
                    config.address,
                    config.port
                );
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
            ],
        )
        .mount("/", assets::routes())
        .register("/", catchers![unauthorized, error_page]))
}

/// Rocket's configuration sources with `address` and `port` from the command line, if given.
pub fn figment(address: Option<std::net::IpAddr>, port: Option<u16>) -> rocket::figment::Figment {
    // Rocket's own request logging is off unless asked for (ROCKET_LOG_LEVEL); lightsync logs
    // what matters (logins, failures) itself.
    let mut figment = rocket::Config::figment();
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

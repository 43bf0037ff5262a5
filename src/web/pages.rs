//! The dashboard's HTML pages: login and logout, the overview, run history and run detail, and
//! the "Sync now" action. Every form carries a CSRF token; every page needs a session.

use std::time::Duration;

use rocket::form::{Form, FromForm};
use rocket::http::{CookieJar, Header, Status};
use rocket::request::FlashMessage;
use rocket::response::{Flash, Redirect};
use rocket::{get, post, State};
use rocket_dyn_templates::{context, Template};
use serde::Serialize;

use super::auth::{constant_time_eq, login_csrf_token, throttled_check, User, LOGIN_CSRF_COOKIE};
use super::chart::runs_chart;
use super::client_addr::ClientAddr;
use super::launcher::LaunchError;
use super::views::{load_entity_cards, load_outlets_today};
use super::{with_db, WebState};
use crate::db::RunStatus;
use crate::db::{self, RunFilter};
use crate::entity::{Entity, Group};
use crate::health::{health_of, Health};

/// Runs per history page.
const RUNS_PER_PAGE: i64 = 50;
/// Highest history page served (50 million runs); beyond it the offset would overflow.
const MAX_HISTORY_PAGE: i64 = 1_000_000;
/// Runs in each entity's chart.
const CHART_RUNS: i64 = 30;

fn to_login() -> Redirect {
    Redirect::to("/login")
}

#[get("/login")]
pub fn login_page(
    cookies: &CookieJar<'_>,
    state: &State<WebState>,
    flash: Option<FlashMessage<'_>>,
) -> Template {
    let csrf = login_csrf_token(cookies, state.secure_cookies);
    Template::render(
        "login",
        context! { csrf, message: flash.map(|f| f.message().to_string()) },
    )
}

#[derive(FromForm)]
pub struct LoginForm {
    password: String,
    csrf: String,
}

/// A login that did not sign in: the page again with its status, or, for an attempt refused
/// while the same address has one in flight, 429 with `Retry-After`.
#[derive(rocket::Responder)]
pub enum LoginRefusal {
    Page((Status, Template)),
    #[response(status = 429)]
    Busy(Template, Header<'static>),
}

/// `Retry-After` in whole seconds.
pub fn retry_after_header(wait: Duration) -> Header<'static> {
    Header::new("Retry-After", wait.as_secs().max(1).to_string())
}

#[post("/login", data = "<form>")]
pub async fn login(
    form: Form<LoginForm>,
    cookies: &CookieJar<'_>,
    client: ClientAddr,
    state: &State<WebState>,
) -> Result<Redirect, LoginRefusal> {
    let csrf = login_csrf_token(cookies, state.secure_cookies);
    let render = |status: Status, message: String| {
        (
            status,
            Template::render("login", context! { csrf: csrf.clone(), message }),
        )
    };
    let expected_csrf = cookies
        .get_private(LOGIN_CSRF_COOKIE)
        .map(|cookie| cookie.value().to_string())
        .unwrap_or_default();
    if expected_csrf.is_empty() || !constant_time_eq(expected_csrf.as_bytes(), form.csrf.as_bytes())
    {
        return Err(LoginRefusal::Page(render(
            Status::Forbidden,
            "The form expired. Please try again.".into(),
        )));
    }
    let form = form.into_inner();
    let checked = throttled_check(
        &state.throttle,
        client,
        state.password.verify(form.password),
    );
    let (ok, attempt) = match checked.await {
        Ok(checked) => checked,
        Err(busy) => {
            log::warn!("dashboard login from {client} refused: its previous attempt is still being checked");
            let message = format!(
                "Another attempt from this address is still being checked. Try again in {} s.",
                busy.retry_after.as_secs()
            );
            return Err(LoginRefusal::Busy(
                render(Status::TooManyRequests, message).1,
                retry_after_header(busy.retry_after),
            ));
        }
    };
    if ok {
        cookies.remove_private(LOGIN_CSRF_COOKIE);
        state.sessions.start(cookies, state.secure_cookies);
        log::info!("dashboard login from {client}");
        return Ok(Redirect::to("/"));
    }
    let failures = attempt.failures_before + 1;
    let next = state.throttle.delay_after(failures);
    log::warn!("dashboard login failed from {client} ({failures} failure(s) in a row)");
    let message = if next < Duration::from_secs(1) {
        "Wrong password.".to_string()
    } else {
        format!(
            "Wrong password. The next attempt from this address waits {} s.",
            next.as_secs()
        )
    };
    Err(LoginRefusal::Page(render(Status::Unauthorized, message)))
}

#[derive(FromForm)]
pub struct CsrfForm {
    csrf: String,
}

#[post("/logout", data = "<form>")]
pub async fn logout(
    form: Form<CsrfForm>,
    user: Option<User>,
    cookies: &CookieJar<'_>,
    state: &State<WebState>,
) -> Result<Redirect, Status> {
    match user {
        Some(user) if user.csrf_matches(&form.csrf) => {
            let logout = state.sessions.end(cookies, &user.session);
            let expires_at = chrono::DateTime::from_timestamp(logout.expires_at, 0)
                .unwrap_or_else(chrono::Utc::now);
            // Kept in PostgreSQL so the saved cookie stays refused after a restart; if the
            // database is down the logout still holds until then, and the log says so.
            let kept = with_db(state, move |conn| {
                db::record_logout(conn, &logout.session_digest, expires_at)
            })
            .await;
            if kept.is_err() {
                log::warn!("a dashboard logout could not be kept in PostgreSQL: it holds until the dashboard restarts");
            }
            Ok(to_login())
        }
        Some(_) => Err(Status::Forbidden),
        None => Ok(to_login()),
    }
}

#[get("/")]
pub async fn overview(
    user: Option<User>,
    state: &State<WebState>,
    flash: Option<FlashMessage<'_>>,
    scheduled: super::monitoring::Scheduled,
) -> Result<Template, Result<Redirect, Status>> {
    let user = user.ok_or(Ok(to_login()))?;
    let thresholds = state.health;
    let now = chrono::Utc::now();
    let (cards, charts, total_runs, outlets) = with_db(state, move |conn| {
        let cards = load_entity_cards(conn, &thresholds, now)?;
        let outlets = load_outlets_today(conn)?;
        let mut charts = Vec::new();
        for entity in Entity::ALL {
            let runs = db::load_chart_runs(conn, entity.name(), CHART_RUNS)?;
            charts.push(ChartView {
                entity: entity.name().to_string(),
                svg: runs_chart(entity.name(), &runs),
            });
        }
        let (_, total_runs) = db::load_runs(conn, &RunFilter::default(), 1, 0)?;
        Ok((group_cards(cards), charts, total_runs, outlets))
    })
    .await
    .map_err(Err)?;
    let flash = flash.map(|f| FlashView {
        kind: f.kind().to_string(),
        message: f.message().to_string(),
    });
    Ok(Template::render(
        "overview",
        context! {
            signed_in: true,
            csrf: user.session.csrf,
            groups: cards,
            outlets,
            charts,
            total_runs,
            flash,
            refresh: true,
            yellow_hours: thresholds.yellow_after.as_secs_f64() / 3600.0,
            red_hours: thresholds.red_after.as_secs_f64() / 3600.0,
            schedule: scheduled.0,
        },
    ))
}

/// The overview's sections: sales and stock first, then the reference data they point at.
#[derive(Serialize)]
struct CardGroup {
    title: &'static str,
    cards: Vec<super::views::EntityCard>,
}

fn group_cards(cards: Vec<super::views::EntityCard>) -> Vec<CardGroup> {
    let group_of = |card: &super::views::EntityCard| {
        card.entity
            .parse::<Entity>()
            .map_or(Group::Reference, |entity| entity.spec().group)
    };
    let (stock, reference): (Vec<_>, Vec<_>) = cards
        .into_iter()
        .partition(|card| group_of(card) == Group::SalesAndStock);
    vec![
        CardGroup {
            title: "Sales and stock",
            cards: stock,
        },
        CardGroup {
            title: "Reference data",
            cards: reference,
        },
    ]
}

#[derive(Serialize)]
struct ChartView {
    entity: String,
    svg: String,
}

#[derive(Serialize)]
struct FlashView {
    kind: String,
    message: String,
}

fn clean_filter(value: Option<String>, allowed: &[&str]) -> Option<String> {
    value.filter(|v| allowed.contains(&v.as_str()))
}

#[get("/history?<entity>&<status>&<mode>&<page>")]
pub async fn history(
    user: Option<User>,
    state: &State<WebState>,
    entity: Option<String>,
    status: Option<String>,
    mode: Option<String>,
    page: Option<i64>,
) -> Result<Template, Result<Redirect, Status>> {
    let user = user.ok_or(Ok(to_login()))?;
    let entities: Vec<&str> = Entity::ALL.iter().map(|e| e.name()).collect();
    let filter = RunFilter {
        entity: clean_filter(entity, &entities),
        status: clean_filter(status, &["running", "ok", "failed", "interrupted"]),
        mode: clean_filter(mode, &["import", "incremental", "scheduled", "operator"]),
    };
    let page = page.unwrap_or(1).clamp(1, MAX_HISTORY_PAGE);
    let query_filter = filter.clone();
    let (runs, total) = with_db(state, move |conn| {
        db::load_runs(
            conn,
            &query_filter,
            RUNS_PER_PAGE,
            (page - 1) * RUNS_PER_PAGE,
        )
    })
    .await
    .map_err(Err)?;
    let pages = (total + RUNS_PER_PAGE - 1) / RUNS_PER_PAGE;
    let query = |page: i64| {
        let mut parts = vec![format!("page={page}")];
        if let Some(e) = &filter.entity {
            parts.push(format!("entity={e}"));
        }
        if let Some(s) = &filter.status {
            parts.push(format!("status={s}"));
        }
        if let Some(m) = &filter.mode {
            parts.push(format!("mode={m}"));
        }
        format!("/history?{}", parts.join("&"))
    };
    Ok(Template::render(
        "history",
        context! {
            signed_in: true,
            csrf: user.session.csrf,
            runs,
            total,
            page,
            pages: pages.max(1),
            previous: (page > 1).then(|| query(page - 1)),
            next: (page < pages).then(|| query(page + 1)),
            entity: filter.entity.clone(),
            status: filter.status.clone(),
            mode: filter.mode.clone(),
            entities,
        },
    ))
}

#[get("/runs/<id>")]
pub async fn run_detail(
    id: i64,
    user: Option<User>,
    state: &State<WebState>,
) -> Result<Template, Result<Redirect, Status>> {
    let user = user.ok_or(Ok(to_login()))?;
    let run = with_db(state, move |conn| db::load_run(conn, id))
        .await
        .map_err(Err)?
        .ok_or(Err(Status::NotFound))?;
    let records_per_sec = match run.duration_ms {
        Some(ms) if ms > 0 => run.records_fetched as f64 * 1000.0 / ms as f64,
        _ => 0.0,
    };
    Ok(Template::render(
        "run",
        context! { signed_in: true, csrf: user.session.csrf, run, records_per_sec },
    ))
}

#[post("/sync/<entity>", data = "<form>")]
pub async fn sync_now(
    entity: &str,
    form: Form<CsrfForm>,
    user: Option<User>,
    state: &State<WebState>,
) -> Result<Flash<Redirect>, Result<Redirect, Status>> {
    let user = user.ok_or(Ok(to_login()))?;
    if !user.csrf_matches(&form.csrf) {
        return Err(Err(Status::Forbidden));
    }
    let entity: Entity = entity.parse().map_err(|_| Err(Status::NotFound))?;
    let (running, health) = with_db(state, move |conn| {
        let states = db::load_sync_states(conn)?;
        let health = states
            .iter()
            .find(|s| s.entity == entity.name())
            .map(|s| (s.status, s.last_success_at));
        let running = states
            .into_iter()
            .filter(|s| s.status == RunStatus::Running)
            .map(|s| s.entity)
            .collect::<Vec<_>>();
        Ok((running, health))
    })
    .await
    .map_err(Err)?;
    if !running.is_empty() {
        return Ok(Flash::error(
            Redirect::to("/"),
            format!(
                "Not started: a run is in progress ({}) and holds the lock. Try again when it finishes.",
                running.join(", ")
            ),
        ));
    }
    // The same rule as the card's button, held here too: a form posted by hand cannot start
    // syncs of an entity that is up to date.
    let now = chrono::Utc::now();
    if let Some((status, Some(last_success))) = health {
        if health_of(status, Some(last_success), now, &state.health) == Health::Green {
            return Ok(Flash::error(
                Redirect::to("/"),
                format!(
                    "Not started: {entity} is up to date (last synced {} ago); the scheduled sync keeps it current.",
                    crate::health::duration_in_words((now - last_success).to_std().unwrap_or_default())
                ),
            ));
        }
    }
    // The database shows runs started anywhere; a sync this dashboard just started may not have
    // opened its run yet, so the launcher also refuses while its last child lives. Concurrent
    // posts therefore start at most one.
    match state.launcher.start_sync(entity) {
        Ok(pid) => {
            log::info!("dashboard started `lightsync sync --entity {entity}` (pid {pid})");
            Ok(Flash::success(
                Redirect::to("/"),
                format!("Started `lightsync sync --entity {entity}` (process {pid}). This page shows its progress."),
            ))
        }
        Err(LaunchError::Busy(pid)) => Ok(Flash::error(
            Redirect::to("/"),
            format!("Not started: the sync started from here (process {pid}) is still running. Try again when it finishes."),
        )),
        Err(err) => Ok(Flash::error(
            Redirect::to("/"),
            format!("Could not start the sync: {err}"),
        )),
    }
}

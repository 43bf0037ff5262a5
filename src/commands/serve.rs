//! `lightsync serve`: the dashboard, and `lightsync hash-password` for its password hash.

use std::io::BufRead;

use crate::cli::ServeArgs;
use crate::config::{Config, FollowPlan, MIN_PASSWORD_CHARS};
use crate::exit;
use crate::schedule::ScheduledJob;
use crate::web::{self, WebState};

/// Windows per entity of a scheduled (sampled) reconcile: a few dozen requests for a store.
const SCHEDULED_WINDOWS: u32 = 2;

pub fn serve(config: &Config, args: ServeArgs) -> anyhow::Result<i32> {
    let schedule = match &args.schedule {
        Some(text) => Some(crate::config::parse_schedule(text, "--schedule")?),
        None => config.monitoring.schedule.clone(),
    };
    let reconcile_schedule = match &args.reconcile_schedule {
        Some(text) => Some(crate::config::parse_schedule(text, "--reconcile-schedule")?),
        None => config.monitoring.reconcile_schedule.clone(),
    };
    let follow =
        match &args.follow {
            Some(text) => Some(FollowPlan::parse(text).map_err(|reason| {
                crate::config::ConfigError::Invalid {
                    variable: "--follow",
                    reason,
                }
            })?),
            None => config.monitoring.follow.clone(),
        };
    if schedule.is_some()
        || reconcile_schedule.is_some()
        || follow.is_some()
        || config.monitoring.webhook_secret.is_some()
    {
        // A scheduled, followed or webhook run needs the API settings: say so now, not at the
        // first run.
        config.api()?;
    }
    let mut state = WebState::from_config(config, None)?;
    let secret = web::front_door::DoorSecret::random();
    state.door_secret = Some(secret.clone());
    let (public, figment) =
        web::front_door::behind_the_door(web::figment(args.address, args.port))?;
    let rocket = web::build(state, figment)?;
    let config = config.clone();
    rocket::execute(async move {
        log::info!("starting the dashboard on http://{public}");
        let door = web::front_door::Door::bind(public, secret)
            .await
            .map_err(|err| anyhow::anyhow!("the dashboard on {public} stopped: {err}"))?;
        crate::alert::spawn_watch(&config, follow.is_some());
        let schedule = schedule.map(|schedule| {
            crate::schedule::spawn_scheduler(config.clone(), schedule, ScheduledJob::Sync)
        });
        if let Some(reconcile_schedule) = reconcile_schedule {
            crate::schedule::spawn_scheduler(
                config.clone(),
                reconcile_schedule,
                ScheduledJob::Reconcile {
                    windows: SCHEDULED_WINDOWS,
                },
            );
        }
        let mut rocket = door.open(rocket);
        let webhook_secret = config.monitoring.webhook_secret.clone();
        if follow.is_some() || webhook_secret.is_some() {
            let trigger = crate::schedule::spawn_follower(config.clone(), follow);
            if let Some(secret) = webhook_secret {
                log::info!(
                    "receiving Lightspeed's webhooks at /hooks/lightspeed/<LIGHTSYNC_WEBHOOK_SECRET>"
                );
                let signing_secret = config.api()?.oauth.map(|app| app.client_secret);
                if signing_secret.is_some() {
                    log::info!("webhooks: verifying each webhook's X-Signature with LIGHTSPEED_CLIENT_SECRET");
                }
                rocket = rocket.manage(web::WebhookReceiver {
                    secret,
                    signing_secret,
                    trigger,
                });
            }
        }
        let rocket = rocket
            .manage(web::Monitoring {
                metrics_public: config.monitoring.metrics_public,
                schedule,
            })
            .ignite()
            .await
            .map_err(|err| anyhow::anyhow!("the dashboard's web settings are invalid: {err}"))?;
        rocket
            .launch()
            .await
            .map(|_| ())
            .map_err(|err| anyhow::anyhow!("the dashboard on {public} stopped: {err}"))
    })?;
    Ok(exit::SUCCESS)
}

/// Reads a password from standard input and prints its argon2 hash for
/// LIGHTSYNC_DASHBOARD_PASSWORD_HASH.
pub fn hash_password() -> anyhow::Result<i32> {
    eprintln!("type the dashboard password and press Enter:");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(exit::UsageError(format!(
            "the password is shorter than {MIN_PASSWORD_CHARS} characters; choose a longer one"
        ))
        .into());
    }
    let secret = crate::config::Secret::new(password);
    if let Err(err) =
        crate::config::check_not_guessable(crate::config::vars::DASHBOARD_PASSWORD, &secret)
    {
        return Err(exit::UsageError(format!("{err}")).into());
    }
    crate::outln!("{}", web::auth::hash_password(password)?);
    Ok(exit::SUCCESS)
}

//! `lightsync serve`: the dashboard, and `lightsync hash-password` for its password hash.

use std::io::BufRead;

use crate::cli::ServeArgs;
use crate::config::Config;
use crate::exit;
use crate::web::{self, WebState};

pub fn serve(config: &Config, args: ServeArgs) -> anyhow::Result<i32> {
    let schedule = match &args.schedule {
        Some(text) => Some(crate::config::parse_schedule(text, "--schedule")?),
        None => config.monitoring.schedule.clone(),
    };
    if schedule.is_some() {
        // A scheduled run needs the API settings: say so now, not at the first tick.
        config.api()?;
    }
    let state = WebState::from_config(config, None)?;
    let figment = web::figment(args.address, args.port);
    let rocket = web::build(state, figment)?;
    let config = config.clone();
    rocket::execute(async move {
        crate::alert::spawn_watch(&config);
        let schedule =
            schedule.map(|schedule| crate::schedule::spawn_scheduler(config.clone(), schedule));
        rocket
            .manage(web::Monitoring {
                metrics_public: config.monitoring.metrics_public,
                schedule,
            })
            .launch()
            .await
            .map(|_| ())
            .map_err(|err| anyhow::anyhow!("the dashboard stopped: {err}"))
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
    if password.is_empty() {
        return Err(exit::UsageError("the password is empty".into()).into());
    }
    println!("{}", web::auth::hash_password(password)?);
    Ok(exit::SUCCESS)
}

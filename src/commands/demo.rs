//! `lightsync demo`: the whole system without a Lightspeed account. The simulator runs in-process,
//! the database is `DATABASE_URL` or a throwaway local PostgreSQL (removed on exit), the import
//! runs with its progress display, then the dashboard serves with a generated password while the
//! store changes and an incremental sync runs every 30 seconds. Ctrl-C stops it cleanly.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use diesel::{sql_query, RunQueryDsl};

use crate::cli::DemoArgs;
use crate::config::{Config, Secret};
use crate::engine::{self, RunMode, RunRequest};
use crate::exit::{self, UsageError};
use crate::local_postgres::LocalPostgres;
use crate::simulator::{self, MutationCounts, SimulatorConfig, StoreShape};
use crate::web::{self, SyncLauncher, WebState};

/// Changes applied to the simulated store before each periodic sync.
const CHANGES_PER_ROUND: u32 = 40;

pub fn demo(mut config: Config, args: DemoArgs) -> anyhow::Result<i32> {
    let local = match config.database_url() {
        Ok(url) => {
            crate::outln!("using the database at {url}");
            None
        }
        Err(_) => {
            crate::outln!("DATABASE_URL is not set: starting a throwaway PostgreSQL ...");
            let server = LocalPostgres::start().map_err(|err| UsageError(format!("{err:#}")))?;
            let mut admin = crate::db::connect(&server.url("postgres"))?;
            sql_query("CREATE DATABASE lightsync_demo").execute(&mut admin)?;
            config.set_database_url(server.url("lightsync_demo"));
            crate::outln!(
                "throwaway PostgreSQL on 127.0.0.1:{} in {} (removed when the demo stops)",
                server.port(),
                server.data_dir().display()
            );
            Some(server)
        }
    };
    let checkpoint = tempfile::Builder::new()
        .prefix("lightsync-demo-")
        .tempdir()?;
    config.engine.checkpoint_dir = checkpoint.path().join("checkpoint");
    let password = web::auth::random_token()[..16].to_string();
    config.set_dashboard_password(Secret::new(password.clone()));

    let result = super::runtime()?.block_on(run_demo(config, args, password));
    drop(local);
    drop(checkpoint);
    result?;
    crate::outln!("demo stopped; its throwaway data was removed");
    Ok(exit::SUCCESS)
}

async fn run_demo(mut config: Config, args: DemoArgs, password: String) -> anyhow::Result<()> {
    let shape = StoreShape {
        seed: 1,
        outlets: 3,
        products: (args.sales / 5).max(50),
        customers: (args.sales / 4).max(50),
        sales: args.sales,
        registers: 1,
    };
    let simulator = simulator::spawn(
        SimulatorConfig {
            shape,
            rate_limited: false,
            control: true,
            ..SimulatorConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .context("starting the simulator")?;
    crate::outln!("simulated Lightspeed store at {}", simulator.base_url());
    config.set_api(simulator.base_url().parse()?, Secret::new("simulator"));

    crate::outln!(
        "historical import of {} sales and the other entities ...",
        args.sales
    );
    let report = engine::run(
        &config,
        RunRequest {
            mode: RunMode::Import,
            restart: false,
            entities: Vec::new(),
        },
    )
    .await?;
    crate::out!("{}", report.summary_table());

    let state_config = config.clone();
    let checkpoint_dir = config.engine.checkpoint_dir.clone();
    let base_url = simulator.base_url();
    let state = tokio::task::spawn_blocking(move || -> anyhow::Result<WebState> {
        let mut state = WebState::from_config(&state_config, None)?;
        state.launcher = SyncLauncher::with_executable(
            std::env::current_exe()?,
            state.url.clone(),
            None,
            vec![
                ("LIGHTSPEED_BASE_URL".into(), base_url),
                ("LIGHTSPEED_TOKEN".into(), "simulator".into()),
                (
                    "LIGHTSYNC_CHECKPOINT_DIR".into(),
                    checkpoint_dir.display().to_string(),
                ),
            ],
        );
        Ok(state)
    })
    .await??;
    let secret = web::front_door::DoorSecret::random();
    let mut state = state;
    state.door_secret = Some(secret.clone());
    let (public, figment) = web::front_door::behind_the_door(web::figment(
        Some([127, 0, 0, 1].into()),
        Some(args.port),
    ))?;
    let cannot_start = |err: &dyn std::fmt::Display| {
        anyhow::anyhow!(
            "the dashboard could not start on port {}: {err} (pick another with --port)",
            args.port
        )
    };
    let door = web::front_door::Door::bind(public, secret)
        .await
        .map_err(|err| cannot_start(&err))?;
    let rocket = door
        .open(web::build(state, figment)?)
        .ignite()
        .await
        .map_err(|err| cannot_start(&err))?;
    let shutdown = rocket.shutdown();
    let mut server = tokio::spawn(rocket.launch());
    wait_until_listening(args.port).await;
    crate::outln!();
    crate::outln!("dashboard: http://127.0.0.1:{}/", args.port);
    crate::outln!("password:  {password}");
    crate::outln!(
        "every {} s the simulated store changes and an incremental sync runs; Ctrl-C stops the demo",
        args.every_secs
    );

    let mut rounds = tokio::time::interval(Duration::from_secs(args.every_secs.max(1)));
    rounds.tick().await;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                crate::outln!("stopping ...");
                break;
            }
            ended = &mut server => {
                simulator.shutdown().await;
                return match ended {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(err)) => Err(anyhow::anyhow!("the dashboard stopped: {err}")),
                    Err(err) => Err(anyhow::anyhow!("the dashboard task failed: {err}")),
                };
            }
            _ = rounds.tick() => {
                let changes = simulator.mutate(CHANGES_PER_ROUND);
                log::info!("simulated store changed: {}", describe_changes(&changes));
                match engine::run(&config, RunRequest { mode: RunMode::Incremental, restart: false, entities: Vec::new() }).await {
                    Ok(report) if report.succeeded() => log::info!("incremental sync {} finished", report.run_id),
                    Ok(report) => log::warn!("incremental sync {} had failures", report.run_id),
                    Err(err) => log::warn!("incremental sync skipped: {err:#}"),
                }
            }
        }
    }
    shutdown.notify();
    let _ = server.await;
    simulator.shutdown().await;
    Ok(())
}

/// The round's changes in one line for people, e.g. "12 new sales, 3 sales voided, 5 products
/// updated"; only what happened is named.
fn describe_changes(changes: &MutationCounts) -> String {
    let parts: Vec<String> = [
        (changes.new_sales, "new sale", "new sales"),
        (changes.sale_voids, "sale voided", "sales voided"),
        (
            changes.sale_line_changes,
            "sale's lines changed",
            "sales' lines changed",
        ),
        (changes.new_customers, "new customer", "new customers"),
        (
            changes.customer_updates,
            "customer updated",
            "customers updated",
        ),
        (
            changes.customer_deletes,
            "customer deleted",
            "customers deleted",
        ),
        (
            changes.product_updates,
            "product updated",
            "products updated",
        ),
        (
            changes.product_deletes,
            "product deleted",
            "products deleted",
        ),
        (
            changes.inventory_updates,
            "stock level changed",
            "stock levels changed",
        ),
        (changes.outlet_updates, "outlet updated", "outlets updated"),
    ]
    .into_iter()
    .filter(|(count, _, _)| *count > 0)
    .map(|(count, one, many)| format!("{count} {}", if count == 1 { one } else { many }))
    .collect();
    if parts.is_empty() {
        "nothing".to_string()
    } else {
        parts.join(", ")
    }
}

/// How long the dashboard may take to accept connections once launched.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits until the dashboard accepts connections on `port` (Rocket binds in `launch`), so
/// the URL printed next can be opened at once; gives up silently after `LISTEN_TIMEOUT`.
async fn wait_until_listening(port: u16) {
    let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_as_one_line_naming_only_what_happened() {
        let changes = MutationCounts {
            new_sales: 12,
            sale_voids: 1,
            product_updates: 5,
            ..MutationCounts::default()
        };
        assert_eq!(
            describe_changes(&changes),
            "12 new sales, 1 sale voided, 5 products updated"
        );
        assert_eq!(describe_changes(&MutationCounts::default()), "nothing");
    }
}

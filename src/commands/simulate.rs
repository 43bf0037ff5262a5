//! `lightsync simulate`: the simulated X-Series API in the foreground.

use std::net::SocketAddr;
use std::time::Duration;

use crate::cli::SimulateArgs;
use crate::exit::UsageError;
use crate::simulator::{self, DeliveryFaults, FaultKind, SimulatorConfig, StoreShape};

pub fn simulate(args: SimulateArgs) -> anyhow::Result<i32> {
    let config = simulator_config(&args)?;
    let address = SocketAddr::new(args.address, args.port);
    super::runtime()?.block_on(simulator::run(config, address))?;
    Ok(crate::exit::SUCCESS)
}

fn simulator_config(args: &SimulateArgs) -> anyhow::Result<SimulatorConfig> {
    if !(0.0..=1.0).contains(&args.fail_rate) {
        return Err(UsageError(format!("--fail-rate {} is outside 0..1", args.fail_rate)).into());
    }
    for (flag, share) in [
        ("--webhook-loss", args.webhook_loss),
        ("--webhook-duplicate", args.webhook_duplicate),
    ] {
        if !(0.0..=1.0).contains(&share) {
            return Err(UsageError(format!("{flag} {share} is outside 0..1")).into());
        }
    }
    if let Some(url) = &args.webhook_url {
        if !url.starts_with("http://") && !url.starts_with("https://") {
            return Err(UsageError(format!("--webhook-url `{url}` is not an http(s) URL")).into());
        }
    }
    if args.window_secs == 0 {
        return Err(UsageError("--window-secs must be at least 1".into()).into());
    }
    let fail_kinds = args
        .fail_kinds
        .iter()
        .map(|kind| {
            kind.parse::<FaultKind>()
                .map_err(|err| UsageError(format!("--fail-kinds: {err}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = SimulatorConfig {
        shape: StoreShape {
            seed: args.seed,
            outlets: args.outlets,
            products: args.products,
            customers: args.customers,
            sales: args.sales,
            registers: args.registers,
        },
        token: args.token.clone(),
        page_cap: args.page_cap.max(1),
        sales_page_cap: args.sales_page_cap,
        rate_limited: !args.no_rate_limit,
        rate_limit_override: args.rate_limit,
        window: Duration::from_secs(args.window_secs),
        fail_rate: args.fail_rate,
        fail_kinds,
        slow: Duration::from_millis(args.slow_ms),
        changes_per_minute: args.changes_per_minute,
        control: args.control,
        gzip: !args.no_gzip,
        webhook_url: args.webhook_url.clone(),
        webhook_faults: DeliveryFaults {
            loss: args.webhook_loss,
            duplicate: args.webhook_duplicate,
            max_delay: Duration::from_millis(args.webhook_delay_ms),
        },
        ..SimulatorConfig::default()
    };
    for quirk in &args.quirks {
        if let Ok(share) = quirk.parse::<f64>() {
            if !(0.0..=1.0).contains(&share) {
                return Err(
                    UsageError(format!("--quirks {share}: a share must be within 0..1")).into(),
                );
            }
            config.odd_values = share;
            continue;
        }
        match quirk.as_str() {
            "no-version" => config.quirk_no_version_member = true,
            "money-strings" => config.quirk_money_as_strings = true,
            "ignore-after" => config.quirk_ignore_after = true,
            "categories-nested" => config.quirk_categories_nested = true,
            "lines-ignore-after" => config.quirk_lines_ignore_after = true,
            "unidentified-sales" => config.quirk_unidentified_sales = true,
            other => {
                return Err(UsageError(format!(
                    "--quirks: unknown quirk `{other}` (expected a share such as 0.01, no-version, money-strings, ignore-after, categories-nested, lines-ignore-after or unidentified-sales)"
                ))
                .into())
            }
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config_of(args: &[&str]) -> anyhow::Result<SimulatorConfig> {
        let cli =
            crate::cli::Cli::try_parse_from(["lightsync", "simulate"].iter().chain(args).copied())
                .unwrap();
        match cli.command {
            crate::cli::Command::Simulate(args) => simulator_config(&args),
            _ => unreachable!("parsed as simulate"),
        }
    }

    #[test]
    fn every_documented_quirk_is_accepted_and_an_unknown_one_is_named() {
        let config = config_of(&[
            "--quirks",
            "0.01,categories-nested,lines-ignore-after,unidentified-sales,no-version,money-strings,ignore-after",
        ])
        .unwrap();
        assert!(config.quirk_categories_nested && config.quirk_lines_ignore_after);
        assert!(config.quirk_unidentified_sales && config.quirk_no_version_member);
        assert!(config.quirk_money_as_strings && config.quirk_ignore_after);
        assert_eq!(config.odd_values, 0.01);
        let err = config_of(&["--quirks", "categories-by-id"]).unwrap_err();
        assert!(err.to_string().contains("unknown quirk `categories-by-id`"));
    }
}

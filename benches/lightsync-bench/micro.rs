//! Micro measurements: the simulator's serving rate and the client's decode rate.

use super::*;

/// The simulator's serving rate (one client thread paging sales without decoding) and the
/// client's page decode rate (records per second on one core).
pub(crate) fn micro(line: &mut impl FnMut(String)) -> anyhow::Result<()> {
    let simulator = Simulator::start(100_000, &["--no-rate-limit"])?;
    let http = reqwest::blocking::Client::new();
    let mut after = 0i64;
    let mut records = 0u64;
    let mut bodies = Vec::new();
    let started = Instant::now();
    loop {
        let body = http
            .get(format!(
                "{}/sales?after={after}&page_size=1000",
                simulator.base_url
            ))
            .bearer_auth("simulator")
            .send()?
            .bytes()?;
        // Only the envelope's tail (`"version":{"min":..,"max":N}}`) is read, so the measuring
        // client does not compete with the simulator for the CPU it measures.
        let tail = std::str::from_utf8(&body[body.len().saturating_sub(64)..]).unwrap_or("");
        let Some(max) = tail
            .rsplit_once("\"max\":")
            .and_then(|(_, rest)| rest.trim_end_matches('}').parse::<i64>().ok())
        else {
            break;
        };
        // One `invoice_number` per sale (line items and payments have none).
        records += std::str::from_utf8(&body)
            .map_or(0, |text| text.matches("\"invoice_number\":").count() as u64);
        after = max;
        if bodies.len() < 10 {
            bodies.push(body);
        }
    }
    let serving = records as f64 / started.elapsed().as_secs_f64();
    line("## Simulator and client".into());
    line(String::new());
    line(format!("- simulator serving rate: {serving:.0} sales/s ({records} sales with their line items, one client connection, no decoding)"));
    let started = Instant::now();
    let mut decoded = 0u64;
    for _ in 0..5 {
        for body in &bodies {
            decoded += lightsync::lightspeed::decode_page(Entity::Sales, 0, body)?
                .records
                .len() as u64;
        }
    }
    line(format!(
        "- client decode rate: {:.0} sales/s on one core (full typed decoding with line items and payments)",
        decoded as f64 / started.elapsed().as_secs_f64()
    ));
    line(String::new());
    Ok(())
}

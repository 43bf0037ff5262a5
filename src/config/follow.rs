//! How often `serve --follow` polls each entity: the defaults, chosen from how often each part
//! of a store changes, and the `LIGHTSYNC_FOLLOW` / `--follow` text that overrides them
//! (`sales:30s,inventory:60s,*:1h`).

use std::fmt;
use std::time::Duration;

use crate::entity::Entity;

/// The shortest poll interval accepted: an incremental run of one entity costs at least one
/// request, and a store's quota is 350 requests per 5 minutes at its smallest.
pub const MIN_INTERVAL: Duration = Duration::from_secs(5);

/// Every entity's poll interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowPlan {
    intervals: Vec<(Entity, Duration)>,
}

impl Default for FollowPlan {
    /// Sales every 30 s and stock every minute (a till changes them all day), products,
    /// customers and consignments every 5 minutes, the reference data hourly: about 19 requests
    /// per 5 minutes for an idle store, under 6% of the smallest quota.
    fn default() -> Self {
        let interval = |entity| match entity {
            Entity::Sales => Duration::from_secs(30),
            Entity::Inventory => Duration::from_secs(60),
            Entity::Products | Entity::Customers | Entity::Consignments => Duration::from_secs(300),
            _ => Duration::from_secs(3600),
        };
        FollowPlan {
            intervals: Entity::ALL
                .into_iter()
                .map(|entity| (entity, interval(entity)))
                .collect(),
        }
    }
}

impl FollowPlan {
    /// Reads `entity:interval` pairs separated by commas over the defaults; `*` names every
    /// entity not named otherwise. An empty text, `1`, `true` or `default` is the defaults.
    pub fn parse(text: &str) -> Result<FollowPlan, String> {
        let mut plan = FollowPlan::default();
        let text = text.trim();
        if matches!(text, "" | "1" | "true" | "default" | "on") {
            return Ok(plan);
        }
        let mut named = Vec::new();
        let mut others = None;
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let Some((name, interval)) = part.split_once(':') else {
                return Err(format!(
                    "`{part}` is not entity:interval (e.g. sales:30s,inventory:60s,*:1h)"
                ));
            };
            let interval = parse_interval(interval.trim())?;
            match name.trim() {
                "*" => others = Some(interval),
                name => {
                    let entity: Entity = name.parse().map_err(|_| {
                        format!("`{name}` is not an entity (for example sales, inventory, products, or * for the others)")
                    })?;
                    named.push((entity, interval));
                }
            }
        }
        for (entity, interval) in &mut plan.intervals {
            if let Some(every) = others {
                *interval = every;
            }
            if let Some((_, every)) = named.iter().rev().find(|(named, _)| named == entity) {
                *interval = *every;
            }
        }
        Ok(plan)
    }

    /// How often `entity` is polled.
    pub fn interval(&self, entity: Entity) -> Duration {
        self.intervals
            .iter()
            .find(|(each, _)| *each == entity)
            .map(|(_, interval)| *interval)
            .expect("every entity has an interval")
    }
}

impl fmt::Display for FollowPlan {
    /// The intervals from the most frequent, entities of one interval together:
    /// `sales 30s; inventory 1m; products, customers, consignments 5m; 16 others 1h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut intervals: Vec<Duration> = self.intervals.iter().map(|(_, d)| *d).collect();
        intervals.sort();
        intervals.dedup();
        let groups: Vec<String> = intervals
            .iter()
            .map(|interval| {
                let names: Vec<&str> = self
                    .intervals
                    .iter()
                    .filter(|(_, each)| each == interval)
                    .map(|(entity, _)| entity.name())
                    .collect();
                let who = if names.len() > 5 {
                    format!("{} entities", names.len())
                } else {
                    names.join(", ")
                };
                format!("{who} {}", format_interval(*interval))
            })
            .collect();
        f.write_str(&groups.join("; "))
    }
}

/// `30s`, `5m`, `1h`, `1d`, or a bare number of seconds; at least `MIN_INTERVAL`.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not an interval such as 30s, 5m or 1h"))?;
    let unit_secs = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{text}` is not an interval such as 30s, 5m or 1h")),
    };
    let interval = Duration::from_secs(number.saturating_mul(unit_secs));
    if interval < MIN_INTERVAL {
        return Err(format!(
            "`{text}` is shorter than {} s, the shortest poll interval",
            MIN_INTERVAL.as_secs()
        ));
    }
    Ok(interval)
}

/// An interval the way `parse_interval` reads it, in its largest whole unit.
pub fn format_interval(interval: Duration) -> String {
    let secs = interval.as_secs();
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_entities_override_the_star_which_overrides_the_defaults() {
        let plan = FollowPlan::parse("sales:10s, *:2h, inventory:90").unwrap();
        assert_eq!(plan.interval(Entity::Sales), Duration::from_secs(10));
        assert_eq!(plan.interval(Entity::Inventory), Duration::from_secs(90));
        assert_eq!(plan.interval(Entity::Brands), Duration::from_secs(7200));
        assert_eq!(plan.interval(Entity::Products), Duration::from_secs(7200));
        let defaults = FollowPlan::parse("true").unwrap();
        assert_eq!(defaults, FollowPlan::default());
        assert_eq!(defaults.interval(Entity::Sales), Duration::from_secs(30));
        assert_eq!(defaults.interval(Entity::Tags), Duration::from_secs(3600));
        assert_eq!(
            defaults.to_string(),
            "sales 30s; inventory 1m; products, customers, consignments 5m; 16 entities 1h"
        );
    }

    #[test]
    fn a_bad_plan_names_the_part_to_fix() {
        let err = FollowPlan::parse("sales:30s,widgets:1m").unwrap_err();
        assert!(err.contains("`widgets` is not an entity"), "{err}");
        let err = FollowPlan::parse("sales=30s").unwrap_err();
        assert!(err.contains("`sales=30s` is not entity:interval"), "{err}");
        let err = FollowPlan::parse("sales:2s").unwrap_err();
        assert!(err.contains("shorter than 5 s"), "{err}");
        let err = FollowPlan::parse("sales:30x").unwrap_err();
        assert!(err.contains("`30x` is not an interval"), "{err}");
    }

    #[test]
    fn an_interval_prints_as_it_is_read() {
        for text in ["30s", "5m", "1h", "2d", "90s"] {
            assert_eq!(format_interval(parse_interval(text).unwrap()), text);
        }
    }
}

//! The configuration flags every command accepts. clap reads each one's environment variable
//! when the flag is absent (`env = vars::...`), so a value arrives here from either source.

use std::path::PathBuf;

use clap::Args;

use super::vars;

/// Flags every command accepts; each overrides its environment variable.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigFlags {
    /// PostgreSQL URL
    #[arg(long, global = true, value_name = "URL", env = vars::DATABASE_URL, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Full API base URL, e.g. https://NAME.retail.lightspeed.app/api/2.0
    #[arg(long, global = true, value_name = "URL", env = vars::BASE_URL, hide_env_values = true)]
    pub base_url: Option<String>,
    /// Store name in https://NAME.retail.lightspeed.app
    #[arg(long, global = true, value_name = "NAME", env = vars::DOMAIN_PREFIX, hide_env_values = true)]
    pub domain_prefix: Option<String>,
    /// API token; prefer the environment, since flags are visible to other users
    #[arg(long, global = true, value_name = "TOKEN", hide = true, env = vars::TOKEN, hide_env_values = true)]
    pub token: Option<String>,
    /// Checkpoint store directory [default: ./.lightsync]
    #[arg(long, global = true, value_name = "DIR", env = vars::CHECKPOINT_DIR, hide_env_values = true)]
    pub checkpoint_dir: Option<PathBuf>,
    /// Records per API page [default: 10000]
    #[arg(long, global = true, value_name = "N", env = vars::PAGE_SIZE, hide_env_values = true)]
    pub page_size: Option<String>,
}

/// Where a setting's value came from, so an error names what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, e.g. `--page-size`.
    Flag(&'static str),
    /// An environment variable (or `.env`).
    Variable(&'static str),
}

impl Origin {
    /// The flag or variable as the user would type it.
    pub fn name(self) -> &'static str {
        match self {
            Origin::Flag(flag) | Origin::Variable(flag) => flag,
        }
    }
}

/// One setting's raw text and where it came from.
#[derive(Debug, Clone)]
pub struct Setting {
    pub value: String,
    pub origin: Origin,
}

/// Looks settings up in the flags and a variable lookup (the process environment in
/// production, a map in tests).
pub struct Inputs<'a> {
    pub flags: &'a ConfigFlags,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Inputs<'_> {
    /// A variable that has no flag; blank counts as unset.
    pub fn variable(&self, variable: &'static str) -> Option<Setting> {
        (self.env)(variable)
            .filter(|value| !value.trim().is_empty())
            .map(|value| Setting {
                value,
                origin: Origin::Variable(variable),
            })
    }

    /// A setting with a flag. clap fills the flag from the variable when the flag is absent, so
    /// a value equal to the variable's is attributed to the variable.
    pub fn flagged(
        &self,
        flag_value: Option<&str>,
        flag: &'static str,
        variable: &'static str,
    ) -> Option<Setting> {
        let from_env = self.variable(variable);
        match flag_value.filter(|value| !value.trim().is_empty()) {
            Some(value) if from_env.as_ref().map(|s| s.value.as_str()) != Some(value) => {
                Some(Setting {
                    value: value.to_string(),
                    origin: Origin::Flag(flag),
                })
            }
            _ => from_env,
        }
    }
}

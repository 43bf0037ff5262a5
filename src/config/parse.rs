//! Typed readings of one setting's text. Every error names the flag or variable it came from.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use super::flags::Setting;
use super::ConfigError;

impl Setting {
    /// An error about this setting's value.
    pub fn invalid(&self, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            variable: self.origin.name(),
            reason: reason.into(),
        }
    }

    /// A whole number within `range`.
    pub fn number<T>(&self, range: RangeInclusive<T>) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + fmt::Display + Copy,
    {
        let value = self.value.trim();
        let number: T = value
            .parse()
            .map_err(|_| self.invalid(format!("`{value}` is not a whole number")))?;
        if !range.contains(&number) {
            return Err(self.invalid(format!(
                "{number} is out of range; expected {} to {}",
                range.start(),
                range.end()
            )));
        }
        Ok(number)
    }

    /// A positive, finite number of hours.
    pub fn hours(&self) -> Result<f64, ConfigError> {
        match self.value.trim().parse::<f64>() {
            Ok(hours) if hours > 0.0 && hours.is_finite() => Ok(hours),
            _ => Err(self.invalid(format!(
                "`{}` is not a positive number of hours",
                self.value
            ))),
        }
    }

    /// A share in (0, 1].
    pub fn share(&self) -> Result<f64, ConfigError> {
        let value = self.value.trim();
        let share: f64 = value.parse().map_err(|_| {
            self.invalid(format!(
                "`{value}` is not a number; expected a share such as 0.95"
            ))
        })?;
        if !(share > 0.0 && share <= 1.0) {
            return Err(self.invalid(format!(
                "{share} is outside (0, 1]; expected a share such as 0.95"
            )));
        }
        Ok(share)
    }

    /// `true`/`1` or `false`/`0`.
    pub fn flag(&self) -> Result<bool, ConfigError> {
        match self.value.trim() {
            "1" | "true" => Ok(true),
            "0" | "false" => Ok(false),
            other => Err(self.invalid(format!("`{other}` is not true or false"))),
        }
    }
}

/// A number setting, or `default` when unset.
pub fn number_or<T>(
    setting: Option<Setting>,
    default: T,
    range: RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    setting.map_or(Ok(default), |setting| setting.number(range))
}

//! Physical quantities as users write them (`"2.5 ns"`, `"6.25 Gbit/s"`, `"1 GHz"`).
//!
//! The file speaks physical units so that a config can be checked against a data sheet;
//! the model speaks whole cycles and flits. Conversion happens once, in
//! [`crate::config::Params`], never inside the simulation loop.

use serde::{Deserialize, Deserializer, de};
use std::fmt;

/// A time span: an integer number of router cycles, or a string with a unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Duration {
    Cycles(u64),
    Seconds(f64),
}

impl Duration {
    /// Whole cycles at `clock_hz`, rounded up: a stage that needs 2.1 cycles of time
    /// occupies 3 clock edges in hardware.
    pub fn to_cycles(self, clock_hz: f64) -> u64 {
        match self {
            Duration::Cycles(c) => c,
            Duration::Seconds(s) => {
                let c = s * clock_hz;
                // Tolerate representation error (e.g. 3.0000000001 cycles is 3).
                let r = c.round();
                if (c - r).abs() < 1e-6 {
                    r as u64
                } else {
                    c.ceil() as u64
                }
            }
        }
    }
}

/// A number as people write it: at most 12 significant digits, so that the binary
/// representation error of a unit conversion (`48e-9 * 1e9 = 48.00000000000001`) does
/// not reach a result file or a message.
pub fn clean_number(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    let rounded: f64 = format!("{x:.11e}").parse().unwrap_or(x);
    format!("{rounded}")
}

/// `value` scaled to the largest of `units` (factor, name) it reaches, e.g. 4.8e-8 s
/// as "48 ns"; the first unit is used below all of them.
fn scaled(value: f64, units: &[(f64, &str)]) -> String {
    let (factor, name) = units
        .iter()
        .rev()
        .find(|(f, _)| value >= *f * 0.999_999_999_999)
        .unwrap_or(&units[0]);
    format!("{} {name}", clean_number(value / factor))
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Duration::Cycles(c) => write!(f, "{c} cycles"),
            Duration::Seconds(s) => f.write_str(&scaled(
                *s,
                &[
                    (1e-12, "ps"),
                    (1e-9, "ns"),
                    (1e-6, "us"),
                    (1e-3, "ms"),
                    (1.0, "s"),
                ],
            )),
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&scaled(
            self.0,
            &[(1.0, "Hz"), (1e3, "kHz"), (1e6, "MHz"), (1e9, "GHz")],
        ))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::BitsPerSecond(b) => f.write_str(&scaled(
                *b,
                &[
                    (1.0, "bit/s"),
                    (1e3, "kbit/s"),
                    (1e6, "Mbit/s"),
                    (1e9, "Gbit/s"),
                ],
            )),
            Rate::FlitsPerCycle(x) => write!(f, "{} flit/cycle", clean_number(*x)),
        }
    }
}

/// A clock frequency in hertz.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Frequency(pub f64);

/// A data rate: bits per second, or flits per cycle when given in model units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    BitsPerSecond(f64),
    FlitsPerCycle(f64),
}

fn split_number(s: &str) -> Option<(f64, String)> {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|(_, c)| {
            !(c.is_ascii_digit() || *c == '.' || *c == '-' || *c == '+' || *c == 'e' || *c == 'E')
        })
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    // 'e' may start a unit only if nothing numeric follows; units here never start with 'e'.
    let (num, unit) = s.split_at(end);
    let v: f64 = num.trim().parse().ok()?;
    Some((v, unit.trim().to_ascii_lowercase()))
}

/// Parses `"12 ns"`, `"0.5us"`, `"3 cycles"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (v, unit) = split_number(s).ok_or_else(|| {
        format!("`{s}` is not a duration; expected e.g. \"5 ns\" or \"3 cycles\"")
    })?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("`{s}`: a duration must be zero or positive"));
    }
    let secs = match unit.as_str() {
        "" | "cycle" | "cycles" => {
            if v.fract() != 0.0 {
                return Err(format!("`{s}`: cycles must be a whole number"));
            }
            return Ok(Duration::Cycles(v as u64));
        }
        "ps" => v * 1e-12,
        "ns" => v * 1e-9,
        "us" | "µs" => v * 1e-6,
        "ms" => v * 1e-3,
        "s" => v,
        _ => {
            return Err(format!(
                "`{s}`: unknown time unit `{unit}`; expected cycles, ps, ns, us, ms or s"
            ));
        }
    };
    Ok(Duration::Seconds(secs))
}

/// Parses `"1 GHz"`, `"250 MHz"`.
pub fn parse_frequency(s: &str) -> Result<Frequency, String> {
    let (v, unit) = split_number(s)
        .ok_or_else(|| format!("`{s}` is not a frequency; expected e.g. \"1 GHz\""))?;
    let hz = match unit.as_str() {
        "hz" => v,
        "khz" => v * 1e3,
        "mhz" => v * 1e6,
        "ghz" => v * 1e9,
        _ => {
            return Err(format!(
                "`{s}`: unknown frequency unit `{unit}`; expected Hz, kHz, MHz or GHz"
            ));
        }
    };
    if !hz.is_finite() || hz <= 0.0 {
        return Err(format!("`{s}`: a frequency must be positive"));
    }
    Ok(Frequency(hz))
}

/// Parses `"6.25 Gbit/s"`, `"500 MB/s"`, `"1 flit/cycle"`.
pub fn parse_rate(s: &str) -> Result<Rate, String> {
    let (v, unit) = split_number(s).ok_or_else(|| {
        format!("`{s}` is not a rate; expected e.g. \"6.25 Gbit/s\" or \"1 flit/cycle\"")
    })?;
    if !v.is_finite() || v <= 0.0 {
        return Err(format!("`{s}`: a rate must be positive"));
    }
    let bps = match unit.as_str() {
        "flit/cycle" | "flits/cycle" => return Ok(Rate::FlitsPerCycle(v)),
        "bit/s" | "bps" => v,
        "kbit/s" => v * 1e3,
        "mbit/s" => v * 1e6,
        "gbit/s" => v * 1e9,
        "b/s" => v * 8.0,
        "kb/s" => v * 8e3,
        "mb/s" => v * 8e6,
        "gb/s" => v * 8e9,
        _ => {
            return Err(format!(
                "`{s}`: unknown rate unit `{unit}`; expected bit/s, Mbit/s, Gbit/s, B/s, MB/s, GB/s or flit/cycle"
            ));
        }
    };
    Ok(Rate::BitsPerSecond(bps))
}

struct Visitor<T>(
    fn(&str) -> Result<T, String>,
    Option<fn(u64) -> T>,
    &'static str,
);

impl<'de, T> de::Visitor<'de> for Visitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.2)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.0)(v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        match self.1 {
            Some(f) if v >= 0 => Ok(f(v as u64)),
            Some(_) => Err(E::custom(format!("{v} is negative; expected {}", self.2))),
            None => Err(E::invalid_type(de::Unexpected::Signed(v), &self.2)),
        }
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        match self.1 {
            Some(f) => Ok(f(v)),
            None => Err(E::invalid_type(de::Unexpected::Unsigned(v), &self.2)),
        }
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Visitor(
            parse_duration,
            Some(Duration::Cycles),
            "a whole number of cycles or a string such as \"5 ns\"",
        ))
    }
}

impl<'de> Deserialize<'de> for Frequency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Visitor(
            parse_frequency,
            None,
            "a frequency string such as \"1 GHz\"",
        ))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Visitor(
            parse_rate,
            None,
            "a rate string such as \"6.25 Gbit/s\" or \"1 flit/cycle\"",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3 cycles").unwrap(), Duration::Cycles(3));
        assert_eq!(parse_duration("2.5 ns").unwrap().to_cycles(1e9), 3);
        assert_eq!(parse_duration("2 ns").unwrap().to_cycles(1e9), 2);
        assert_eq!(parse_duration("12 ns").unwrap().to_cycles(250e6), 3);
        assert!(parse_duration("-1 ns").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("1.5 cycles").is_err());
    }

    #[test]
    fn rates_and_frequencies() {
        assert_eq!(
            parse_rate("6.25 Gbit/s").unwrap(),
            Rate::BitsPerSecond(6.25e9)
        );
        assert_eq!(
            parse_rate("1 flit/cycle").unwrap(),
            Rate::FlitsPerCycle(1.0)
        );
        assert_eq!(parse_frequency("250 MHz").unwrap(), Frequency(250e6));
        assert!(parse_frequency("0 GHz").is_err());
        assert!(parse_rate("fast").is_err());
    }

    #[test]
    fn display_without_float_noise() {
        assert_eq!(parse_duration("48 ns").unwrap().to_string(), "48 ns");
        assert_eq!(parse_duration("876 ns").unwrap().to_string(), "876 ns");
        assert_eq!(parse_duration("1.5 us").unwrap().to_string(), "1.5 us");
        assert_eq!(parse_duration("0.5 ns").unwrap().to_string(), "500 ps");
        assert_eq!(parse_frequency("250 MHz").unwrap().to_string(), "250 MHz");
        assert_eq!(parse_frequency("1 GHz").unwrap().to_string(), "1 GHz");
        assert_eq!(
            parse_rate("6.25 Gbit/s").unwrap().to_string(),
            "6.25 Gbit/s"
        );
        assert_eq!(parse_rate("500 MB/s").unwrap().to_string(), "4 Gbit/s");
        assert_eq!(clean_number(0.1 + 0.2), "0.3");
    }
}

//! Loading, overriding and resolving configuration files.
//!
//! A config goes through three steps: the TOML text is parsed into the typed
//! [`schema::Config`] (syntax and type errors carry file and line), `--set` overrides are
//! applied, and the result is resolved into [`Params`]: integers in cycles and flits,
//! checked for consistency. Only `Params` reaches the simulator.

pub mod faults;
pub mod params;
pub mod resolved;
pub mod schema;
pub mod spec;
pub mod units;

pub use params::Params;
pub use resolved::resolved_json;
pub use schema::Config;

use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration problem, reported as `file:line: key: message`, followed by the
/// other keys the check combined (each with its line, or `--set`), so a user can find
/// every value that took part.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
    /// Other keys the failed check read; filled with where they are set at load.
    pub also: Vec<String>,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            line: None,
            key: Some(key.into()),
            message: message.into(),
            also: Vec::new(),
        }
    }

    /// The error also names `keys`, which the failed check combined with the first.
    pub fn with(mut self, keys: &[&str]) -> Self {
        self.also.extend(keys.iter().map(|k| k.to_string()));
        self
    }

    /// A message without a key (the file as a whole).
    pub fn plain(message: impl Into<String>) -> Self {
        ConfigError {
            key: None,
            ..ConfigError::new("", message)
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(p), Some(l)) => write!(f, "{}:{}: ", p.display(), l)?,
            (Some(p), None) => write!(f, "{}: ", p.display())?,
            _ => {}
        }
        if let Some(k) = &self.key {
            write!(f, "`{k}`: ")?;
        }
        write!(f, "{}", self.message)?;
        if !self.also.is_empty() {
            write!(f, " (with {})", self.also.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Reads, overrides and resolves a config file.
pub fn load(path: &Path, overrides: &[String]) -> Result<(Config, Params), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: Some(path.to_path_buf()),
        ..ConfigError::plain(format!("cannot read config: {e}"))
    })?;
    load_str(&text, Some(path), overrides)
}

/// Like [`load`], from text already in memory (`path` only labels errors).
pub fn load_str(
    text: &str,
    path: Option<&Path>,
    overrides: &[String],
) -> Result<(Config, Params), ConfigError> {
    let with_file = |mut e: ConfigError| {
        e.file = path.map(Path::to_path_buf);
        e
    };
    if text.trim().is_empty() {
        return Err(with_file(ConfigError::plain(
            "the config is empty; it needs at least `[topology] shape = [...]`",
        )));
    }
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| with_file(toml_error(text, &e)))?;
    // Type-check the file as written, so errors point at its lines.
    let _: Config = toml::from_str(text).map_err(|e| with_file(toml_error(text, &e)))?;
    let set_error = |o: &str, e: toml::de::Error| {
        ConfigError::new(format!("--set {o}"), clean_message(e.message()))
    };
    for o in overrides {
        apply_override(&mut table, o).map_err(with_file)?;
        // Type-check after each override, so an error names the override at fault.
        let _: Config = toml::Value::Table(table.clone())
            .try_into()
            .map_err(|e| with_file(set_error(o, e)))?;
    }
    let config: Config = toml::Value::Table(table)
        .try_into()
        .map_err(|e| with_file(set_error("", e)))?;
    let origin = params::Origin {
        file: path.map(Path::to_path_buf),
        text: text.into(),
        overrides: overrides.to_vec(),
    };
    let mut params = Params::resolve(&config).map_err(|e| origin.locate(e))?;
    params.origin = origin;
    Ok((config, params))
}

/// Says where the keys of a check's error are set: a value that came from `--set` is
/// blamed on the override, not on a line of the file (which may set the same key to
/// something else); a key set in the file gets its line; a key set nowhere is a
/// default.
pub fn locate(mut e: ConfigError, text: &str, overrides: &[String]) -> ConfigError {
    let set_by = |k: &str| {
        overrides
            .iter()
            .rev()
            .find(|o| o.split_once('=').is_some_and(|(ok, _)| ok.trim() == k))
    };
    if let Some(k) = e.key.clone() {
        match set_by(&k) {
            Some(o) => e.key = Some(format!("--set {o}")),
            None => e.line = find_key_line(text, &k),
        }
    }
    e.also = std::mem::take(&mut e.also)
        .into_iter()
        .map(|k| match (set_by(&k), find_key_line(text, &k)) {
            (Some(o), _) => format!("`--set {o}`"),
            (None, Some(l)) => format!("`{k}` at line {l}"),
            (None, None) => format!("`{k}` (default)"),
        })
        .collect();
    e
}

fn clean_message(m: &str) -> String {
    m.trim().replace('\n', " ")
}

fn toml_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let line = e
        .span()
        .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    // A missing field is reported on the table that lacks it; for the top-level table
    // that is the whole file, not whatever key happens to be on its first line.
    let is_header = |l: usize| {
        text.lines()
            .nth(l - 1)
            .is_some_and(|t| t.trim().starts_with('['))
    };
    let (line, key) = match line {
        Some(l) if e.message().starts_with("missing field") && !is_header(l) => (None, None),
        _ => (line, line.and_then(|l| key_at_line(text, l))),
    };
    ConfigError {
        file: None,
        line,
        key,
        message: clean_message(e.message()),
        also: Vec::new(),
    }
}

/// The dotted key defined on a line (`[router]` then `buffer_flits = 0` gives
/// `router.buffer_flits`), to name the key in an error.
fn key_at_line(text: &str, line: usize) -> Option<String> {
    let mut table = String::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
        if i + 1 == line {
            if t.starts_with('[') {
                return Some(table);
            }
            let k = t.split('=').next()?.trim();
            if k.is_empty() || k.starts_with('#') {
                return None;
            }
            return Some(if table.is_empty() {
                k.to_string()
            } else {
                format!("{table}.{k}")
            });
        }
    }
    None
}

/// The line a dotted key is set on, if it is set in the file at all: found in the
/// parsed document, so keys inside inline tables (`pipeline = { vc_allocation = 0 }`)
/// and dotted keys (`router.buffer_flits = 4`) have their lines too.
pub fn find_key_line(text: &str, dotted: &str) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let parts: Vec<&str> = dotted.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let (k, v) = table.iter().find(|(k, _)| k.get_ref().as_ref() == *part)?;
        if i + 1 == parts.len() {
            let at = k.span().start;
            return Some(text[..at.min(text.len())].matches('\n').count() + 1);
        }
        match v.get_ref() {
            DeValue::Table(t) => table = t,
            _ => return None,
        }
    }
    None
}

/// Applies one `dotted.key=value` override. The value is read as TOML (`0.3`, `true`,
/// `[4, 4]`, `"uniform"`); a bare word is taken as a string.
pub fn apply_override(table: &mut toml::Table, spec: &str) -> Result<(), ConfigError> {
    let err = |m: String| ConfigError::new(format!("--set {spec}"), m);
    let (key, value) = spec
        .split_once('=')
        .ok_or_else(|| err("expected `dotted.key=value`".into()))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(err("the key is empty".into()));
    }
    let value = parse_value(value.trim());
    let parts: Vec<&str> = key.split('.').collect();
    let mut cur = table;
    for p in &parts[..parts.len() - 1] {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry
            .as_table_mut()
            .ok_or_else(|| err(format!("`{p}` is not a table")))?;
    }
    cur.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

fn parse_value(v: &str) -> toml::Value {
    let doc = format!("v = {v}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(v.to_string())),
        Err(_) => toml::Value::String(v.to_string()),
    }
}

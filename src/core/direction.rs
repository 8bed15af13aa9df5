//! Directions on the torus and the names of its dimensions.

/// A direction on the torus: dimension and sign (+1 or -1 as `false`/`true` for minus).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Direction {
    pub dim: usize,
    pub minus: bool,
}

impl Direction {
    pub fn name(self) -> String {
        format!(
            "{}{}",
            if self.minus { '-' } else { '+' },
            dim_name(self.dim)
        )
    }
}

/// Conventional names of the first dimensions; later ones are `d4`, `d5`, ...
pub fn dim_name(d: usize) -> String {
    match d {
        0 => "x".into(),
        1 => "y".into(),
        2 => "z".into(),
        3 => "w".into(),
        _ => format!("d{d}"),
    }
}

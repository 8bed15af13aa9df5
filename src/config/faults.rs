//! The fault set: failed links and nodes, named in the config or drawn at random, and
//! checked once, here, so that every later layer can rely on a valid set.
//!
//! A link is named by one of its ends and a direction (`"1,2 +x"` or, for the same
//! link, `"2,2 -x"`); internally every link is kept in the canonical form "node, plus
//! port", which each link has exactly once (also on rings of two nodes, where the `+`
//! and `-` ports of a node lead to the same neighbour over two different links).

use super::ConfigError;
use super::schema::FaultsConfig;
use crate::core::direction::dim_name;
use crate::core::grid::Grid;
use rand_core::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::{BTreeSet, VecDeque};

/// Resolved faults: canonical links `(node, 2 * dim)` and node ids, both sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultSet {
    pub links: Vec<(usize, usize)>,
    pub nodes: Vec<usize>,
}

impl FaultSet {
    pub fn is_empty(&self) -> bool {
        self.links.is_empty() && self.nodes.is_empty()
    }
}

/// Naming and parsing nodes of the torus being configured.
struct Geometry<'a> {
    shape: &'a [usize],
    grid: Grid,
}

impl Geometry<'_> {
    fn coord(&self, node: usize, d: usize) -> usize {
        self.grid.coord(node, d)
    }
    fn neighbor(&self, node: usize, port: usize) -> usize {
        self.grid.neighbor(node, port)
    }
    fn name(&self, node: usize) -> String {
        (0..self.shape.len())
            .map(|d| self.coord(node, d).to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
    fn parse_node(&self, key: &str, s: &str) -> Result<usize, ConfigError> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        if parts.len() != self.shape.len() {
            return Err(ConfigError::new(
                key,
                format!(
                    "`{s}`: expected {} coordinates separated by commas, e.g. \"{}\"",
                    self.shape.len(),
                    vec!["0"; self.shape.len()].join(",")
                ),
            ));
        }
        let mut node = 0;
        for (d, p) in parts.iter().enumerate() {
            let c: usize = p
                .parse()
                .map_err(|_| ConfigError::new(key, format!("`{s}`: `{p}` is not a coordinate")))?;
            if c >= self.shape[d] {
                return Err(ConfigError::new(
                    key,
                    format!(
                        "`{s}`: node does not exist ({} coordinate {c} is not in 0..{})",
                        dim_name(d),
                        self.shape[d]
                    ),
                ));
            }
            node += c * self.grid.strides[d];
        }
        Ok(node)
    }
}

/// Parses, draws and checks the fault set of a torus of `shape`.
pub fn resolve(shape: &[usize], c: &FaultsConfig) -> Result<FaultSet, ConfigError> {
    let grid = Grid::new(shape);
    let g = Geometry { shape, grid };
    let np = 2 * shape.len();
    let mut nodes = BTreeSet::new();
    for s in &c.nodes {
        let n = g.parse_node("faults.nodes", s)?;
        if !nodes.insert(n) {
            return Err(ConfigError::new(
                "faults.nodes",
                format!("`{s}` appears twice"),
            ));
        }
    }
    let mut links = BTreeSet::new();
    for s in &c.links {
        let key = "faults.links";
        let (at, dir) = s.trim().rsplit_once(char::is_whitespace).ok_or_else(|| {
            ConfigError::new(
                key,
                format!("`{s}`: expected a node and a direction, e.g. \"0,1 +x\""),
            )
        })?;
        let node = g.parse_node(key, at.trim())?;
        let dir = dir.to_ascii_lowercase();
        let (minus, rest) = match dir.split_at(dir.len().min(1)) {
            ("+", r) => (false, r),
            ("-", r) => (true, r),
            _ => {
                return Err(ConfigError::new(
                    key,
                    format!("`{s}`: direction `{dir}` needs a sign, e.g. \"+x\""),
                ));
            }
        };
        let dim = (0..shape.len())
            .find(|&d| dim_name(d) == rest || rest == d.to_string())
            .ok_or_else(|| {
                ConfigError::new(
                    key,
                    format!("`{s}`: a {}-D torus has no direction `{dir}`", shape.len()),
                )
            })?;
        let link = if minus {
            (g.neighbor(node, 2 * dim + 1), 2 * dim)
        } else {
            (node, 2 * dim)
        };
        if !links.insert(link) {
            return Err(ConfigError::new(
                key,
                format!("`{s}` names a link that is already listed"),
            ));
        }
    }
    let count = |key: &str, v: i64| -> Result<usize, ConfigError> {
        usize::try_from(v)
            .map_err(|_| ConfigError::new(key, format!("expected a count >= 0, got {v}")))
    };
    let random_nodes = count("faults.random_nodes", c.random_nodes)?;
    let random_links = count("faults.random_links", c.random_links)?;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(c.seed ^ 0x6661_756c_7473);
    let mut below = |n: usize| ((rng.next_u64() as u128 * n as u128) >> 64) as usize;
    if random_nodes > 0 {
        let live: Vec<usize> = (0..g.grid.nodes).filter(|n| !nodes.contains(n)).collect();
        if random_nodes + 2 > live.len() {
            return Err(ConfigError::new(
                "faults.random_nodes",
                format!(
                    "{random_nodes} failed nodes would leave fewer than two of the {} live ones",
                    live.len()
                ),
            ));
        }
        let mut pool = live;
        for i in 0..random_nodes {
            let j = i + below(pool.len() - i);
            pool.swap(i, j);
            nodes.insert(pool[i]);
        }
    }
    if random_links > 0 {
        let live: Vec<(usize, usize)> = (0..g.grid.nodes)
            .flat_map(|n| (0..shape.len()).map(move |d| (n, 2 * d)))
            .filter(|&(n, p)| {
                !links.contains(&(n, p))
                    && !nodes.contains(&n)
                    && !nodes.contains(&g.neighbor(n, p))
            })
            .collect();
        if random_links > live.len() {
            return Err(ConfigError::new(
                "faults.random_links",
                format!("only {} live links are left to fail", live.len()),
            ));
        }
        let mut pool = live;
        for i in 0..random_links {
            let j = i + below(pool.len() - i);
            pool.swap(i, j);
            links.insert(pool[i]);
        }
    }
    // Every live node must still reach every other over live links.
    let dead = |n: usize, p: usize| -> bool {
        let canon = if p.is_multiple_of(2) {
            (n, p)
        } else {
            (g.neighbor(n, p), p - 1)
        };
        links.contains(&canon)
    };
    let live: Vec<usize> = (0..g.grid.nodes).filter(|n| !nodes.contains(n)).collect();
    if live.len() < 2 {
        return Err(ConfigError::new(
            "faults.nodes",
            "fewer than two live nodes are left",
        ));
    }
    if !nodes.is_empty() || !links.is_empty() {
        let mut seen = vec![false; g.grid.nodes];
        let mut q = VecDeque::from([live[0]]);
        seen[live[0]] = true;
        let mut reached = 1;
        while let Some(n) = q.pop_front() {
            for p in 0..np {
                let m = g.neighbor(n, p);
                if !seen[m] && !nodes.contains(&m) && !dead(n, p) {
                    seen[m] = true;
                    reached += 1;
                    q.push_back(m);
                }
            }
        }
        if reached < live.len() {
            let cut = live.iter().find(|&&n| !seen[n]).copied().unwrap_or(0);
            let key = if c.links.is_empty() && c.random_links == 0 {
                "faults.nodes"
            } else {
                "faults.links"
            };
            return Err(ConfigError::new(
                key,
                format!(
                    "the faults disconnect the network: {} of {} live nodes cannot be reached from node {}, e.g. node {}",
                    live.len() - reached,
                    live.len(),
                    g.name(live[0]),
                    g.name(cut)
                ),
            ));
        }
    }
    Ok(FaultSet {
        links: links.into_iter().collect(),
        nodes: nodes.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(links: &[&str], nodes: &[&str]) -> FaultsConfig {
        FaultsConfig {
            links: links.iter().map(|s| s.to_string()).collect(),
            nodes: nodes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn both_ends_name_the_same_link() {
        let a = resolve(&[4, 4], &cfg(&["1,2 +x"], &[])).unwrap();
        let b = resolve(&[4, 4], &cfg(&["2,2 -x"], &[])).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.links, vec![(1 + 2 * 4, 0)]);
        let e = resolve(&[4, 4], &cfg(&["1,2 +x", "2,2 -x"], &[])).unwrap_err();
        assert!(e.message.contains("already listed"), "{e}");
    }

    #[test]
    fn bad_names_are_refused() {
        for (l, n, want) in [
            (vec!["1,2 +z"], vec![], "no direction"),
            (vec!["1,9 +x"], vec![], "does not exist"),
            (vec!["1 +x"], vec![], "2 coordinates"),
            (vec!["1,1 x"], vec![], "needs a sign"),
            (vec![], vec!["4,0"], "does not exist"),
        ] {
            let e = resolve(&[4, 4], &cfg(&l, &n)).unwrap_err();
            assert!(e.message.contains(want), "{e}");
        }
    }

    #[test]
    fn a_cut_is_refused() {
        // Node (0,0) loses all four links.
        let e = resolve(
            &[4, 4],
            &cfg(&["0,0 +x", "0,0 -x", "0,0 +y", "0,0 -y"], &[]),
        )
        .unwrap_err();
        assert!(e.message.contains("disconnect"), "{e}");
        // A failed node is not a cut by itself.
        assert!(resolve(&[4, 4], &cfg(&[], &["0,0"])).is_ok());
    }

    #[test]
    fn random_draws_are_seeded_and_distinct() {
        let mut c = cfg(&[], &[]);
        c.random_links = 8;
        c.random_nodes = 2;
        let a = resolve(&[8, 8], &c).unwrap();
        assert_eq!((a.links.len(), a.nodes.len()), (8, 2));
        assert_eq!(a, resolve(&[8, 8], &c).unwrap());
        c.seed = 2;
        assert_ne!(a, resolve(&[8, 8], &c).unwrap());
    }
}

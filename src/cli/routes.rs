//! `torsim routes`: the path of one packet hop by hop, or a summary over all pairs.

use super::{ConfigArgs, load};
use clap::Args;
use torsim::experiment::run::build_routing;
use torsim::routing::kind;
use torsim::topology::Torus;

#[derive(Args)]
pub struct RoutesArgs {
    #[command(flatten)]
    cfg: ConfigArgs,
    /// Source node: an id or coordinates such as "1,2".
    #[arg(long, requires = "to")]
    from: Option<String>,
    /// Destination node: an id or coordinates.
    #[arg(long, requires = "from")]
    to: Option<String>,
    /// Count over every pair of live nodes: detours, First/Last Steps, longest detour.
    #[arg(long)]
    summary: bool,
}

/// A node given as an id (`"12"`) or as coordinates (`"4,1"`).
fn parse_node(t: &Torus, s: &str, flag: &str) -> Result<usize, String> {
    let s = s.trim();
    if !s.contains(',') {
        let n: usize = s
            .parse()
            .map_err(|_| format!("--{flag} {s}: expected a node id or coordinates such as 1,2"))?;
        if n >= t.nodes() {
            return Err(format!(
                "--{flag} {s}: the torus has nodes 0..{}",
                t.nodes()
            ));
        }
        return Ok(n);
    }
    let c: Result<Vec<usize>, _> = s.split(',').map(|x| x.trim().parse::<usize>()).collect();
    let c = c.map_err(|_| format!("--{flag} {s}: coordinates must be whole numbers"))?;
    if c.len() != t.dims() || c.iter().zip(t.shape()).any(|(x, k)| x >= k) {
        return Err(format!(
            "--{flag} {s}: not a node of the {} torus",
            t.shape_string()
        ));
    }
    Ok(t.node_at(&c))
}

fn kind_name(k: u8) -> &'static str {
    if k & kind::FIRST_STEP != 0 {
        "first step"
    } else if k & kind::LAST_STEP != 0 {
        "last step"
    } else if k & kind::ADAPTIVE != 0 {
        "adaptive"
    } else if k & kind::ESCAPE != 0 {
        "escape"
    } else {
        "ordered"
    }
}

pub fn run(a: RoutesArgs) -> Result<(), String> {
    let (_, p) = load(&a.cfg)?;
    let r = build_routing(&p, 1).map_err(|e| e.to_string())?;
    let t = r.torus().clone();
    if let (Some(f), Some(to)) = (&a.from, &a.to) {
        let (s, d) = (parse_node(&t, f, "from")?, parse_node(&t, to, "to")?);
        for (n, what) in [(s, "from"), (d, "to")] {
            if !t.node_alive(n) {
                return Err(format!("--{what}: node {} has failed", t.describe_node(n)));
            }
        }
        let hops = r.walk(s, d, 0);
        println!(
            "{} -> {}: {} hop(s), minimal {}{}",
            t.describe_node(s),
            t.describe_node(d),
            hops.len(),
            t.distance(s, d),
            if r.escape_anywhere() {
                " (adaptive: the path when every router takes its first candidate)"
            } else {
                ""
            }
        );
        for (i, &(n, port, k)) in hops.iter().enumerate() {
            println!(
                "  {:>3}  {} {} -> {}  [{}]",
                i + 1,
                t.describe_node(n),
                Torus::port_direction(port).name(),
                t.describe_node(t.neighbor(n, port)),
                kind_name(k)
            );
        }
        return Ok(());
    }
    if !a.summary {
        return Err("give --from A --to B for one path, or --summary".into());
    }
    let live = t.live_nodes();
    let (mut pairs, mut detoured, mut first, mut last) = (0u64, 0u64, 0u64, 0u64);
    let (mut longest, mut longest_pair, mut hops_sum) = (0usize, (0, 0), 0u64);
    let mut unreachable = Vec::new();
    for &s in &live {
        for &d in &live {
            if s == d {
                continue;
            }
            pairs += 1;
            let h = r.walk(s, d, 0);
            let arrived = h
                .last()
                .map(|&(n, port, _)| t.neighbor(n, port) == d)
                .unwrap_or(false);
            if !arrived {
                unreachable.push((s, d));
                continue;
            }
            hops_sum += h.len() as u64;
            let extra = h.len() - t.distance(s, d);
            first += h.iter().any(|x| x.2 & kind::FIRST_STEP != 0) as u64;
            last += h.iter().any(|x| x.2 & kind::LAST_STEP != 0) as u64;
            if extra > 0 {
                detoured += 1;
            }
            if extra > longest {
                longest = extra;
                longest_pair = (s, d);
            }
        }
    }
    println!(
        "{} torus, {} live nodes, {} failed link(s), {} failed node(s)",
        t.shape_string(),
        live.len(),
        t.faults().links.len(),
        t.faults().nodes.len()
    );
    println!("pairs             {pairs}");
    println!(
        "mean hops         {:.4} (minimal {:.4})",
        hops_sum as f64 / (pairs - unreachable.len() as u64).max(1) as f64,
        {
            let mut m = 0u64;
            for &s in &live {
                for &d in &live {
                    m += t.distance(s, d) as u64;
                }
            }
            m as f64 / pairs.max(1) as f64
        }
    );
    println!("longer than minimal {detoured}");
    println!("first step        {first}");
    println!("last step         {last}");
    if longest > 0 {
        println!(
            "longest detour    +{longest} hops ({} -> {})",
            t.describe_node(longest_pair.0),
            t.describe_node(longest_pair.1)
        );
    } else {
        println!("longest detour    none");
    }
    println!("unreachable       {}", unreachable.len());
    for (s, d) in unreachable.iter().take(10) {
        println!("  {} -> {}", t.describe_node(*s), t.describe_node(*d));
    }
    Ok(())
}

//! `torsim spmv`: SpMV exchanges on the simulated network, over a range of node counts.

use super::par::Par;
use super::{ConfigArgs, load, progress_bar, write_file};
use clap::Args;
use serde::Deserialize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use torsim::config::units::{Duration, parse_duration};
use torsim::core::flit::CLASSES;
use torsim::engine::sim::RunOptions;
use torsim::experiment::run::{check_routing, run_program_owned};
use torsim::report::plot;
use torsim::spmv::workload::{
    Algorithm, Barrier, balanced_shape, bisection_bytes, check_broadcasts, exchange_program,
    needs_collectives,
};
use torsim::spmv::{
    ElementEncoding, MatrixSpec, Stripes, default_cache_dir, transfer_matrix_cached,
};
use torsim::topology::Torus;

#[derive(Args)]
pub struct SpmvArgs {
    #[command(flatten)]
    cfg: ConfigArgs,
    /// SpMV parameters file (a `[spmv]` table, e.g. traffic/spmv-paper.toml); flags
    /// below override it.
    #[arg(long)]
    workload: Option<PathBuf>,
    /// Node counts, e.g. 8,16,32 [default: 8,16,...,2048].
    #[arg(long, value_delimiter = ',')]
    nodes: Option<Vec<usize>>,
    /// alltoall, allgather (ring), allgather-doubling or allgather-tree (hardware
    /// broadcasts); several with commas.
    #[arg(long, value_delimiter = ',')]
    algorithm: Option<Vec<String>>,
    /// The barrier closing each exchange: software or hardware (`hbarrier` on the
    /// tree); both with commas [default: software].
    #[arg(long, value_delimiter = ',')]
    barrier: Option<Vec<String>>,
    /// Torus dimensions, e.g. 3 or 3,4 (default: those of the config's shape).
    #[arg(long, value_delimiter = ',')]
    dims: Option<Vec<usize>>,
    /// Matrix size n.
    #[arg(long)]
    n: Option<u64>,
    /// Nonzeros per row.
    #[arg(long)]
    d: Option<u32>,
    #[arg(long)]
    seed: Option<u64>,
    /// Time of one nonzero (add + multiply) on one node, e.g. "4.6 ns".
    #[arg(long)]
    nonzero_time: Option<String>,
    /// Iterations reported (one exchange is simulated; every iteration moves the same data).
    #[arg(long)]
    iterations: Option<u64>,
    #[arg(long)]
    element_bytes: Option<u32>,
    #[arg(long)]
    index_bytes: Option<u32>,
    /// Write the JSON result here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Directory for the CSV and SVG plots.
    #[arg(long, default_value = "out")]
    out_dir: PathBuf,
    /// Base name of the outputs [default: spmv-<config stem>].
    #[arg(long)]
    name: Option<String>,
    /// Where computed transfer matrices are kept [default: $TORSIM_CACHE or target/torsim-cache].
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Stop each point after its set-up (matrix, transfer matrix, program, routing
    /// check) and print what it took: for measuring start-up on large machines.
    #[arg(long, hide = true)]
    setup_only: bool,
    /// Collect per-channel statistics of every exchange and write, per point, a JSON
    /// file of them, CSV tables and a link-utilisation heatmap (SVG) into `--out-dir`.
    #[arg(long)]
    link_stats: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SpmvFile {
    spmv: SpmvSection,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SpmvSection {
    n: Option<u64>,
    d: Option<u32>,
    seed: Option<u64>,
    element_bytes: Option<u32>,
    index_bytes: Option<u32>,
    nonzero_time: Option<String>,
    iterations: Option<u64>,
    algorithm: Option<Vec<String>>,
    barrier: Option<Vec<String>>,
    nodes: Option<Vec<usize>>,
    dims: Option<Vec<usize>>,
}

/// Runs the study. Under an MPI launcher (with the `mpi` feature) every rank runs
/// every point, each simulating its share of the partitions, and rank 0 alone prints
/// and writes the outputs.
pub fn run(a: SpmvArgs, par: &Par) -> Result<(), String> {
    let root = par.is_root();
    let file: SpmvSection = match &a.workload {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let f: SpmvFile = toml::from_str(&text)
                .map_err(|e| format!("{}: {}", p.display(), e.message().trim()))?;
            f.spmv
        }
        None => SpmvSection::default(),
    };
    let (config, base) = load(&a.cfg)?;
    let n = a.n.or(file.n).unwrap_or(10_240_000);
    let d = a.d.or(file.d).unwrap_or(10);
    let seed = a.seed.or(file.seed).unwrap_or(1);
    let iterations = a.iterations.or(file.iterations).unwrap_or(100);
    let enc = ElementEncoding {
        element_bytes: a.element_bytes.or(file.element_bytes).unwrap_or(8),
        index_bytes: a.index_bytes.or(file.index_bytes).unwrap_or(0),
    };
    let t_nz = a
        .nonzero_time
        .clone()
        .or(file.nonzero_time)
        .unwrap_or_else(|| "4.6 ns".into());
    let t_nz = match parse_duration(&t_nz)? {
        Duration::Seconds(s) => s,
        Duration::Cycles(_) => {
            return Err(format!(
                "--nonzero-time `{t_nz}`: give a time such as \"4.6 ns\""
            ));
        }
    };
    let dims_list = a
        .dims
        .clone()
        .or(file.dims)
        .unwrap_or_else(|| vec![base.shape.len()]);
    if let Some(d) = dims_list.iter().find(|d| !(1..=8).contains(*d)) {
        return Err(format!("--dims {d}: expected 1 to 8"));
    }
    let nodes = a
        .nodes
        .clone()
        .or(file.nodes)
        .unwrap_or_else(|| (3..=11).map(|k| 1usize << k).collect());
    let algs: Vec<Algorithm> = a
        .algorithm
        .clone()
        .or(file.algorithm)
        .unwrap_or_else(|| vec!["alltoall".into()])
        .iter()
        .map(|s| {
            Algorithm::parse(s)
                .ok_or_else(|| format!("unknown algorithm `{s}`; expected {}", Algorithm::NAMES))
        })
        .collect::<Result<_, _>>()?;
    let barriers: Vec<Barrier> = a
        .barrier
        .clone()
        .or(file.barrier)
        .unwrap_or_else(|| vec!["software".into()])
        .iter()
        .map(|s| {
            Barrier::parse(s).ok_or_else(|| {
                format!("unknown barrier `{s}` (--barrier or `barrier` in [spmv]); expected software or hardware")
            })
        })
        .collect::<Result<_, _>>()?;
    // Hardware collectives need a [collectives] table; a config without one gets the
    // default tree (root 0, one tree) for the points that use them, and only those, so
    // software points run on the network as configured.
    let add_tree = base.collectives.is_none()
        && algs
            .iter()
            .any(|&al| barriers.iter().any(|&b| needs_collectives(al, b)));
    if add_tree && root {
        eprintln!(
            "torsim: note: the config has no [collectives] table; points with hardware collectives (allgather-tree, --barrier hardware) run with collectives.root=0 (one tree, root node 0)"
        );
    }
    let spec = MatrixSpec::new(n, d, seed).map_err(|e| e.to_string())?;
    let cache = a.cache_dir.clone().unwrap_or_else(default_cache_dir);
    let t1 = n as f64 * d as f64 * t_nz;
    let total_points = (nodes.len() * algs.len() * barriers.len() * dims_list.len()) as u64;
    let pb = if root {
        progress_bar(total_points, "spmv")
    } else {
        None
    };
    let mut points: Vec<Value> = Vec::new();
    let mut skipped: Vec<Value> = Vec::new();
    let mut runs: Vec<(usize, Algorithm, Barrier)> = Vec::new();
    for &d in &dims_list {
        for &al in &algs {
            for &b in &barriers {
                runs.push((d, al, b));
            }
        }
    }
    // Outputs are named after --name, else after --out (so two runs with different
    // --out files never overwrite each other's CSV and plots), else after the config.
    let stem = a.name.clone().unwrap_or_else(|| match &a.out {
        Some(out) => out
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_else(|| "spmv".into()),
        None => format!(
            "spmv-{}",
            a.cfg
                .config
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default()
        ),
    });
    for &(dims, alg, barrier) in &runs {
        for &p in &nodes {
            if let Some(pb) = &pb {
                pb.set_message(format!("{} {} p={p}", alg.name(), barrier.name()));
            }
            let setup = std::time::Instant::now();
            let shape = balanced_shape(p, dims);
            if shape.is_empty() {
                return Err(format!("{p} nodes cannot form a torus"));
            }
            if shape.len() < dims {
                // A ring needs at least 2 nodes: fewer than 2^dims nodes (or a prime
                // count) cannot span every dimension. Say so instead of running the
                // point on fewer dimensions than asked for.
                let msg = format!(
                    "torsim: note: {p} nodes cannot form a {dims}D torus (shape {}); point skipped",
                    shape
                        .iter()
                        .map(|k| k.to_string())
                        .collect::<Vec<_>>()
                        .join("x")
                );
                match &pb {
                    Some(pb) => pb.suspend(|| eprintln!("{msg}")),
                    None if root => eprintln!("{msg}"),
                    None => {}
                }
                skipped.push(json!({"algorithm": alg.name(), "barrier": barrier.name(), "dims": dims, "nodes": p}));
                if let Some(pb) = &pb {
                    pb.inc(1);
                }
                continue;
            }
            let mut set = a.cfg.set.clone();
            set.push(format!("topology.shape={shape:?}"));
            if add_tree && needs_collectives(alg, barrier) {
                set.push("collectives.root=0".into());
            }
            let (_, params) = load(&ConfigArgs {
                config: a.cfg.config.clone(),
                set,
            })?;
            // With failed nodes the matrix is split among the live PEs.
            let pes = params.pes();
            let stripes = Stripes::new(n, pes).map_err(|e| e.to_string())?;
            let tm = if alg == Algorithm::Alltoall {
                Some(
                    transfer_matrix_cached(&spec, pes, &cache)
                        .map_err(|e| e.to_string())?
                        .0,
                )
            } else {
                None
            };
            let prog = exchange_program(alg, barrier, &stripes, tm.as_ref(), enc)?;
            if a.setup_only {
                check_routing(&params, CLASSES).map_err(|e| format!("{p} nodes: {e}"))?;
                let ops: usize = prog.ops.iter().map(|o| o.len()).sum();
                if !root {
                    continue;
                }
                println!(
                    "{} p={p} shape={shape:?}: transfer matrix {} non-zeros ({:.1} MiB), {ops} program ops, set-up {:.2} s",
                    alg.name(),
                    tm.as_ref().map_or(0, |t| t.nonzeros()),
                    tm.as_ref().map_or(0, |t| t.memory_bytes()) as f64 / (1 << 20) as f64,
                    setup.elapsed().as_secs_f64()
                );
                continue;
            }
            // What the results need from the matrix, read now: the matrix is freed
            // before the simulation (at p = 16,384 it holds 650 MiB).
            let figures = tm
                .as_ref()
                .map(|tm| (bisection_bytes(tm, &shape, enc), tm.total_remote()));
            drop(tm);
            let opts = RunOptions {
                link_stats: a.link_stats,
                ..super::run_options(&params, false, a.threads, None, par, true)?
            };
            let marks = prog.marks.clone();
            // The tree allgather's result is checked: every PE must have received every
            // block.
            let bcast_prog = (alg == Algorithm::AllgatherTree).then(|| prog.clone());
            let mut log = super::ProgressLog::new(
                format!("spmv {} {} barrier, {p} nodes", alg.name(), barrier.name()),
                root,
            );
            let o = run_program_owned(&params, prog, &opts, par.comm(), false, &mut |pr| {
                log.at(pr.cycle, None)
            })
            .map_err(|e| format!("{} nodes: {e}", p))?;
            let received = match &bcast_prog {
                Some(prog) => Some(
                    check_broadcasts(prog, &o.values)
                        .map_err(|e| format!("{} nodes, allgather-tree: {e}", p))?,
                ),
                None => None,
            };
            drop(bcast_prog);
            let (s, e) = mark_span(&o.marks, &marks);
            let comm = (e - s) as f64 / params.clock_hz;
            let rows_max = (0..pes).map(|i| stripes.len(i)).max().unwrap_or(0);
            let compute = rows_max as f64 * d as f64 * t_nz;
            let total = comm + compute;
            let mut v = json!({
                "algorithm": alg.name(),
                "barrier": barrier.name(),
                "dims": dims,
                "nodes": p,
                "live_nodes": pes,
                "shape": shape,
                "comm_seconds_per_iteration": comm,
                "compute_seconds_per_iteration": compute,
                "total_seconds_per_iteration": total,
                "comm_seconds_for_iterations": comm * iterations as f64,
                "total_seconds_for_iterations": total * iterations as f64,
                "gflops": 2.0 * n as f64 * d as f64 / total / 1e9,
                "speedup": t1 / total,
                "payload_bytes": o.stats.payload_bytes_delivered,
                "simulated_cycles": o.cycles,
                "wall_seconds": o.wall_seconds,
                // How the point's simulation ran: what a projection to more ranks
                // needs (work and synchronisation per window).
                "performance": {
                    "partitions": o.partitions,
                    "lookahead_cycles": o.lookahead,
                    "windows": o.windows,
                    "cut_links": o.layout.cut_links,
                    "boundary_messages": o.boundary_messages,
                    "exchanged_bytes": o.exchanged_bytes,
                    "comm_seconds": o.comm_seconds,
                    "sync_wait_fraction": o.sync_wait_fraction,
                },
            });
            if let Some(r) = received {
                v["broadcast_bytes_received"] = json!(r);
            }
            if let Some((bisection, remote)) = figures {
                let t = Torus::new(&shape);
                let link = link_payload_bytes_per_second(&params);
                let bound = bisection as f64 / (t.bisection_links() as f64 * link);
                v["bisection_bound_seconds_per_iteration"] = json!(bound);
                v["comm_over_bisection_bound"] = json!(comm / bound);
                v["remote_elements"] = json!(remote);
            }
            if a.link_stats && root {
                let hw = if barrier == Barrier::Hardware {
                    "-hbarrier"
                } else {
                    ""
                };
                let base = a
                    .out_dir
                    .join(format!("{stem}-{}{hw}-{dims}d-{p}", alg.name()));
                v["link_stats_files"] = json!(super::link_stats::write_exchange(
                    &base,
                    &params,
                    &o.stats,
                    o.cycles,
                    &format!(
                        "link utilisation: {} exchange, {} barrier, {p} nodes {shape:?}",
                        alg.name(),
                        barrier.name()
                    ),
                )?);
            }
            points.push(v);
            if let Some(pb) = &pb {
                pb.inc(1);
            }
        }
    }
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    if a.setup_only {
        return Ok(());
    }
    let doc = json!({
        "torsim_version": torsim::core::VERSION,
        "git_revision": torsim::core::GIT_REVISION,
        "matrix": {"n": n, "d": d, "seed": seed, "generator_version": torsim::spmv::GENERATOR_VERSION},
        "element_bytes": enc.element_bytes,
        "index_bytes": enc.index_bytes,
        "nonzero_seconds": t_nz,
        "single_node_seconds_per_iteration": t1,
        "iterations": iterations,
        "simulated_iterations": 1,
        "note": "one exchange is simulated per point; every iteration moves the same data, so times for all iterations are that exchange times the iteration count",
        "points": points,
        "skipped_points": skipped,
        "performance": {
            "ranks": par.size(),
            "threads": a.threads,
            "partitions": a.threads.saturating_mul(par.size()),
        },
        "config": torsim::config::resolved_json(&config, &base),
    });
    if points.is_empty() {
        return Err("no node count fits the requested dimensions; nothing was run".into());
    }
    if !root {
        return Ok(());
    }
    print_table(&points, iterations);
    if let Some(out) = &a.out {
        write_file(
            out,
            &(serde_json::to_string_pretty(&doc).expect("JSON") + "\n"),
        )?;
    }
    write_outputs(&a.out_dir, &stem, &points)?;
    Ok(())
}

fn mark_span(marks: &[(u32, u16, u64)], names: &[String]) -> (u64, u64) {
    let id = |name: &str| names.iter().position(|m| m == name).map(|i| i as u16);
    let (sid, eid) = (id("start"), id("end"));
    let s = marks
        .iter()
        .filter(|m| Some(m.1) == sid)
        .map(|m| m.2)
        .min()
        .unwrap_or(0);
    let e = marks
        .iter()
        .filter(|m| Some(m.1) == eid)
        .map(|m| m.2)
        .max()
        .unwrap_or(s);
    (s, e)
}

/// Net (payload) bandwidth of one link direction with full-size packets.
fn link_payload_bytes_per_second(p: &torsim::config::Params) -> f64 {
    let m = p.node.max_payload;
    let wire = p.packet_flits_for(m) as f64 * p.flit_bytes as f64;
    p.link_bytes_per_second * m as f64 / wire
}

fn print_table(points: &[Value], iterations: u64) {
    println!(
        "{:<18} {:<8} {:>4} {:>6} {:>12} {:>14} {:>14} {:>14} {:>10} {:>9} {:>12}",
        "algorithm",
        "barrier",
        "dims",
        "nodes",
        "shape",
        "comm s/iter",
        "compute s/iter",
        format!("total {iterations} it"),
        "GFlops",
        "speedup",
        "comm/bound"
    );
    for v in points {
        let shape: Vec<String> = v["shape"]
            .as_array()
            .map(|a| a.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default();
        println!(
            "{:<18} {:<8} {:>4} {:>6} {:>12} {:>14.6e} {:>14.6e} {:>14.4} {:>10.2} {:>9.1} {:>12}",
            v["algorithm"].as_str().unwrap_or(""),
            v["barrier"].as_str().unwrap_or(""),
            v["dims"].as_u64().unwrap_or(0),
            v["nodes"].as_u64().unwrap_or(0),
            shape.join("x"),
            v["comm_seconds_per_iteration"].as_f64().unwrap_or(0.0),
            v["compute_seconds_per_iteration"].as_f64().unwrap_or(0.0),
            v["total_seconds_for_iterations"].as_f64().unwrap_or(0.0),
            v["gflops"].as_f64().unwrap_or(0.0),
            v["speedup"].as_f64().unwrap_or(0.0),
            v.get("comm_over_bisection_bound")
                .and_then(Value::as_f64)
                .map(|r| format!("{r:.2}"))
                .unwrap_or("-".into()),
        );
    }
}

fn write_outputs(dir: &Path, stem: &str, points: &[Value]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut csv = String::from(
        "algorithm,dims,nodes,live_nodes,shape,comm_seconds_per_iteration,compute_seconds_per_iteration,total_seconds_per_iteration,gflops,speedup,bisection_bound_seconds_per_iteration,barrier\n",
    );
    for v in points {
        let shape: Vec<String> = v["shape"]
            .as_array()
            .map(|a| a.iter().map(|x| x.to_string()).collect())
            .unwrap_or_default();
        csv += &format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            v["algorithm"].as_str().unwrap_or(""),
            v["dims"],
            v["nodes"],
            v["live_nodes"],
            shape.join("x"),
            v["comm_seconds_per_iteration"],
            v["compute_seconds_per_iteration"],
            v["total_seconds_per_iteration"],
            v["gflops"],
            v["speedup"],
            v.get("bisection_bound_seconds_per_iteration")
                .map(|x| x.to_string())
                .unwrap_or_default(),
            v["barrier"].as_str().unwrap_or(""),
        );
    }
    let csv_path = dir.join(format!("{stem}.csv"));
    write_file(&csv_path, &csv)?;
    // One series per (algorithm, dimensions, barrier), in the order they ran.
    let mut keys: Vec<(String, u64, String)> = Vec::new();
    for v in points {
        let k = (
            v["algorithm"].as_str().unwrap_or("").to_string(),
            v["dims"].as_u64().unwrap_or(0),
            v["barrier"].as_str().unwrap_or("").to_string(),
        );
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let of = |v: &Value, (a, d, b): &(String, u64, String)| {
        v["algorithm"].as_str() == Some(a.as_str())
            && v["dims"].as_u64() == Some(*d)
            && v["barrier"].as_str() == Some(b.as_str())
    };
    // The software barrier is the default and goes unnamed.
    let label = |(a, d, b): &(String, u64, String)| {
        if b == "software" {
            format!("{a}, {d}D")
        } else {
            format!("{a}, {d}D, {b} barrier")
        }
    };
    let series: Vec<(String, Vec<(f64, f64)>)> = keys
        .iter()
        .map(|k| {
            let pts = points
                .iter()
                .filter(|v| of(v, k))
                .map(|v| {
                    (
                        v["nodes"].as_f64().unwrap_or(0.0),
                        v["speedup"].as_f64().unwrap_or(0.0),
                    )
                })
                .collect();
            (label(k), pts)
        })
        .collect();
    // Ideal speedup: p nodes are p times as fast as one.
    let (lo, hi) = points
        .iter()
        .filter_map(|v| v["nodes"].as_f64())
        .fold((f64::MAX, 0.0f64), |(a, b), x| (a.min(x), b.max(x)));
    let ideal = (
        "ideal (speedup = nodes)".to_string(),
        vec![(lo, lo), (hi, hi)],
    );
    let sp = dir.join(format!("{stem}-speedup.svg"));
    plot::log_log_plot(
        &sp,
        "SpMV speedup over one node",
        "nodes",
        "speedup",
        &series,
        Some(&ideal),
    )?;
    let panels: Vec<plot::BarPanel> = keys
        .iter()
        .map(|k| {
            let pts: Vec<&Value> = points.iter().filter(|v| of(v, k)).collect();
            let get = |key: &str| -> Vec<f64> {
                pts.iter().map(|v| v[key].as_f64().unwrap_or(0.0)).collect()
            };
            plot::BarPanel {
                title: label(k),
                categories: pts.iter().map(|v| v["nodes"].to_string()).collect(),
                parts: vec![
                    ("compute".into(), get("compute_seconds_per_iteration")),
                    ("communication".into(), get("comm_seconds_per_iteration")),
                ],
            }
        })
        .collect();
    let pf = dir.join(format!("{stem}-profile.svg"));
    plot::stacked_bar_panels(
        &pf,
        "SpMV time per iteration",
        "time per iteration",
        "nodes",
        &panels,
    )?;
    eprintln!(
        "wrote {}, {}, {}",
        csv_path.display(),
        sp.display(),
        pf.display()
    );
    Ok(())
}

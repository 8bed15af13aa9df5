//! Resolved model parameters: whole cycles and flits, checked for consistency.

use super::ConfigError;
use super::schema::*;
use super::units::Rate;
use crate::core::direction::{Direction, dim_name};
use crate::core::limits::{
    MAX_BUFFER_FLITS, MAX_CLOCK_HZ, MAX_DELAY_CYCLES, MAX_INPUT_VCS, MAX_OUTPUT_PORTS,
    MAX_RUN_CYCLES, MIN_CLOCK_HZ,
};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the parameters came from, so that checks run after loading (which depend on
/// the workload) can still name the file, the lines and the `--set` overrides.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub file: Option<PathBuf>,
    pub text: Arc<str>,
    pub overrides: Vec<String>,
}

impl Origin {
    /// `e` with the file, and each key's line or override.
    pub fn locate(&self, e: ConfigError) -> ConfigError {
        let mut e = super::locate(e, &self.text, &self.overrides);
        e.file = self.file.clone();
        e
    }
}

/// Link rate as an exact fraction of one flit per cycle (`num / den < 1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkRate {
    pub num: u64,
    pub den: u64,
}

/// Hot-spot target when `traffic.hotspot_nodes` is not given.
pub const DEFAULT_HOTSPOT_NODE: i64 = 0;
/// Share of hot-spot packets when `traffic.hotspot_fraction` is not given.
pub const DEFAULT_HOTSPOT_FRACTION: f64 = 0.1;

#[derive(Clone, Debug)]
pub struct Params {
    pub shape: Vec<usize>,
    pub seed: u64,
    pub clock_hz: f64,
    pub flit_bytes: u32,
    pub header_bytes: u32,
    /// `None`: the link carries one flit per cycle, as fast as a crossbar port.
    pub link_rate: Option<LinkRate>,
    pub link_latency: u64,
    pub credit_latency: u64,
    pub injection_latency: u64,
    pub ejection_latency: u64,
    pub ejection_buffer: usize,
    pub vcs: usize,
    pub buffer: usize,
    pub injectors: usize,
    pub ejectors: usize,
    pub flow_control: FlowControl,
    pub input_arbiter: bool,
    pub overlap_route_computation: bool,
    pub allocator: AllocatorKind,
    pub arbiter: ArbiterKind,
    pub header_analysis: u64,
    pub route_computation: u64,
    pub vc_allocation: u64,
    pub switch_allocation: u64,
    pub switch_traversal: u64,
    pub pre_arbitration: bool,
    pub routing: RoutingAlgorithm,
    pub direction_order: Vec<Direction>,
    pub deadlock_avoidance: DeadlockAvoidance,
    pub escape: EscapeRouting,
    pub selection: Selection,
    /// Cycles a head may wait for a VC before it is re-routed.
    pub timeout: Option<u64>,
    pub timeout_action: TimeoutAction,
    /// Virtual subnetworks of synthetic traffic.
    pub subnetworks: usize,
    pub faults: super::faults::FaultSet,
    /// The longest packet any node may send, in flits (the bubble rule reserves this).
    pub max_packet_flits: usize,
    pub pattern: Pattern,
    pub injection_rate: f64,
    pub packet_flits: usize,
    pub hotspot_nodes: Vec<usize>,
    pub hotspot_fraction: f64,
    pub include_self: bool,
    pub injection_delay: u64,
    pub warmup_cycles: u64,
    pub measure_cycles: u64,
    pub max_drain_cycles: u64,
    pub watchdog_cycles: u64,
    /// A program run fails past this cycle (`u64::MAX`: no limit).
    pub max_program_cycles: u64,
    pub node: NodeParams,
    /// Link data rate after line coding, in bytes per second (for reports).
    pub link_bytes_per_second: f64,
    /// Hardware collectives, if configured (`[collectives]`).
    pub collectives: Option<CollectiveParams>,
    /// The config's file, text and overrides (for errors of later checks).
    pub origin: Origin,
}

/// The collectives engine and its trees, in model units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectiveParams {
    /// Root node of every tree (live nodes).
    pub roots: Vec<usize>,
    /// Cycles of one pass through a node's collectives engine (>= 1).
    pub combine_delay: u64,
}

/// The collectives of `c`, checked against the shape and the faults.
fn resolve_collectives(
    c: &CollectivesConfig,
    nodes: usize,
    faults: &super::faults::FaultSet,
    clock_hz: f64,
) -> Result<CollectiveParams, ConfigError> {
    let max = crate::core::flit::MAX_TREES;
    if !(1..=max as i64).contains(&c.trees) {
        return Err(ConfigError::new(
            "collectives.trees",
            format!("expected 1 ..= {max} trees, got {}", c.trees),
        ));
    }
    if c.root < 0 || c.root as usize >= nodes {
        return Err(ConfigError::new(
            "collectives.root",
            format!("node {} is not in 0..{nodes}", c.root),
        ));
    }
    let dead = |n: usize| faults.nodes.binary_search(&n).is_ok();
    if dead(c.root as usize) {
        return Err(ConfigError::new(
            "collectives.root",
            format!(
                "node {} has failed (faults.nodes); root the tree at a live node",
                c.root
            ),
        )
        .with(&["faults.nodes"]));
    }
    let trees = c.trees as usize;
    let mut roots = Vec::with_capacity(trees);
    for t in 0..trees {
        let want = (c.root as usize + t * (nodes / trees)) % nodes;
        // The nearest live node at or after `want` (node 0 follows the last).
        let r = (0..nodes)
            .map(|i| (want + i) % nodes)
            .find(|&n| !dead(n))
            .unwrap_or(c.root as usize);
        roots.push(r);
    }
    let combine_delay = delay("collectives.combine_delay", c.combine_delay, clock_hz)?;
    if combine_delay < 1 {
        return Err(ConfigError::new(
            "collectives.combine_delay",
            format!(
                "{} is 0 cycles at {} GHz; the engine takes at least one cycle per pass",
                c.combine_delay,
                clock_hz / 1e9
            ),
        ));
    }
    Ok(CollectiveParams {
        roots,
        combine_delay,
    })
}

/// The node model in model units.
#[derive(Clone, Debug)]
pub struct NodeParams {
    pub max_payload: u32,
    pub message_overhead: u64,
    pub send_queue_packets: u32,
    pub put_completion: super::schema::PutCompletion,
    pub pcie: super::spec::PcieSpec,
    /// Cycles the target's adapter spends on one atomic.
    pub atomic_latency: u64,
}

fn resolve_node(n: &NodeConfig, clock_hz: f64) -> Result<NodeParams, ConfigError> {
    if n.max_payload_bytes == 0 || n.max_payload_bytes > 65_535 {
        return Err(ConfigError::new(
            "node.max_payload_bytes",
            format!("expected 1 ..= 65535 bytes, got {}", n.max_payload_bytes),
        ));
    }
    if n.send_queue_packets == 0 {
        return Err(ConfigError::new(
            "node.send_queue_packets",
            "expected at least 1 packet",
        ));
    }
    let p = &n.pcie;
    let bytes_per_second = match (p.rate, p.generation, p.lanes) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(ConfigError::new(
                "node.pcie.rate",
                "give either `rate` or `generation` and `lanes`, not both",
            ));
        }
        (Some(Rate::BitsPerSecond(b)), None, None) => b / 8.0,
        (Some(Rate::FlitsPerCycle(_)), _, _) => {
            return Err(ConfigError::new(
                "node.pcie.rate",
                "expected a data rate such as \"16 Gbit/s\"",
            ));
        }
        (None, Some(g), Some(l)) => {
            let (gts, eff) = match g {
                1 => (2.5e9, 0.8),
                2 => (5e9, 0.8),
                3 => (8e9, 128.0 / 130.0),
                4 => (16e9, 128.0 / 130.0),
                5 => (32e9, 128.0 / 130.0),
                _ => {
                    return Err(ConfigError::new(
                        "node.pcie.generation",
                        format!("expected 1 to 5, got {g}"),
                    ));
                }
            };
            if !matches!(l, 1 | 2 | 4 | 8 | 16 | 32) {
                return Err(ConfigError::new(
                    "node.pcie.lanes",
                    format!("expected 1, 2, 4, 8, 16 or 32, got {l}"),
                ));
            }
            gts * eff * l as f64 / 8.0
        }
        (None, None, None) => 1e12, // effectively unlimited: the adapter is not a bottleneck
        _ => {
            return Err(ConfigError::new(
                "node.pcie.generation",
                "give both `generation` and `lanes` (or a plain `rate`)",
            ));
        }
    };
    if p.max_payload_bytes == 0 {
        return Err(ConfigError::new(
            "node.pcie.max_payload_bytes",
            "expected at least 1 byte",
        ));
    }
    // Bytes per cycle as an exact fraction with a fixed denominator; the rate must be
    // representable to within 0.1% (at least 2^10 / 2^20 bytes per cycle), and not so
    // fast that timing products could overflow.
    let den: u64 = 1 << 20;
    let per_cycle = bytes_per_second / clock_hz;
    let (slowest, fastest) = (1.0 / 1024.0, (1u64 << 24) as f64);
    if !(slowest..=fastest).contains(&per_cycle) {
        return Err(ConfigError::new(
            "node.pcie.rate",
            format!(
                "{per_cycle:.3e} bytes per cycle at the {} GHz clock is outside what the model represents ({slowest} ..= {fastest} bytes per cycle)",
                clock_hz / 1e9
            ),
        )
        .with(&["network.clock", "node.pcie.generation", "node.pcie.lanes"]));
    }
    let num = (per_cycle * den as f64).round() as u64;
    let latency = delay("node.pcie.latency", p.latency, clock_hz)?;
    let atomic_latency = match n.atomic_latency {
        Some(d) => delay("node.atomic_latency", d, clock_hz)?,
        None => 2 * latency,
    };
    Ok(NodeParams {
        atomic_latency,
        max_payload: n.max_payload_bytes,
        message_overhead: delay("node.message_overhead", n.message_overhead, clock_hz)?,
        send_queue_packets: n.send_queue_packets,
        put_completion: n.put_completion,
        pcie: super::spec::PcieSpec {
            num,
            den,
            latency,
            max_payload_bytes: p.max_payload_bytes,
            tlp_overhead_bytes: p.tlp_overhead_bytes,
            dllp_overhead_bytes: p.dllp_overhead_bytes,
        },
    })
}

/// A configured delay in cycles, refused beyond [`MAX_DELAY_CYCLES`].
fn delay(key: &str, d: super::units::Duration, clock_hz: f64) -> Result<u64, ConfigError> {
    let v = d.to_cycles(clock_hz);
    if v > MAX_DELAY_CYCLES {
        return Err(ConfigError::new(
            key,
            format!(
                "{d} is more than the longest delay accepted, {MAX_DELAY_CYCLES} cycles ({} s at the {} GHz clock)",
                MAX_DELAY_CYCLES as f64 / clock_hz,
                clock_hz / 1e9
            ),
        )
        .with(&["network.clock"]));
    }
    Ok(v)
}

/// A span of simulated time in cycles, refused beyond [`MAX_RUN_CYCLES`].
fn run_cycles(key: &str, v: u64) -> Result<u64, ConfigError> {
    if v > MAX_RUN_CYCLES {
        return Err(ConfigError::new(
            key,
            format!("{v} cycles is more than the largest accepted, {MAX_RUN_CYCLES}"),
        ));
    }
    Ok(v)
}

fn positive(key: &str, v: i64, what: &str) -> Result<usize, ConfigError> {
    if v < 1 {
        return Err(ConfigError::new(
            key,
            format!("expected {what} >= 1, got {v}"),
        ));
    }
    Ok(v as usize)
}

impl Params {
    pub fn resolve(c: &Config) -> Result<Params, ConfigError> {
        let shape_in = &c.topology.shape;
        if shape_in.is_empty() {
            return Err(ConfigError::new(
                "topology.shape",
                "expected at least one dimension, e.g. [8, 8]",
            ));
        }
        let mut shape = Vec::with_capacity(shape_in.len());
        for (i, &k) in shape_in.iter().enumerate() {
            if k < 2 {
                return Err(ConfigError::new(
                    "topology.shape",
                    format!("every ring needs k >= 2 nodes; dimension {i} has k = {k}"),
                ));
            }
            if k > 65_535 {
                return Err(ConfigError::new(
                    "topology.shape",
                    format!("dimension {i}: k = {k} is too large"),
                ));
            }
            shape.push(k as usize);
        }
        let nodes: usize = shape.iter().product();
        if nodes > (1 << 24) {
            return Err(ConfigError::new(
                "topology.shape",
                format!("{nodes} nodes is more than this build supports"),
            ));
        }
        let n = &c.network;
        let clock_hz = n.clock.0;
        if !(MIN_CLOCK_HZ..=MAX_CLOCK_HZ).contains(&clock_hz) {
            return Err(ConfigError::new(
                "network.clock",
                format!("expected {MIN_CLOCK_HZ} Hz ..= {MAX_CLOCK_HZ} Hz, got {clock_hz} Hz"),
            ));
        }
        let cyc = |key: &str, d: super::units::Duration, min: u64| -> Result<u64, ConfigError> {
            let v = delay(key, d, clock_hz)?;
            if v < min {
                return Err(ConfigError::new(
                    key,
                    format!(
                        "{d} is {v} cycles at {} GHz; expected at least {min}",
                        clock_hz / 1e9
                    ),
                ));
            }
            Ok(v)
        };
        let link_latency = cyc("network.link_latency", n.link_latency, 1)?;
        let credit_latency = match n.credit_latency {
            Some(d) => cyc("network.credit_latency", d, 1)?,
            None => link_latency,
        };
        let injection_latency = cyc("network.injection_latency", n.injection_latency, 1)?;
        let ejection_latency = cyc("network.ejection_latency", n.ejection_latency, 1)?;
        if n.flit_bytes == 0 {
            return Err(ConfigError::new(
                "network.flit_bytes",
                "expected a flit width >= 1 byte",
            ));
        }
        let flit_bits = n.flit_bytes as f64 * 8.0;
        if n.link_encoding != Encoding::None
            && !matches!(n.link_bandwidth, Some(Rate::BitsPerSecond(_)))
        {
            return Err(ConfigError::new(
                "network.link_encoding",
                "a line code applies to a line rate in bit/s or B/s (network.link_bandwidth); with a rate in flits per cycle, or none, remove it",
            ));
        }
        let link_flits_per_cycle = match n.link_bandwidth {
            None => 1.0,
            Some(Rate::FlitsPerCycle(f)) => f,
            Some(Rate::BitsPerSecond(b)) => {
                b * n.link_encoding.efficiency() / (clock_hz * flit_bits)
            }
        };
        if link_flits_per_cycle > 1.0 + 1e-9 {
            return Err(ConfigError::new(
                "network.link_bandwidth",
                format!(
                    "{} flits per cycle: a link moves at most one flit per cycle; raise network.flit_bytes or network.clock, or lower the rate",
                    super::units::clean_number(link_flits_per_cycle)
                ),
            ));
        }
        // The rate is kept as a fraction over 10^9: below 10^-6 flits per cycle it would
        // be off by more than 0.1%.
        if link_flits_per_cycle.is_nan() || link_flits_per_cycle < 1e-6 {
            return Err(ConfigError::new(
                "network.link_bandwidth",
                format!(
                    "{link_flits_per_cycle:.3e} flits per cycle is slower than the slowest link the model represents (1e-6 flits per cycle)"
                ),
            )
            .with(&["network.clock", "network.flit_bytes", "network.link_encoding"]));
        }
        let link_rate = fraction(link_flits_per_cycle);
        let flit_cycles = (1.0 / link_flits_per_cycle).ceil() as u64;
        if c.simulation.watchdog_cycles < 2 * flit_cycles {
            return Err(ConfigError::new(
                "simulation.watchdog_cycles",
                format!(
                    "{} cycles is too short for a link that takes {flit_cycles} cycles per flit: a run would be reported as stuck while flits are still crossing; use at least {}",
                    c.simulation.watchdog_cycles,
                    2 * flit_cycles
                ),
            )
            .with(&["network.link_bandwidth"]));
        }
        let node = resolve_node(&c.node, clock_hz)?;
        let r = &c.router;
        let vcs = positive(
            "router.virtual_channels",
            r.virtual_channels,
            "virtual channels",
        )?;
        let buffer = positive(
            "router.buffer_flits",
            r.buffer_flits,
            "a buffer depth in flits",
        )?;
        if r.buffer_flits as u64 > MAX_BUFFER_FLITS {
            return Err(ConfigError::new(
                "router.buffer_flits",
                format!(
                    "{} flits is more than the deepest buffer accepted, {MAX_BUFFER_FLITS}",
                    r.buffer_flits
                ),
            ));
        }
        let injectors = positive("router.injectors", r.injectors, "injectors")?;
        if 2 * shape.len() + injectors > MAX_INPUT_VCS {
            return Err(ConfigError::new(
                "router.injectors",
                format!(
                    "{} input ports per router ({} network ports + {injectors} injectors); this build supports at most {MAX_INPUT_VCS}",
                    2 * shape.len() + injectors,
                    2 * shape.len()
                ),
            ));
        }
        let ejectors = positive("router.ejectors", r.ejectors, "ejectors")?;
        if 2 * shape.len() + ejectors > MAX_OUTPUT_PORTS {
            return Err(ConfigError::new(
                "router.ejectors",
                format!(
                    "{} output ports per router; this build supports at most {}",
                    2 * shape.len() + ejectors,
                    MAX_OUTPUT_PORTS
                ),
            ));
        }
        let tree_vcs = match &c.collectives {
            Some(k) if (1..=crate::core::flit::MAX_TREES as i64).contains(&k.trees) => {
                k.trees as usize
            }
            _ => 0,
        };
        let input_vcs = (2 * shape.len() + injectors) * (vcs + tree_vcs);
        if input_vcs > MAX_INPUT_VCS {
            return Err(ConfigError::new(
                "router.virtual_channels",
                format!(
                    "{input_vcs} input VCs per router ({} ports x {} VCs); this build supports at most {}",
                    2 * shape.len() + injectors,
                    vcs + tree_vcs,
                    MAX_INPUT_VCS
                ),
            )
            .with(&["router.injectors", "topology.shape", "collectives.trees"]));
        }
        let p = &r.pipeline;
        let header_analysis = cyc("router.pipeline.header_analysis", p.header_analysis, 0)?;
        let route_computation = cyc("router.pipeline.route_computation", p.route_computation, 0)?;
        let vc_allocation = cyc("router.pipeline.vc_allocation", p.vc_allocation, 1)?;
        let switch_allocation = cyc("router.pipeline.switch_allocation", p.switch_allocation, 1)?;
        let switch_traversal = cyc("router.pipeline.switch_traversal", p.switch_traversal, 0)?;

        let t = &c.traffic;
        let packet_flits = positive(
            "traffic.packet_flits",
            t.packet_flits,
            "a packet length in flits",
        )?;
        // Flits carry their packet's length and their index in it as `u16`.
        if packet_flits > u16::MAX as usize {
            return Err(ConfigError::new(
                "traffic.packet_flits",
                format!("at most {} flits per packet, got {packet_flits}", u16::MAX),
            ));
        }
        if !(t.injection_rate.is_finite() && t.injection_rate >= 0.0) {
            return Err(ConfigError::new(
                "traffic.injection_rate",
                "expected flits/node/cycle >= 0",
            ));
        }
        if t.injection_rate > injectors as f64 {
            return Err(ConfigError::new(
                "traffic.injection_rate",
                format!(
                    "{} flits/node/cycle is more than the {injectors} injector(s) can take",
                    t.injection_rate
                ),
            )
            .with(&["router.injectors"]));
        }
        let max_packet_flits = packet_flits;
        let dla = c.routing.deadlock_avoidance;
        let fc = r.flow_control;
        if fc == FlowControl::VirtualCutThrough && buffer < max_packet_flits {
            return Err(ConfigError::new(
                "router.buffer_flits",
                format!(
                    "virtual cut-through needs room for a whole packet: {buffer} < {max_packet_flits} flits"
                ),
            )
            .with(&["traffic.packet_flits", "router.flow_control"]));
        }
        if (n.ejection_buffer_flits as usize) < max_packet_flits.max(1) {
            return Err(ConfigError::new(
                "network.ejection_buffer_flits",
                format!(
                    "{} flits cannot hold a {max_packet_flits}-flit packet",
                    n.ejection_buffer_flits
                ),
            )
            .with(&["traffic.packet_flits"]));
        }
        match dla {
            DeadlockAvoidance::Bubble => {
                if fc != FlowControl::VirtualCutThrough {
                    return Err(ConfigError::new(
                        "routing.deadlock_avoidance",
                        "bubble flow control needs flow_control = \"virtual-cut-through\"",
                    ));
                }
                if buffer < 2 * max_packet_flits {
                    return Err(ConfigError::new(
                        "router.buffer_flits",
                        format!(
                            "bubble flow control needs room for two packets: {buffer} < 2 x {max_packet_flits} flits"
                        ),
                    )
                    .with(&["routing.deadlock_avoidance", "traffic.packet_flits"]));
                }
            }
            DeadlockAvoidance::Dateline | DeadlockAvoidance::DatelineEntry
                if c.routing.algorithm != RoutingAlgorithm::Adaptive
                    && (vcs < 2 || vcs % 2 != 0) =>
            {
                return Err(ConfigError::new(
                    "router.virtual_channels",
                    format!(
                        "dateline deadlock avoidance needs an even number of VCs (two classes); got {vcs}"
                    ),
                )
                .with(&["routing.deadlock_avoidance"]));
            }
            _ => {}
        }
        let faults = super::faults::resolve(&shape, &c.faults)?;
        let collectives = match &c.collectives {
            Some(k) => Some(resolve_collectives(k, nodes, &faults, clock_hz)?),
            None => None,
        };
        if collectives.is_some()
            && r.timeout.is_some()
            && r.timeout_action == TimeoutAction::SwitchSubnetwork
        {
            return Err(ConfigError::new(
                "router.timeout_action",
                "tree packets of [collectives] must stay on their tree VC; \"switch-subnetwork\" would move them off it (remove router.timeout, or use \"escape\" with adaptive routing)",
            )
            .with(&["collectives", "router.timeout"]));
        }
        let algo = c.routing.algorithm;
        if !faults.is_empty()
            && !matches!(algo, RoutingAlgorithm::Table | RoutingAlgorithm::Adaptive)
        {
            return Err(ConfigError::new(
                "routing.algorithm",
                "the config has failed links or nodes; only \"table\" and \"adaptive\" routing bypass them",
            )
            .with(&["faults"]));
        }
        let subnetworks = positive(
            "routing.subnetworks",
            c.routing.subnetworks,
            "virtual subnetworks",
        )?;
        let per_class_min = match (algo, dla, c.routing.escape) {
            (RoutingAlgorithm::Adaptive, DeadlockAvoidance::Bubble, _) => 2,
            (RoutingAlgorithm::Adaptive, _, EscapeRouting::None) => 1,
            (RoutingAlgorithm::Adaptive, DeadlockAvoidance::None, _) => 2,
            (RoutingAlgorithm::Adaptive, _, _) => 3,
            (_, DeadlockAvoidance::Dateline | DeadlockAvoidance::DatelineEntry, _) => 2,
            _ => 1,
        };
        let dateline_split = per_class_min == 2
            && algo != RoutingAlgorithm::Adaptive
            && !(vcs / subnetworks.max(1)).is_multiple_of(2);
        if vcs < subnetworks * per_class_min || vcs % subnetworks != 0 || dateline_split {
            let key = if c.routing.subnetworks > 1 {
                "routing.subnetworks"
            } else {
                "router.virtual_channels"
            };
            return Err(ConfigError::new(
                key,
                format!(
                    "{vcs} VCs cannot be split into {subnetworks} subnetwork(s) of at least {per_class_min} VCs each{}",
                    if algo == RoutingAlgorithm::Adaptive {
                        " (adaptive routing needs its escape VC(s) plus at least one adaptive VC)"
                    } else {
                        ""
                    }
                ),
            )
            .with(&[
                if key == "routing.subnetworks" { "router.virtual_channels" } else { "routing.subnetworks" },
                "routing.algorithm",
                "routing.deadlock_avoidance",
            ]));
        }
        let timeout = match r.timeout {
            None => None,
            Some(d) => Some(cyc("router.timeout", d, 1)?),
        };
        if timeout.is_some() {
            match r.timeout_action {
                TimeoutAction::Escape if algo != RoutingAlgorithm::Adaptive => {
                    return Err(ConfigError::new(
                        "router.timeout_action",
                        "\"escape\" needs routing.algorithm = \"adaptive\"; deterministic routing can use \"switch-subnetwork\"",
                    )
                    .with(&["routing.algorithm", "router.timeout"]));
                }
                TimeoutAction::SwitchSubnetwork if subnetworks < 2 => {
                    return Err(ConfigError::new(
                        "router.timeout_action",
                        "\"switch-subnetwork\" needs routing.subnetworks >= 2",
                    )
                    .with(&["routing.subnetworks", "router.timeout"]));
                }
                _ => {}
            }
        }
        let direction_order = match (&c.routing.direction_order, c.routing.algorithm) {
            (Some(list), _) => parse_order(list, shape.len())?,
            (None, _) => (0..shape.len())
                .map(|d| Direction {
                    dim: d,
                    minus: false,
                })
                .chain((0..shape.len()).map(|d| Direction {
                    dim: d,
                    minus: true,
                }))
                .collect(),
        };
        let uses_order = match algo {
            RoutingAlgorithm::DirectionOrder | RoutingAlgorithm::Table => true,
            RoutingAlgorithm::Adaptive => c.routing.escape == EscapeRouting::DirectionOrder,
            RoutingAlgorithm::DimensionOrder => false,
        };
        if c.routing.direction_order.is_some() && !uses_order {
            return Err(ConfigError::new(
                "routing.direction_order",
                "only used with algorithm = \"direction-order\" or \"table\", or adaptive routing with escape = \"direction-order\"; remove it or change the algorithm",
            ));
        }
        for (key, set) in [
            ("traffic.hotspot_nodes", t.hotspot_nodes.is_some()),
            ("traffic.hotspot_fraction", t.hotspot_fraction.is_some()),
        ] {
            if set && t.pattern != Pattern::Hotspot {
                return Err(ConfigError::new(
                    key,
                    "only used with traffic.pattern = \"hotspot\"; remove it or change the pattern",
                ));
            }
        }
        let mut hotspot_nodes = Vec::new();
        let hot_default = [DEFAULT_HOTSPOT_NODE];
        let hot_in = t.hotspot_nodes.as_deref().unwrap_or(&hot_default);
        let hotspot_fraction = t.hotspot_fraction.unwrap_or(DEFAULT_HOTSPOT_FRACTION);
        for &h in hot_in {
            if h < 0 || h as usize >= nodes {
                return Err(ConfigError::new(
                    "traffic.hotspot_nodes",
                    format!("node {h} is not in 0..{nodes}"),
                ));
            }
            hotspot_nodes.push(h as usize);
        }
        if t.pattern == Pattern::Hotspot {
            if hotspot_nodes.is_empty() {
                return Err(ConfigError::new(
                    "traffic.hotspot_nodes",
                    "hotspot traffic needs at least one node",
                ));
            }
            if !(0.0..=1.0).contains(&hotspot_fraction) {
                return Err(ConfigError::new(
                    "traffic.hotspot_fraction",
                    "expected a fraction in [0, 1]",
                ));
            }
        }
        if t.pattern == Pattern::Transpose
            && (shape.len() % 2 != 0 || shape[..shape.len() / 2] != shape[shape.len() / 2..])
        {
            return Err(ConfigError::new(
                "traffic.pattern",
                "transpose needs an even number of dimensions whose two halves have equal sizes (e.g. [8, 8])",
            ));
        }
        // Tornado moves ceil(k/2) - 1 hops per dimension, none on a 2-node ring: if every
        // ring has 2 nodes, every node maps to itself and the run would carry no traffic.
        if t.pattern == Pattern::Tornado && shape.iter().all(|&k| k <= 2) {
            return Err(ConfigError::new(
                "traffic.pattern",
                "tornado sends nothing when every dimension has 2 nodes (it moves ceil(k/2) - 1 hops per dimension); use a larger ring or another pattern",
            ));
        }
        if nodes < 2 {
            return Err(ConfigError::new(
                "topology.shape",
                "need at least two nodes",
            ));
        }
        let s = &c.simulation;
        run_cycles("simulation.warmup_cycles", s.warmup_cycles)?;
        run_cycles("simulation.measure_cycles", s.measure_cycles)?;
        run_cycles("simulation.max_drain_cycles", s.max_drain_cycles)?;
        run_cycles("simulation.watchdog_cycles", s.watchdog_cycles)?;
        if let Some(m) = s.max_program_cycles {
            run_cycles("simulation.max_program_cycles", m)?;
        }
        run_cycles("traffic.injection_delay", t.injection_delay)?;
        let run_cycles = s
            .warmup_cycles
            .saturating_add(s.measure_cycles)
            .saturating_add(s.max_drain_cycles);
        if t.injection_delay >= run_cycles {
            return Err(ConfigError::new(
                "traffic.injection_delay",
                format!(
                    "{} cycles is longer than the whole run ({run_cycles} cycles of warm-up, measurement and drain): no packet could ever be injected",
                    t.injection_delay
                ),
            )
            .with(&[
                "simulation.warmup_cycles",
                "simulation.measure_cycles",
                "simulation.max_drain_cycles",
            ]));
        }
        if s.measure_cycles == 0 {
            return Err(ConfigError::new(
                "simulation.measure_cycles",
                "expected at least 1 cycle",
            ));
        }
        if s.watchdog_cycles == 0 {
            return Err(ConfigError::new(
                "simulation.watchdog_cycles",
                "expected at least 1 cycle",
            ));
        }
        Ok(Params {
            shape,
            seed: c.seed,
            clock_hz,
            flit_bytes: n.flit_bytes,
            header_bytes: n.header_bytes,
            link_rate,
            link_latency,
            credit_latency,
            injection_latency,
            ejection_latency,
            ejection_buffer: n.ejection_buffer_flits as usize,
            vcs,
            buffer,
            injectors,
            ejectors,
            flow_control: fc,
            input_arbiter: r.input_arbiter,
            overlap_route_computation: r.overlap_route_computation,
            allocator: r.allocator,
            arbiter: r.arbiter,
            header_analysis,
            route_computation,
            vc_allocation,
            switch_allocation,
            switch_traversal,
            pre_arbitration: p.pre_arbitration,
            routing: c.routing.algorithm,
            direction_order,
            deadlock_avoidance: dla,
            escape: c.routing.escape,
            selection: c.routing.selection,
            timeout,
            timeout_action: r.timeout_action,
            subnetworks,
            faults,
            max_packet_flits,
            pattern: t.pattern,
            injection_rate: t.injection_rate,
            packet_flits,
            hotspot_nodes,
            hotspot_fraction,
            include_self: t.include_self,
            injection_delay: t.injection_delay,
            warmup_cycles: s.warmup_cycles,
            measure_cycles: s.measure_cycles,
            max_drain_cycles: s.max_drain_cycles,
            watchdog_cycles: s.watchdog_cycles,
            max_program_cycles: s.max_program_cycles.unwrap_or(u64::MAX),
            node,
            link_bytes_per_second: match n.link_bandwidth {
                None => clock_hz * n.flit_bytes as f64,
                Some(Rate::FlitsPerCycle(f)) => f.min(1.0) * clock_hz * n.flit_bytes as f64,
                Some(Rate::BitsPerSecond(b)) => {
                    (b * n.link_encoding.efficiency() / 8.0).min(clock_hz * n.flit_bytes as f64)
                }
            },
            collectives,
            origin: Origin::default(),
        })
    }

    /// VCs per router port: the configured ones, then one per collective tree.
    pub fn router_vcs(&self) -> usize {
        self.vcs + self.trees()
    }

    /// Collective trees (0 without `[collectives]`).
    pub fn trees(&self) -> usize {
        self.collectives.as_ref().map_or(0, |c| c.roots.len())
    }

    pub fn nodes(&self) -> usize {
        self.shape.iter().product()
    }

    /// Processing elements of node programs: the live nodes, numbered in node order.
    pub fn pes(&self) -> usize {
        self.nodes() - self.faults.nodes.len()
    }

    /// Cycles an uncontended head flit spends in one router, arrival to leaving the
    /// crossbar: routing, allocation (VC and switch in parallel with pre-arbitration),
    /// switch traversal.
    pub fn router_delay(&self) -> u64 {
        let alloc = if self.pre_arbitration {
            self.vc_allocation.max(self.switch_allocation)
        } else {
            self.vc_allocation + self.switch_allocation
        };
        self.header_analysis + self.route_computation + alloc + self.switch_traversal
    }

    /// Analytic zero-load network latency of a packet over `hops` router-to-router links:
    /// injection link + (hops + 1) routers + hops links + ejection link + serialisation.
    pub fn zero_load_latency(&self, hops: u64, flits: u64) -> u64 {
        self.injection_latency
            + (hops + 1) * self.router_delay()
            + hops * self.link_latency
            + self.ejection_latency
            + flits
            - 1
    }

    /// Checks what only synthetic traffic needs: its packets hold their header.
    pub fn check_synthetic(&self) -> Result<(), ConfigError> {
        let header_flits = (self.header_bytes as usize).div_ceil(self.flit_bytes as usize);
        if header_flits > self.packet_flits {
            return Err(self.origin.locate(
                ConfigError::new(
                    "traffic.packet_flits",
                    format!(
                        "a {}-flit packet cannot hold the {}-byte header of {} flits; synthetic traffic needs packet_flits >= {header_flits} (or run a program with `torsim shmem`)",
                        self.packet_flits, self.header_bytes, header_flits
                    ),
                )
                .with(&["network.header_bytes", "network.flit_bytes"]),
            ));
        }
        Ok(())
    }

    /// The parameters for node programs: requests and responses on two virtual
    /// subnetworks, and packets up to `node.max_payload_bytes`.
    pub fn for_programs(&self) -> Result<Params, ConfigError> {
        self.for_programs_unlocated()
            .map_err(|e| self.origin.locate(e))
    }

    fn for_programs_unlocated(&self) -> Result<Params, ConfigError> {
        let mut p = self.clone();
        let classes = crate::core::flit::CLASSES;
        let per_class = match (self.routing, self.deadlock_avoidance) {
            (RoutingAlgorithm::Adaptive, DeadlockAvoidance::Bubble) => 2,
            (RoutingAlgorithm::Adaptive, _) => 3,
            (_, DeadlockAvoidance::Dateline | DeadlockAvoidance::DatelineEntry) => 2,
            _ => 1,
        };
        let dateline = matches!(
            self.deadlock_avoidance,
            DeadlockAvoidance::Dateline | DeadlockAvoidance::DatelineEntry
        ) && self.routing != RoutingAlgorithm::Adaptive;
        if !p.vcs.is_multiple_of(classes)
            || p.vcs / classes < per_class
            || (dateline && !(p.vcs / classes).is_multiple_of(2))
        {
            return Err(ConfigError::new(
                "router.virtual_channels",
                format!(
                    "node programs use {classes} virtual subnetworks (requests, responses) of at least {per_class} VC(s) each; {} VCs cannot be split so (try --set router.virtual_channels={})",
                    p.vcs,
                    classes * per_class
                ),
            )
            .with(&["routing.algorithm", "routing.deadlock_avoidance"]));
        }
        let largest = p.packet_flits_for(p.node.max_payload);
        if largest > u16::MAX as u64 {
            return Err(ConfigError::new(
                "network.header_bytes",
                format!(
                    "a packet of {} header bytes and {} payload bytes needs {largest} flits; packets are at most {} flits",
                    p.header_bytes,
                    p.node.max_payload,
                    u16::MAX
                ),
            )
            .with(&["node.max_payload_bytes", "network.flit_bytes"]));
        }
        p.max_packet_flits = p.max_packet_flits.max(largest as usize);
        let m = p.max_packet_flits;
        if p.flow_control == FlowControl::VirtualCutThrough && p.buffer < m {
            return Err(ConfigError::new(
                "router.buffer_flits",
                format!(
                    "virtual cut-through needs room for a whole {m}-flit packet (node.max_payload_bytes)"
                ),
            )
            .with(&["node.max_payload_bytes", "network.header_bytes", "network.flit_bytes"]));
        }
        if p.deadlock_avoidance == DeadlockAvoidance::Bubble && p.buffer < 2 * m {
            return Err(ConfigError::new(
                "router.buffer_flits",
                format!(
                    "bubble flow control needs room for two {m}-flit packets (node.max_payload_bytes)"
                ),
            )
            .with(&["node.max_payload_bytes", "routing.deadlock_avoidance"]));
        }
        if p.ejection_buffer < m {
            return Err(ConfigError::new(
                "network.ejection_buffer_flits",
                format!("cannot hold a {m}-flit packet (node.max_payload_bytes)"),
            )
            .with(&["node.max_payload_bytes", "network.header_bytes"]));
        }
        Ok(p)
    }

    /// Flits of a packet with `payload` bytes: header plus payload, rounded up to flits.
    pub fn packet_flits_for(&self, payload: u32) -> u64 {
        (self.header_bytes as u64 + payload as u64)
            .div_ceil(self.flit_bytes as u64)
            .max(1)
    }

    /// Payload bytes a packet of `flits` carries.
    pub fn payload_bytes(&self, flits: usize) -> u64 {
        (flits as u64 * self.flit_bytes as u64).saturating_sub(self.header_bytes as u64)
    }

    pub fn cycles_to_ns(&self, c: f64) -> f64 {
        c / self.clock_hz * 1e9
    }
}

fn fraction(flits_per_cycle: f64) -> Option<LinkRate> {
    if flits_per_cycle >= 1.0 {
        return None;
    }
    // Exact enough: one part in 10^9 of the rate; a rational keeps long runs drift-free.
    let den: u64 = 1_000_000_000;
    let num = (flits_per_cycle * den as f64).round().max(1.0) as u64;
    let g = gcd(num, den);
    Some(LinkRate {
        num: num / g,
        den: den / g,
    })
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn parse_order(list: &[String], ndims: usize) -> Result<Vec<Direction>, ConfigError> {
    let key = "routing.direction_order";
    let mut out = Vec::new();
    for s in list {
        let s = s.trim().to_ascii_lowercase();
        let (sign, rest) = s.split_at(s.chars().next().map(char::len_utf8).unwrap_or(0));
        let minus = match sign {
            "+" => false,
            "-" => true,
            _ => {
                return Err(ConfigError::new(
                    key,
                    format!("`{s}`: expected a sign then a dimension, e.g. \"+x\""),
                ));
            }
        };
        let dim = (0..ndims)
            .find(|&d| dim_name(d) == rest || rest == d.to_string())
            .ok_or_else(|| {
                ConfigError::new(
                    key,
                    format!("`{s}`: no such dimension in a {ndims}-D torus"),
                )
            })?;
        let d = Direction { dim, minus };
        if out.contains(&d) {
            return Err(ConfigError::new(key, format!("`{s}` appears twice")));
        }
        out.push(d);
    }
    if out.len() != 2 * ndims {
        return Err(ConfigError::new(
            key,
            format!(
                "expected all {} directions of a {ndims}-D torus, got {}",
                2 * ndims,
                out.len()
            ),
        ));
    }
    Ok(out)
}

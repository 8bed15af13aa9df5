//! The TOML schema: every key a config file may hold, with its default.
//!
//! Unknown keys are rejected (`deny_unknown_fields`) so a typo never silently falls back
//! to a default. Each key is documented in the README's config reference.

use super::units::{Duration, Frequency, Rate};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Free-form name shown in reports.
    #[serde(default)]
    pub name: Option<String>,
    /// Global seed; every component derives its own stream from it.
    #[serde(default = "default_seed")]
    pub seed: u64,
    pub topology: TopologyConfig,
    #[serde(default)]
    pub network: NetworkConfig,
    #[serde(default)]
    pub router: RouterConfig,
    #[serde(default)]
    pub routing: RoutingConfig,
    #[serde(default)]
    pub faults: FaultsConfig,
    #[serde(default)]
    pub traffic: TrafficConfig,
    #[serde(default)]
    pub simulation: SimulationConfig,
    #[serde(default)]
    pub node: NodeConfig,
    #[serde(default)]
    pub workload: WorkloadConfig,
    /// Hardware collectives on a virtual tree subnetwork; absent: none, and the network
    /// has no tree VCs (so configs without the table behave exactly as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collectives: Option<CollectivesConfig>,
}

/// The collectives engine of the adapters and its virtual tree subnetwork(s).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CollectivesConfig {
    /// Root node of tree 0 (a node id, as `torsim routes` prints them); tree `t` is
    /// rooted at the live node nearest to `root + t * nodes / trees` in node order.
    #[serde(default)]
    pub root: i64,
    /// Spanning trees (each with its own VC per port); the k-th collective of a run
    /// uses tree `k mod trees`.
    #[serde(default = "default_trees")]
    pub trees: i64,
    /// Time the collectives engine of a node takes for one pass of a tree packet:
    /// combining the inputs of a reduction, or replicating a broadcast packet.
    #[serde(default = "default_combine", serialize_with = "ser_display_dur")]
    pub combine_delay: Duration,
}

impl Default for CollectivesConfig {
    fn default() -> Self {
        CollectivesConfig {
            root: 0,
            trees: default_trees(),
            combine_delay: default_combine(),
        }
    }
}

fn default_trees() -> i64 {
    1
}
fn default_combine() -> Duration {
    Duration::Cycles(1)
}

/// Line code of a serial link: the fraction of the line rate that carries data.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    #[serde(rename = "none")]
    None,
    #[serde(rename = "8b10b")]
    E8b10b,
    #[serde(rename = "64b66b")]
    E64b66b,
    #[serde(rename = "128b130b")]
    E128b130b,
}

impl Encoding {
    pub fn efficiency(self) -> f64 {
        match self {
            Encoding::None => 1.0,
            Encoding::E8b10b => 0.8,
            Encoding::E64b66b => 64.0 / 66.0,
            Encoding::E128b130b => 128.0 / 130.0,
        }
    }
}

/// The node: a SHMEM processing element and its network adapter.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Largest payload of one network packet; longer messages are split.
    #[serde(default = "default_max_payload")]
    pub max_payload_bytes: u32,
    /// Host and adapter time spent per message (descriptor write, doorbell, processing).
    #[serde(default = "zero_dur", serialize_with = "ser_display_dur")]
    pub message_overhead: Duration,
    /// Packets the adapter's send queue holds; a put waits while it is full.
    #[serde(default = "default_queue")]
    pub send_queue_packets: u32,
    /// When a put returns to the program (see [`PutCompletion`]). Left out of the
    /// resolved config while it is the default, so result documents of configs that do
    /// not use it are unchanged.
    #[serde(default, skip_serializing_if = "PutCompletion::is_posted")]
    pub put_completion: PutCompletion,
    #[serde(default)]
    pub pcie: PcieConfig,
    /// Time the target's adapter spends executing one atomic (reading and writing the
    /// word in host memory); atomics to one variable take their turns. Unset: one PCIe
    /// round trip, twice `pcie.latency`.
    #[serde(
        default,
        serialize_with = "ser_opt_dur",
        skip_serializing_if = "Option::is_none"
    )]
    pub atomic_latency: Option<Duration>,
}

/// When a `put` returns control to the program.
///
/// The prototype's adapter takes writes posted over PCIe, so a put can return as soon
/// as the host has handed its data to the adapter. The SHMEM library of the 2012 SpMV
/// paper instead returned only once the message "has been sent into the network"; the
/// two differ by how much a PE can overlap one message's injection with the next
/// message's set-up, which matters when a node sends many messages.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum PutCompletion {
    /// Returns when the host side of the transfer is done (per-message overhead plus the
    /// data crossing PCIe); the packets may still wait in the adapter's send queue.
    #[default]
    Posted,
    /// Returns when the last packet of the message has left the adapter into the
    /// router's injection port (its tail flit is sent).
    Injected,
}

impl PutCompletion {
    /// Whether this is the default, posted completion.
    pub fn is_posted(&self) -> bool {
        *self == PutCompletion::Posted
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            max_payload_bytes: default_max_payload(),
            message_overhead: zero_dur(),
            send_queue_packets: default_queue(),
            put_completion: PutCompletion::default(),
            pcie: PcieConfig::default(),
            atomic_latency: None,
        }
    }
}

fn default_max_payload() -> u32 {
    128
}
fn default_queue() -> u32 {
    64
}

/// PCI Express between processor and adapter; the same in both directions.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PcieConfig {
    /// PCIe generation 1-5 (sets the transfer rate and line code per lane).
    #[serde(default)]
    pub generation: Option<u8>,
    #[serde(default)]
    pub lanes: Option<u8>,
    /// Or a plain data rate instead of generation and lanes.
    #[serde(default, serialize_with = "ser_opt_rate")]
    pub rate: Option<Rate>,
    /// Largest TLP payload (the "max payload size" of the link).
    #[serde(default = "default_max_payload")]
    pub max_payload_bytes: u32,
    /// Bytes each TLP adds on the wire: framing, sequence number, header, LCRC.
    #[serde(default = "default_tlp_overhead")]
    pub tlp_overhead_bytes: u32,
    /// Link-layer (ACK and flow-control DLLP) bytes per TLP.
    #[serde(default = "default_dllp_overhead")]
    pub dllp_overhead_bytes: u32,
    /// One-way latency of a transfer.
    #[serde(default = "zero_dur", serialize_with = "ser_display_dur")]
    pub latency: Duration,
}

impl Default for PcieConfig {
    fn default() -> Self {
        PcieConfig {
            generation: None,
            lanes: None,
            rate: None,
            max_payload_bytes: default_max_payload(),
            tlp_overhead_bytes: default_tlp_overhead(),
            dllp_overhead_bytes: default_dllp_overhead(),
            latency: zero_dur(),
        }
    }
}

fn default_tlp_overhead() -> u32 {
    24
}
fn default_dllp_overhead() -> u32 {
    8
}

/// What the nodes run when it is not synthetic traffic.
#[derive(Clone, Debug, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    /// A program file (see `traffic/`), path relative to the config file.
    #[serde(default)]
    pub program: Option<String>,
}

fn default_seed() -> u64 {
    1
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TopologyConfig {
    /// Ring size per dimension, e.g. `[8, 8]` or `[8, 8, 8, 4]`.
    pub shape: Vec<i64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Router clock.
    #[serde(default = "default_clock", serialize_with = "ser_display_freq")]
    pub clock: Frequency,
    /// Flit width in bytes: the unit of buffering and of link transfer.
    #[serde(default = "default_flit_bytes")]
    pub flit_bytes: u32,
    /// Packet header size in bytes (carried inside the first flit(s)); payload = packet
    /// bytes minus this.
    #[serde(default)]
    pub header_bytes: u32,
    /// Bandwidth of one link direction (line rate); default one flit per cycle.
    #[serde(default, serialize_with = "ser_opt_rate")]
    pub link_bandwidth: Option<Rate>,
    /// Line code of the links: the data rate is the line rate times its efficiency.
    #[serde(default)]
    pub link_encoding: Encoding,
    /// Wire delay of a router-to-router link.
    #[serde(default = "one_cycle", serialize_with = "ser_display_dur")]
    pub link_latency: Duration,
    /// Delay of a credit returning upstream; default: the link latency.
    #[serde(default, serialize_with = "ser_opt_dur")]
    pub credit_latency: Option<Duration>,
    /// Delay from a node's network adapter into the router's injector.
    #[serde(default = "one_cycle", serialize_with = "ser_display_dur")]
    pub injection_latency: Duration,
    /// Delay from the router's ejector into the node's adapter.
    #[serde(default = "one_cycle", serialize_with = "ser_display_dur")]
    pub ejection_latency: Duration,
    /// Flits the node adapter can buffer per ejection virtual channel.
    #[serde(default = "default_eject_buffer")]
    pub ejection_buffer_flits: u32,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            clock: default_clock(),
            flit_bytes: default_flit_bytes(),
            header_bytes: 0,
            link_bandwidth: None,
            link_encoding: Encoding::None,
            link_latency: one_cycle(),
            credit_latency: None,
            injection_latency: one_cycle(),
            ejection_latency: one_cycle(),
            ejection_buffer_flits: default_eject_buffer(),
        }
    }
}

fn default_clock() -> Frequency {
    Frequency(1e9)
}
fn default_flit_bytes() -> u32 {
    16
}
fn default_eject_buffer() -> u32 {
    16
}
fn one_cycle() -> Duration {
    Duration::Cycles(1)
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum FlowControl {
    VirtualCutThrough,
    Wormhole,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ArbiterKind {
    RoundRobin,
    OldestFirst,
    FixedPriority,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AllocatorKind {
    InputFirst,
    OutputFirst,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    /// Virtual channels per input port.
    #[serde(default = "default_vcs")]
    pub virtual_channels: i64,
    /// Buffer depth of one input virtual channel, in flits.
    #[serde(default = "default_buffer")]
    pub buffer_flits: i64,
    /// Crossbar inputs that take packets from the node.
    #[serde(default = "one_i64")]
    pub injectors: i64,
    /// Crossbar outputs that deliver packets to the node.
    #[serde(default = "one_i64")]
    pub ejectors: i64,
    #[serde(default = "default_fc")]
    pub flow_control: FlowControl,
    /// `false`: every input VC is its own crossbar input. `true`: the VCs of one input
    /// port share one crossbar input through an input arbiter.
    #[serde(default)]
    pub input_arbiter: bool,
    /// `true`: a head queued behind another packet in its VC starts route computation
    /// in the cycle that packet's tail leaves. `false`: only in the cycle after (the
    /// VC is idle for that cycle, as in BookSim2's input-queued router).
    #[serde(default = "yes")]
    pub overlap_route_computation: bool,
    #[serde(default = "default_alloc")]
    pub allocator: AllocatorKind,
    #[serde(default = "default_arb")]
    pub arbiter: ArbiterKind,
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// A head flit that has waited this long for a VC is re-routed (see
    /// `timeout_action`); unset: never.
    #[serde(default, serialize_with = "ser_opt_dur")]
    pub timeout: Option<Duration>,
    #[serde(default = "default_timeout_action")]
    pub timeout_action: TimeoutAction,
}

fn default_timeout_action() -> TimeoutAction {
    TimeoutAction::Escape
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            virtual_channels: default_vcs(),
            buffer_flits: default_buffer(),
            injectors: 1,
            ejectors: 1,
            flow_control: default_fc(),
            input_arbiter: false,
            overlap_route_computation: true,
            allocator: default_alloc(),
            arbiter: default_arb(),
            pipeline: PipelineConfig::default(),
            timeout: None,
            timeout_action: default_timeout_action(),
        }
    }
}

fn yes() -> bool {
    true
}
fn default_vcs() -> i64 {
    2
}
fn default_buffer() -> i64 {
    8
}
fn one_i64() -> i64 {
    1
}
fn default_fc() -> FlowControl {
    FlowControl::VirtualCutThrough
}
fn default_alloc() -> AllocatorKind {
    AllocatorKind::InputFirst
}
fn default_arb() -> ArbiterKind {
    ArbiterKind::RoundRobin
}

/// Delays of the router pipeline stages, each in cycles (or a duration string).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    #[serde(default = "zero_dur", serialize_with = "ser_display_dur")]
    pub header_analysis: Duration,
    #[serde(default = "one_cycle", serialize_with = "ser_display_dur")]
    pub route_computation: Duration,
    /// Request to the output (VC) arbiter until its grant returns.
    #[serde(default = "one_cycle", serialize_with = "ser_display_dur")]
    pub vc_allocation: Duration,
    /// Request to the switch arbiter until its grant returns.
    #[serde(default = "one_cycle", serialize_with = "ser_display_dur")]
    pub switch_allocation: Duration,
    #[serde(default = "one_cycle", serialize_with = "ser_display_dur")]
    pub switch_traversal: Duration,
    /// Request the switch speculatively, in parallel with VC allocation.
    #[serde(default)]
    pub pre_arbitration: bool,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            header_analysis: zero_dur(),
            route_computation: one_cycle(),
            vc_allocation: one_cycle(),
            switch_allocation: one_cycle(),
            switch_traversal: one_cycle(),
            pre_arbitration: false,
        }
    }
}

fn zero_dur() -> Duration {
    Duration::Cycles(0)
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RoutingAlgorithm {
    /// Dimensions in index order, each ring the short way.
    DimensionOrder,
    /// Directions in `routing.direction_order` (Cray T3E style).
    DirectionOrder,
    /// Per-source tables of (first step, direction signs, last step), generated from
    /// the topology and the fault set: direction order where it avoids every fault.
    Table,
    /// Minimal adaptive routing over the productive directions plus an escape VC.
    Adaptive,
}

/// The deterministic subfunction adaptive routing falls back on (its escape channels).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum EscapeRouting {
    /// Direction order (`routing.direction_order`), with First/Last Step tables when
    /// links or nodes have failed.
    DirectionOrder,
    /// Dimension order (direction order +x -x +y -y ...), tables under faults.
    DimensionOrder,
    /// No escape channel: not deadlock-free, refused by the check.
    None,
}

/// How a router picks among the candidates routing proposes.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Selection {
    /// The usable candidate whose output VC has the most credits (ties: routing's order).
    MostCredits,
    /// The first usable candidate in routing's order of preference.
    First,
    /// A usable candidate drawn from the router's own random stream.
    Random,
}

/// What a router does with a head flit that waited `router.timeout` cycles for a VC.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TimeoutAction {
    /// Adaptive routing: offer only the escape channel from then on.
    Escape,
    /// Move the packet to the next virtual subnetwork (`traffic.subnetworks`).
    SwitchSubnetwork,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DeadlockAvoidance {
    /// Two VC classes per ring; a packet moves to the upper class after the wrap link.
    Dateline,
    /// Two VC classes per ring; the class is fixed when the packet enters the ring, by
    /// whether its path in that ring will cross the wrap link (BookSim2's torus rule).
    DatelineEntry,
    Bubble,
    None,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    #[serde(default = "default_algo")]
    pub algorithm: RoutingAlgorithm,
    /// For `direction-order`: the order directions are taken in, e.g.
    /// `["+x", "+y", "-x", "-y"]` (default: all `+` directions, then all `-`).
    #[serde(default)]
    pub direction_order: Option<Vec<String>>,
    #[serde(default = "default_dla")]
    pub deadlock_avoidance: DeadlockAvoidance,
    /// Virtual subnetworks (disjoint VC sets) of synthetic traffic; packets start in
    /// the first and a timeout may move them to the next.
    #[serde(default = "one_i64")]
    pub subnetworks: i64,
    /// Adaptive routing: the deterministic routing of the escape channel.
    #[serde(default = "default_escape")]
    pub escape: EscapeRouting,
    /// How a router chooses among usable candidates.
    #[serde(default = "default_selection")]
    pub selection: Selection,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            algorithm: default_algo(),
            direction_order: None,
            deadlock_avoidance: default_dla(),
            subnetworks: 1,
            escape: default_escape(),
            selection: default_selection(),
        }
    }
}

fn default_escape() -> EscapeRouting {
    EscapeRouting::DirectionOrder
}
fn default_selection() -> Selection {
    Selection::MostCredits
}

/// Failed links and nodes. Routing never uses a failed link; a failed node's router is
/// down and its PE takes no part.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsConfig {
    /// Failed links as a node's coordinates and a direction, e.g. `"0,1,2 +x"`; a failed
    /// link is dead in both directions.
    #[serde(default)]
    pub links: Vec<String>,
    /// Failed nodes by coordinates, e.g. `"3,0,1"`.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// Further links, drawn at random from `seed` among the live ones.
    #[serde(default)]
    pub random_links: i64,
    /// Further nodes, drawn at random from `seed` among the live ones.
    #[serde(default)]
    pub random_nodes: i64,
    /// Seed of the random draws (independent of the traffic seed).
    #[serde(default = "default_seed")]
    pub seed: u64,
}

impl Default for FaultsConfig {
    /// The same defaults as an empty `[faults]` table (seed 1), so the result file
    /// reports one value whether or not the config has the table.
    fn default() -> Self {
        FaultsConfig {
            links: vec![],
            nodes: vec![],
            random_links: 0,
            random_nodes: 0,
            seed: default_seed(),
        }
    }
}

fn default_algo() -> RoutingAlgorithm {
    RoutingAlgorithm::DimensionOrder
}
fn default_dla() -> DeadlockAvoidance {
    DeadlockAvoidance::Dateline
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    Uniform,
    NearestNeighbor,
    BitComplement,
    Transpose,
    Hotspot,
    /// Each node sends ceil(k/2) - 1 hops ahead (plus direction) in every dimension: the
    /// classic adversarial pattern for tori. It loads only the plus half of every ring,
    /// and since that is the only minimal direction, minimal adaptive routing cannot
    /// spread it.
    Tornado,
    /// A fixed, uniformly random permutation of the nodes drawn from the global seed;
    /// nodes the permutation maps to themselves send nothing.
    RandomPermutation,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficConfig {
    #[serde(default = "default_pattern")]
    pub pattern: Pattern,
    /// Offered load in flits per node per cycle (Bernoulli packet arrivals).
    #[serde(default = "default_rate")]
    pub injection_rate: f64,
    /// Packet length in flits, header included (at most 65535).
    #[serde(default = "one_i64")]
    pub packet_flits: i64,
    /// Hot-spot nodes (only with `pattern = "hotspot"`; default: node 0). Optional so
    /// that setting it under another pattern is refused instead of ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotspot_nodes: Option<Vec<i64>>,
    /// Fraction of packets sent to a hot-spot node; the rest are uniform (only with
    /// `pattern = "hotspot"`; default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotspot_fraction: Option<f64>,
    /// Uniform traffic (also the uniform share of `hotspot`) may pick the source itself
    /// as destination; such packets go through the injector and ejector of one router.
    #[serde(default)]
    pub include_self: bool,
    /// Cycles from a packet's creation to the first cycle its source may inject it.
    #[serde(default)]
    pub injection_delay: u64,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        TrafficConfig {
            pattern: default_pattern(),
            injection_rate: default_rate(),
            packet_flits: 1,
            hotspot_nodes: None,
            hotspot_fraction: None,
            include_self: false,
            injection_delay: 0,
        }
    }
}

fn default_pattern() -> Pattern {
    Pattern::Uniform
}
fn default_rate() -> f64 {
    0.1
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationConfig {
    /// Cycles simulated before measurement starts, so figures describe steady state.
    #[serde(default = "default_warmup")]
    pub warmup_cycles: u64,
    /// Packets created in this window are measured.
    #[serde(default = "default_measure")]
    pub measure_cycles: u64,
    /// After measurement, how long to wait for measured packets before declaring the
    /// network saturated.
    #[serde(default = "default_drain")]
    pub max_drain_cycles: u64,
    /// No delivery for this many cycles while packets are in flight is a deadlock.
    #[serde(default = "default_watchdog")]
    pub watchdog_cycles: u64,
    /// A program run that has not ended by this cycle fails, saying what each PE is
    /// doing: the guard against programs that spin forever (a lock never released).
    /// Unset: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_program_cycles: Option<u64>,
}

impl Default for SimulationConfig {
    fn default() -> Self {
        SimulationConfig {
            warmup_cycles: default_warmup(),
            measure_cycles: default_measure(),
            max_drain_cycles: default_drain(),
            watchdog_cycles: default_watchdog(),
            max_program_cycles: None,
        }
    }
}

fn default_warmup() -> u64 {
    2_000
}
fn default_measure() -> u64 {
    10_000
}
fn default_drain() -> u64 {
    50_000
}
fn default_watchdog() -> u64 {
    20_000
}

fn ser_display_dur<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Duration::Cycles(c) => s.serialize_u64(*c),
        Duration::Seconds(_) => s.serialize_str(&d.to_string()),
    }
}

fn ser_opt_dur<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => ser_display_dur(d, s),
        None => s.serialize_none(),
    }
}

fn ser_display_freq<S: serde::Serializer>(f: &Frequency, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&f.to_string())
}

fn ser_opt_rate<S: serde::Serializer>(r: &Option<Rate>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_str(&r.to_string()),
        None => s.serialize_none(),
    }
}

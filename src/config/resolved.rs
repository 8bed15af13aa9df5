//! The resolved config as a result file records it: every key with the value the run
//! used (defaults filled in, nothing `null`), in the physical units a config file speaks,
//! plus a `model` block with the same quantities in the cycles and flits the model runs on.
//!
//! A result file is only reproducible if it says exactly what was simulated; a default
//! left as `null` or a duration printed as `48.00000000000001 ns` makes a reader guess.

use super::Params;
use super::schema::{Config, Pattern, RoutingAlgorithm};
use super::units::{Rate, clean_number};
use serde_json::{Map, Value, json};

/// The config of a run with every value resolved; see the module documentation.
pub fn resolved_json(c: &Config, p: &Params) -> Value {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    let Value::Object(root) = &mut v else {
        return v;
    };
    if let Some(Value::Object(n)) = root.get_mut("network") {
        if n.get("credit_latency").is_none_or(Value::is_null) {
            let link = n.get("link_latency").cloned().unwrap_or(Value::Null);
            n.insert("credit_latency".into(), link);
        }
        if n.get("link_bandwidth").is_none_or(Value::is_null) {
            n.insert("link_bandwidth".into(), json!("1 flit/cycle"));
        }
    }
    if let Some(Value::Object(r)) = root.get_mut("router")
        && r.get("timeout").is_none_or(Value::is_null)
    {
        r.insert("timeout".into(), json!("none"));
    }
    if let Some(Value::Object(r)) = root.get_mut("routing") {
        if uses_direction_order(p) {
            let order: Vec<String> = p.direction_order.iter().map(|d| d.name()).collect();
            r.insert("direction_order".into(), json!(order));
        } else {
            r.remove("direction_order");
        }
    }
    if let Some(Value::Object(t)) = root.get_mut("traffic")
        && p.pattern == Pattern::Hotspot
    {
        t.insert("hotspot_nodes".into(), json!(p.hotspot_nodes));
        t.insert("hotspot_fraction".into(), json!(p.hotspot_fraction));
    }
    let pcie_configured = c.node.pcie.rate.is_some() || c.node.pcie.generation.is_some();
    let pcie_rate = if pcie_configured {
        Rate::BitsPerSecond(pcie_bytes_per_second(p) * 8.0).to_string()
    } else {
        "unlimited".to_string()
    };
    if let Some(Value::Object(node)) = root.get_mut("node")
        && let Some(Value::Object(pcie)) = node.get_mut("pcie")
    {
        if pcie.get("rate").is_none_or(Value::is_null) {
            pcie.insert("rate".into(), json!(pcie_rate));
        }
        for k in ["generation", "lanes"] {
            if pcie.get(k).is_some_and(Value::is_null) {
                pcie.insert(k.into(), json!("none"));
            }
        }
    }
    if let Some(Value::Object(w)) = root.get_mut("workload")
        && w.get("program").is_none_or(Value::is_null)
    {
        w.insert("program".into(), json!("none"));
    }
    if root.get("name").is_some_and(Value::is_null) {
        root.remove("name");
    }
    root.insert("model".into(), model_json(p, &pcie_rate));
    v
}

fn uses_direction_order(p: &Params) -> bool {
    match p.routing {
        RoutingAlgorithm::DirectionOrder | RoutingAlgorithm::Table => true,
        RoutingAlgorithm::Adaptive => p.escape == super::schema::EscapeRouting::DirectionOrder,
        RoutingAlgorithm::DimensionOrder => false,
    }
}

fn pcie_bytes_per_second(p: &Params) -> f64 {
    p.node.pcie.num as f64 / p.node.pcie.den as f64 * p.clock_hz
}

/// The same quantities in model units: whole cycles, flits, bytes per cycle.
fn model_json(p: &Params, pcie_rate: &str) -> Value {
    let num = |x: f64| -> Value {
        clean_number(x)
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or(Value::Null)
    };
    let (link_num, link_den) = p.link_rate.map(|r| (r.num, r.den)).unwrap_or((1, 1));
    let mut m = Map::new();
    m.insert("cycle_ns".into(), num(1e9 / p.clock_hz));
    m.insert("link_latency_cycles".into(), json!(p.link_latency));
    m.insert("credit_latency_cycles".into(), json!(p.credit_latency));
    m.insert(
        "injection_latency_cycles".into(),
        json!(p.injection_latency),
    );
    m.insert("ejection_latency_cycles".into(), json!(p.ejection_latency));
    m.insert(
        "link_flits_per_cycle".into(),
        num(link_num as f64 / link_den as f64),
    );
    m.insert(
        "link_flits_per_cycle_exact".into(),
        json!(format!("{link_num}/{link_den}")),
    );
    m.insert(
        "link_data_rate".into(),
        json!(Rate::BitsPerSecond(p.link_bytes_per_second * 8.0).to_string()),
    );
    m.insert(
        "pipeline_cycles".into(),
        json!({
            "header_analysis": p.header_analysis,
            "route_computation": p.route_computation,
            "vc_allocation": p.vc_allocation,
            "switch_allocation": p.switch_allocation,
            "switch_traversal": p.switch_traversal,
        }),
    );
    m.insert("router_delay_cycles".into(), json!(p.router_delay()));
    m.insert(
        "timeout_cycles".into(),
        p.timeout.map_or(json!("none"), |t| json!(t)),
    );
    m.insert(
        "packet_payload_bytes".into(),
        json!(p.payload_bytes(p.packet_flits)),
    );
    m.insert(
        "max_payload_packet_flits".into(),
        json!(p.packet_flits_for(p.node.max_payload)),
    );
    m.insert(
        "message_overhead_cycles".into(),
        json!(p.node.message_overhead),
    );
    m.insert("pcie_latency_cycles".into(), json!(p.node.pcie.latency));
    m.insert("pcie_data_rate".into(), json!(pcie_rate));
    m.insert(
        "pcie_bytes_per_cycle".into(),
        if pcie_rate == "unlimited" {
            json!("unlimited")
        } else {
            num(pcie_bytes_per_second(p) / p.clock_hz)
        },
    );
    m.insert("nodes".into(), json!(p.nodes()));
    m.insert("live_nodes".into(), json!(p.pes()));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(text: &str) -> Value {
        let (c, p) = crate::config::load_str(text, None, &[]).expect("valid config");
        resolved_json(&c, &p)
    }

    fn has_null(v: &Value) -> bool {
        match v {
            Value::Null => true,
            Value::Array(a) => a.iter().any(has_null),
            Value::Object(m) => m.values().any(has_null),
            _ => false,
        }
    }

    #[test]
    fn defaults_are_filled_in_and_nothing_is_null() {
        let v = resolved("[topology]\nshape = [4, 4]\n");
        assert!(!has_null(&v), "{v:#}");
        assert_eq!(v["network"]["link_bandwidth"], "1 flit/cycle");
        assert_eq!(v["network"]["credit_latency"], 1);
        assert_eq!(v["model"]["credit_latency_cycles"], 1);
        assert_eq!(v["node"]["pcie"]["rate"], "unlimited");
    }

    #[test]
    fn physical_and_model_units_without_float_noise() {
        let v = resolved(
            "[topology]\nshape = [3, 3]\n[network]\nclock = \"250 MHz\"\nflit_bytes = 8\n\
             link_bandwidth = \"6.25 Gbit/s\"\nlink_encoding = \"8b10b\"\n\
             [node]\nmessage_overhead = \"48 ns\"\n[node.pcie]\ngeneration = 1\nlanes = 8\n",
        );
        assert!(!has_null(&v), "{v:#}");
        assert_eq!(v["network"]["clock"], "250 MHz");
        assert_eq!(v["node"]["message_overhead"], "48 ns");
        assert_eq!(v["model"]["message_overhead_cycles"], 12);
        assert_eq!(v["model"]["cycle_ns"], 4.0);
        assert_eq!(v["model"]["link_data_rate"], "5 Gbit/s");
        assert_eq!(v["model"]["link_flits_per_cycle_exact"], "5/16");
        assert_eq!(v["node"]["pcie"]["rate"], "16 Gbit/s");
        assert_eq!(v["model"]["pcie_bytes_per_cycle"], 8.0);
    }
}

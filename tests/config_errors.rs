//! Bad inputs through the CLI: a clear one-line error naming the file, the key and the
//! line where they apply, exit code 1, never a panic.

mod common;

use common::{stderr, stdout, torsim, write_config};
use std::path::Path;

/// Runs `torsim run <path> <extra...>` and checks the error contract; returns stderr.
fn expect_error(path: &Path, extra: &[&str], must_contain: &[&str]) -> String {
    let p = path.to_str().unwrap();
    let mut args = vec!["run", p];
    args.extend_from_slice(extra);
    let o = torsim(&args);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}: exit code; stderr: {e}");
    assert!(!e.contains("panicked"), "{args:?}: panic: {e}");
    assert!(e.starts_with("torsim: "), "{args:?}: {e}");
    assert!(e.lines().count() <= 2, "{args:?}: not one line: {e}");
    assert!(stdout(&o).is_empty(), "{args:?}: stdout: {}", stdout(&o));
    for s in must_contain {
        assert!(e.contains(s), "{args:?}: expected `{s}` in: {e}");
    }
    e
}

/// A config that is valid except for `bad` (inserted as-is at the end), so the error
/// can only come from it. Returns the file and the 1-based line of `bad`'s first line.
fn with_bad(dir: &Path, name: &str, bad: &str) -> (std::path::PathBuf, usize) {
    let good = "name = \"x\"\n[topology]\nshape = [4, 4]\n";
    let line = good.lines().count() + 1;
    (write_config(dir, name, &format!("{good}{bad}")), line)
}

fn at(path: &Path, line: usize) -> String {
    format!("{}:{line}:", path.display())
}

/// A misspelt key must not silently fall back to a default: the schema denies unknown
/// fields; the message names the dotted key and the line.
#[test]
fn unknown_key() {
    let d = tempfile::tempdir().unwrap();
    let (p, l) = with_bad(d.path(), "a.toml", "[router]\nvirtual_channel = 2\n");
    expect_error(
        &p,
        &[],
        &[&at(&p, l + 1), "router.virtual_channel", "unknown field"],
    );
    // Unknown key in a nested table and an unknown table.
    let (p, l) = with_bad(d.path(), "b.toml", "[router.pipeline]\nrouting = 1\n");
    expect_error(&p, &[], &[&at(&p, l + 1), "router.pipeline.routing"]);
    let (p, l) = with_bad(d.path(), "c.toml", "[routers]\nvirtual_channels = 2\n");
    expect_error(&p, &[], &[&at(&p, l), "routers"]);
}

/// A ring of one node has no links (and its +/- neighbour is itself).
#[test]
fn ring_of_one_node() {
    let d = tempfile::tempdir().unwrap();
    let p = write_config(d.path(), "k1.toml", "[topology]\nshape = [8, 1]\n");
    expect_error(&p, &[], &[&at(&p, 2), "topology.shape", "k = 1"]);
    let p = write_config(d.path(), "k0.toml", "[topology]\nshape = []\n");
    expect_error(&p, &[], &[&at(&p, 2), "topology.shape"]);
}

#[test]
fn zero_vcs_and_zero_buffer() {
    let d = tempfile::tempdir().unwrap();
    let (p, l) = with_bad(d.path(), "vc.toml", "[router]\nvirtual_channels = 0\n");
    expect_error(&p, &[], &[&at(&p, l + 1), "router.virtual_channels"]);
    let (p, l) = with_bad(d.path(), "buf.toml", "[router]\nbuffer_flits = 0\n");
    expect_error(&p, &[], &[&at(&p, l + 1), "router.buffer_flits"]);
    // Dateline needs two VC classes.
    let (p, l) = with_bad(d.path(), "odd.toml", "[router]\nvirtual_channels = 3\n");
    expect_error(
        &p,
        &[],
        &[&at(&p, l + 1), "router.virtual_channels", "even"],
    );
}

#[test]
fn negative_delay_and_bad_values() {
    let d = tempfile::tempdir().unwrap();
    let (p, l) = with_bad(d.path(), "neg.toml", "[network]\nlink_latency = -1\n");
    expect_error(
        &p,
        &[],
        &[&at(&p, l + 1), "network.link_latency", "negative"],
    );
    let (p, l) = with_bad(
        d.path(),
        "neg2.toml",
        "[router.pipeline]\nswitch_traversal = \"-2 ns\"\n",
    );
    expect_error(
        &p,
        &[],
        &[&at(&p, l + 1), "router.pipeline.switch_traversal"],
    );
    let (p, l) = with_bad(d.path(), "type.toml", "[router]\nbuffer_flits = \"deep\"\n");
    expect_error(&p, &[], &[&at(&p, l + 1), "router.buffer_flits"]);
    let (p, l) = with_bad(
        d.path(),
        "enum.toml",
        "[router]\nflow_control = \"store-and-forward\"\n",
    );
    expect_error(&p, &[], &[&at(&p, l + 1), "router.flow_control"]);
    let (p, l) = with_bad(
        d.path(),
        "put.toml",
        "[node]\nput_completion = \"blocking\"\n",
    );
    let e = expect_error(&p, &[], &[&at(&p, l + 1), "node.put_completion"]);
    assert!(
        e.contains("posted") && e.contains("injected"),
        "names the choices: {e}"
    );
    let (p, l) = with_bad(d.path(), "unit.toml", "[network]\nclock = \"1 parsec\"\n");
    expect_error(&p, &[], &[&at(&p, l + 1), "network.clock", "parsec"]);
    // Flits carry their packet length as a 16-bit number: longer packets are refused
    // rather than silently truncated.
    let (p, l) = with_bad(
        d.path(),
        "long.toml",
        "[router]\nbuffer_flits = 140000\n[network]\nejection_buffer_flits = 70000\n\
         [traffic]\npacket_flits = 70000\n",
    );
    expect_error(&p, &[], &[&at(&p, l + 5), "traffic.packet_flits"]);
}

#[test]
fn malformed_toml() {
    let d = tempfile::tempdir().unwrap();
    let p = write_config(d.path(), "m1.toml", "[topology]\nshape = [8, 8\n");
    expect_error(&p, &[], &[&p.display().to_string(), ":2:"]);
    let p = write_config(d.path(), "m2.toml", "[topology]\nshape = [8, 8]\n[router\n");
    expect_error(&p, &[], &[&at(&p, 3)]);
    let p = write_config(
        d.path(),
        "m3.toml",
        "[topology]\nshape = [8, 8]\nseed = = 2\n",
    );
    expect_error(&p, &[], &[&at(&p, 3)]);
    // A key given twice.
    let p = write_config(
        d.path(),
        "m4.toml",
        "[topology]\nshape = [8, 8]\nshape = [4, 4]\n",
    );
    expect_error(&p, &[], &[&at(&p, 3)]);
}

#[test]
fn empty_and_missing_files() {
    let d = tempfile::tempdir().unwrap();
    let p = write_config(d.path(), "empty.toml", "");
    expect_error(&p, &[], &[&p.display().to_string(), "empty"]);
    let p = write_config(d.path(), "blank.toml", "\n  \n# only a comment\n");
    expect_error(&p, &[], &[&p.display().to_string()]);
    // No [topology]: the one required table. The file lacks it as a whole; the key on
    // its first line (`seed`) is not to blame.
    let p = write_config(d.path(), "notopo.toml", "seed = 2\n");
    let e = expect_error(
        &p,
        &[],
        &[&p.display().to_string(), "missing field `topology`"],
    );
    assert!(
        !e.contains("`seed`") && !e.contains("notopo.toml:1:"),
        "{e}"
    );
    // A table without its required key is named, with its line.
    let p = write_config(d.path(), "noshape.toml", "seed = 2\n[topology]\n");
    expect_error(
        &p,
        &[],
        &[&at(&p, 2), "`topology`", "missing field `shape`"],
    );
    let p = d.path().join("does-not-exist.toml");
    expect_error(&p, &[], &[&p.display().to_string(), "cannot read"]);
}

/// `--set` errors name the override (and so the key), whatever stage rejects it: the
/// syntax, the type check, or the consistency checks.
#[test]
fn bad_set() {
    let d = tempfile::tempdir().unwrap();
    let p = write_config(d.path(), "good.toml", "[topology]\nshape = [4, 4]\n");
    let cases: &[(&str, &[&str])] = &[
        (
            "traffic.injection_rate",
            &["--set traffic.injection_rate", "key=value"],
        ),
        ("=2", &["--set =2", "empty"]),
        (
            "router.virtual_channels=abc",
            &["router.virtual_channels=abc"],
        ),
        (
            "router.virtual_channel=2",
            &["router.virtual_channel=2", "unknown field"],
        ),
        (
            "network.link_latency=-1",
            &["network.link_latency=-1", "negative"],
        ),
        ("router.buffer_flits=0", &["router.buffer_flits=0", ">= 1"]),
        ("topology.shape=[8, 1]", &["topology.shape=[8, 1]", "k = 1"]),
        ("seed.x=1", &["seed.x=1"]),
        ("traffic=1", &["traffic=1", "expected struct"]),
        (
            "traffic.injection_rate=2.0",
            &["traffic.injection_rate=2.0", "injector"],
        ),
    ];
    for (set, want) in cases {
        let e = expect_error(&p, &["--set", set], want);
        // The file did not cause it: no line of it is blamed.
        assert!(!e.contains("good.toml:2:"), "{set}: {e}");
    }
}

/// A value that the file sets validly but `--set` overrides badly is blamed on the
/// override, not on the file's line.
#[test]
fn set_error_blames_the_override_not_the_file() {
    let d = tempfile::tempdir().unwrap();
    let p = write_config(
        d.path(),
        "f.toml",
        "[topology]\nshape = [4, 4]\n[router]\nbuffer_flits = 8\n",
    );
    let e = expect_error(
        &p,
        &["--set", "router.buffer_flits=0"],
        &["--set router.buffer_flits=0"],
    );
    assert!(!e.contains("f.toml:4:"), "{e}");
}

/// The other subcommands load configs the same way.
#[test]
fn other_subcommands_report_config_errors() {
    let d = tempfile::tempdir().unwrap();
    let (p, l) = with_bad(d.path(), "vc.toml", "[router]\nvirtual_channels = 0\n");
    for cmd in ["check", "topology"] {
        let o = torsim(&[cmd, p.to_str().unwrap()]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {e}");
        assert!(
            e.starts_with(&format!("torsim: {}", at(&p, l + 1))),
            "{cmd}: {e}"
        );
        assert!(!e.contains("panicked"), "{cmd}: {e}");
    }
}

/// A delay or timeout longer than anything the run can reach is refused or harmless,
/// never a wrapped number: an injection delay past the end of the run is an error
/// naming the key and line.
#[test]
fn injection_delay_past_the_run_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let (p, l) = with_bad(
        d.path(),
        "delay.toml",
        "[traffic]\ninjection_delay = 900000000000\n",
    );
    expect_error(
        &p,
        &[],
        &[
            &at(&p, l + 1),
            "traffic.injection_delay",
            "whole run",
            "`simulation.measure_cycles` (default)",
        ],
    );
    // Beyond the longest span of time any value may ask for: refused with the limit.
    let (p, l) = with_bad(
        d.path(),
        "far.toml",
        "[traffic]\ninjection_delay = 9000000000000000000\n",
    );
    expect_error(
        &p,
        &[],
        &[
            &at(&p, l + 1),
            "traffic.injection_delay",
            "1125899906842624",
        ],
    );
}

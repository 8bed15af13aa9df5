//! Symmetric variables, atomics, locals, conditions and loops in node programs: exact
//! results under contention, mutual exclusion by a compare-and-swap lock, the
//! semantics of `let`/`if`/`while`, determinism over partitions and threads, and clear
//! errors for bad programs.

use torsim::config::{Params, load_str};
use torsim::engine::comm::LocalComm;
use torsim::engine::sim::RunOptions;
use torsim::experiment::phases::ProgramOutcome;
use torsim::experiment::run::{RunError, run_program};
use torsim::experiment::validate::run_micro;
use torsim::traffic::micro::{Micro, MicroParams};
use torsim::traffic::program::Program;

/// A test machine with two subnetworks of two dateline VCs.
fn params(shape: &str, extra: &str) -> Params {
    let text = format!(
        "[topology]\nshape = {shape}\n[router]\nvirtual_channels = 4\nbuffer_flits = 32\n\
         [node.pcie]\nlatency = \"100 ns\"\n{extra}"
    );
    load_str(&text, None, &[]).expect("test config").1
}

fn program(p: &Params, text: &str) -> Program {
    Program::parse(text, p.pes(), p.clock_hz, &[]).expect("test program parses")
}

fn run_with(p: &Params, prog: &Program, parts: usize) -> Result<ProgramOutcome, RunError> {
    let opts = RunOptions {
        check: true,
        partitions: parts,
        threads: parts,
        ..Default::default()
    };
    run_program(p, prog, &opts, Box::new(LocalComm), false, &mut |_| {})
}

/// The words of variable `name` on every PE.
fn var(prog: &Program, o: &ProgramOutcome, name: &str) -> Vec<Vec<u64>> {
    let id = prog.variables.id(name).expect("variable exists");
    let r = prog.variables.range(id);
    o.variables.iter().map(|w| w[r.clone()].to_vec()).collect()
}

/// Every PE adds 1 to PE 0's counter `k` times and keeps each old value it fetched.
const COUNTER: &str = r#"
    [params]
    k = 6
    [variables]
    counter = 0
    seen = { words = 6, init = -1 }
    [[pe]]
    pes = "all"
    ops = [
      "let i = 0",
      "while $i < $k {",
      "  fadd 0 counter 1 -> old",
      "  set $me seen[$i] $old",
      "  let i = $i + 1",
      "}",
    ]
"#;

#[test]
fn fetch_and_add_from_every_pe_counts_exactly() {
    for shape in ["[4, 4]", "[3, 3, 2]"] {
        let p = params(shape, "");
        let prog = program(&p, COUNTER);
        let n = p.pes() as u64;
        let o = run_with(&p, &prog, 1).expect("runs");
        let counter = var(&prog, &o, "counter");
        assert_eq!(counter[0], vec![6 * n], "{shape}");
        assert!(counter[1..].iter().all(|c| c == &[0]), "{shape}");
        // Atomicity: the fetched old values are exactly 0 .. n*k, each once.
        let mut seen: Vec<u64> = var(&prog, &o, "seen").concat();
        seen.sort_unstable();
        assert_eq!(seen, (0..6 * n).collect::<Vec<_>>(), "{shape}");
        // The result document lists the variable per PE.
        let doc = torsim::report::variables_json(&prog, &o.variables);
        assert_eq!(doc["counter"][0], 6 * n);
        assert_eq!(doc["seen"].as_array().map(Vec::len), Some(n as usize));
        // Two partitions on two threads: the same run, cycle for cycle.
        let o2 = run_with(&p, &prog, 2).expect("runs on 2 partitions");
        assert_eq!(o2.variables, o.variables, "{shape}");
        assert_eq!(o2.end_cycle, o.end_cycle, "{shape}");
        assert_eq!(o2.stats.packets_delivered, o.stats.packets_delivered);
    }
}

/// A critical section that reads a shared counter, waits, and writes it back plus one:
/// correct only if no two PEs are inside at once.
fn critical_sections(locked: bool) -> String {
    let (acquire, release) = if locked {
        (
            r#""  let got = 1", "  while $got != 0 {", "    cswap 0 lock 0 1 -> got", "  }","#,
            r#""  set 0 lock 0","#,
        )
    } else {
        ("", "")
    };
    format!(
        r#"
        [params]
        k = 3
        [variables]
        lock = 0
        shared = 0
        [[pe]]
        pes = "all"
        ops = [
          "repeat $k {{",
          {acquire}
          "  fetch 0 shared -> v",
          "  compute 200",
          "  set 0 shared $v + 1",
          {release}
          "}}",
        ]
        "#
    )
}

#[test]
fn a_compare_and_swap_lock_excludes() {
    let p = params("[3, 3]", "");
    let n = p.pes() as u64;
    let locked = program(&p, &critical_sections(true));
    let o = run_with(&p, &locked, 1).expect("runs");
    assert_eq!(var(&locked, &o, "shared")[0], vec![3 * n]);
    assert_eq!(var(&locked, &o, "lock")[0], vec![0]);
    let o2 = run_with(&p, &locked, 3).expect("runs on 3 partitions");
    assert_eq!(o2.variables, o.variables);
    assert_eq!(o2.end_cycle, o.end_cycle);
    // Without the lock the read-modify-write sequences overlap and updates are lost,
    // so the check above is one the lock has to earn.
    let racy = program(&p, &critical_sections(false));
    let o = run_with(&p, &racy, 1).expect("runs");
    assert!(var(&racy, &o, "shared")[0][0] < 3 * n);
}

#[test]
fn let_if_while_and_own_variables() {
    // Each PE computes things with loops and branches and stores them in `out`.
    let text = r#"
        [params]
        n = 10
        [variables]
        base = "$me * 3"
        out = { words = 6 }
        [[pe]]
        pes = "all"
        ops = [
          "let i = 0",
          "let a = 0",
          "let b = 1",
          "while $i < $n {",
          "  let t = $a + $b",
          "  let a = $b",
          "  let b = $t",
          "  let i = $i + 1",
          "}",
          "set $me out[0] $a",
          "if $me % 2 == 0 {",
          "  set $me out[1] 100",
          "} else {",
          "  if $me == 1 || $me > 2 && !($me == 3) {",
          "    set $me out[1] 200",
          "  } else {",
          "    set $me out[1] 300",
          "  }",
          "}",
          "let s = 0",
          "let j = @base",
          "while $j > 0 {",
          "  if $j % 2 != 0 {",
          "    let s = $s + $j",
          "  }",
          "  let j = $j - 1",
          "}",
          "set $me out[2] $s",
          "fadd $me base 5 -> before",
          "set $me out[3] $before * 1000 + @base",
          "while 0 {",
          "  set $me out[4] 1",
          "}",
          "if -1 <= -1 && 2 >= 3 == 0 {",
          "  set $me out[5] 7 - 2 * 3",
          "}",
        ]
    "#;
    let p = params("[3, 2]", "");
    let prog = program(&p, text);
    let o = run_with(&p, &prog, 1).expect("runs");
    let out = var(&prog, &o, "out");
    for (me, w) in out.iter().enumerate() {
        let me = me as u64;
        assert_eq!(w[0], 55, "fib(10) on PE {me}");
        let branch = if me.is_multiple_of(2) {
            100
        } else if me == 1 || (me > 2 && me != 3) {
            200
        } else {
            300
        };
        assert_eq!(w[1], branch, "PE {me}");
        let odd_sum: u64 = (1..=me * 3).filter(|j| !j.is_multiple_of(2)).sum();
        assert_eq!(w[2], odd_sum, "PE {me}");
        assert_eq!(w[3], me * 3 * 1000 + me * 3 + 5, "PE {me}");
        assert_eq!(w[4], 0, "a `while 0` body never runs");
        assert_eq!(w[5], 1, "precedence: 7 - 2 * 3");
    }
    assert_eq!(
        var(&prog, &o, "base"),
        (0..6).map(|me| vec![me * 3 + 5]).collect::<Vec<_>>()
    );
}

#[test]
fn bad_programs_name_the_statement() {
    let p = params("[2, 2]", "");
    let err = |ops: &str| {
        let text = format!("[variables]\ncounter = 0\n[[pe]]\npes = \"all\"\nops = [{ops}]\n");
        Program::parse(&text, p.pes(), p.clock_hz, &[])
            .map(|_| ())
            .expect_err("a bad program")
            .0
    };
    let e = err(r#""fadd 0 nope 1""#);
    assert!(
        e.contains("unknown variable `nope`") && e.contains("`fadd 0 nope 1`"),
        "{e}"
    );
    let e = err(r#""fadd 9 counter 1""#);
    assert!(
        e.contains("target PE 9 does not exist") && e.contains("op 1"),
        "{e}"
    );
    let e = err(r#""let x = 1", "set 0 counter $undefined_local""#);
    assert!(
        e.contains("`$undefined_local`") && e.contains("op 2"),
        "{e}"
    );
    let e = err(r#""while 1 {", "inc 0 counter""#);
    assert!(
        e.contains("`while` is never closed") && e.contains("op 1"),
        "{e}"
    );
    let e = err(r#""inc 0 counter", "}""#);
    assert!(
        e.contains("without a matching") && e.contains("op 2"),
        "{e}"
    );
    let e = err(r#""repeat 2 {", "} else {", "}""#);
    assert!(e.contains("closes no `if`"), "{e}");
    let e = err(r#""set 0 counter 1 -> x""#);
    assert!(e.contains("`swap`"), "{e}");
    let e = err(r#""let npes = 3""#);
    assert!(e.contains("parameter"), "{e}");
    let e = err(r#""put 1 $x""#);
    assert!(e.contains("`$x`"), "{e}");
    let e = err(r#""fadd 0 counter[1] 1""#);
    assert!(e.contains("word 1 of `counter`"), "{e}");
    // A variable declared twice is a duplicate key, reported with its line.
    let twice = "[variables]\ncounter = 0\ncounter = 1\n[[pe]]\npes = \"all\"\nops = []\n";
    let e = Program::parse(twice, p.pes(), p.clock_hz, &[])
        .unwrap_err()
        .0;
    assert!(e.contains("line 3") && e.contains("counter"), "{e}");
    // A target computed at run time is checked when the atomic runs: the PE stops there
    // and the run reports what it stopped on.
    let prog = program(
        &p,
        "[variables]\nc = 0\n[[pe]]\npes = \"all\"\nops = [\"let d = $me + 7\", \"inc $d c\"]\n",
    );
    let e = run_with(&p, &prog, 1).unwrap_err().to_string();
    assert!(
        e.contains("PE 0 at op 2") && e.contains("target PE 7 does not exist"),
        "{e}"
    );
}

#[test]
fn a_spin_on_a_lock_never_released_hits_the_cycle_limit() {
    let p = params("[2, 2]", "[simulation]\nmax_program_cycles = 20000\n");
    // PE 1 spins over the network; PE 2 spins on its own copy without any packet.
    let text = r#"
        [variables]
        lock = 1
        [[pe]]
        pes = "1"
        ops = ["let got = 1", "while $got != 0 {", "cswap 0 lock 0 1 -> got", "}"]
        [[pe]]
        pes = "2"
        ops = ["while @lock == 1 {", "}"]
    "#;
    let prog = program(&p, text);
    for parts in [1, 2] {
        let e = run_with(&p, &prog, parts).unwrap_err().to_string();
        assert!(
            e.contains("max_program_cycles") && e.contains("2 PE(s) unfinished"),
            "{e}"
        );
        assert!(e.contains("PE 1 at op") && e.contains("PE 2 at op"), "{e}");
    }
    // Without the limit the same program would run forever; with the lock released
    // it ends well inside it.
    let free = program(&p, &text.replace("lock = 1", "lock = 0"));
    let o = run_with(&p, &free, 1).expect("an unlocked lock is taken at once");
    assert!(o.end_cycle < 20000);
    assert_eq!(var(&free, &o, "lock")[0], vec![1]);
}

#[test]
fn atomic_microbenchmarks_follow_the_adapter_latency() {
    let mp = MicroParams {
        latency_iterations: 10,
        rate_messages: 400,
        ..Default::default()
    };
    let at = |lat: &str| {
        let p = params("[4, 4]", &format!("[node]\natomic_latency = \"{lat}\"\n"));
        (
            run_micro(&p, Micro::AtomicLatency, &mp).expect("latency runs"),
            run_micro(&p, Micro::AtomicRate, &mp).expect("rate runs"),
        )
    };
    let (l1, r1) = at("1 us");
    let (l2, r2) = at("2 us");
    // Each atomic pays the adapter's time once...
    assert!(((l2 - l1) - 1.0).abs() < 0.05, "{l1} us, {l2} us");
    // ...and atomics to one counter take their turns: 1 per atomic_latency.
    assert!((r1 - 1.0).abs() < 0.05, "{r1} M/s");
    assert!((r2 - 0.5).abs() < 0.03, "{r2} M/s");
}

#[test]
fn the_memory_estimate_counts_the_variables() {
    let p = params("[2, 2]", "");
    let prog = program(
        &p,
        "[variables]\nv = { words = 1000 }\n[[pe]]\npes = \"all\"\nops = []\n",
    );
    let e = torsim::experiment::memory::estimate(&p, Some(&prog), None);
    let part = e.parts.iter().find(|(n, _)| *n == "symmetric variables");
    assert_eq!(part.map(|p| p.1), Some(4 * 1000 * 16));
    // A program asking for more words per PE than the store allows is refused.
    let huge = "[variables]\nv = { words = 100000000 }\n[[pe]]\npes = \"all\"\nops = []\n";
    let e = Program::parse(huge, p.pes(), p.clock_hz, &[])
        .unwrap_err()
        .0;
    assert!(e.contains("[variables] v") && e.contains("words"), "{e}");
}

//! On-disk cache of transfer matrices.
//!
//! One file per key `(n, d, p, seed, GENERATOR_VERSION)`, named
//! `tm-g{generator}-n{n}-d{d}-p{p}-s{seed}.bin` in a directory the caller chooses
//! ([`default_cache_dir`] suggests one). Format (version [`CACHE_FORMAT_VERSION`]):
//!
//! 1. One ASCII header line ending in `\n`, whitespace-separated: the magic
//!    `torsim-transfer-matrix`, then `key=value` tokens: `format`, `generator`, `n`, `d`,
//!    `p`, `seed`, `layout=sender-major-sparse-u32le`,
//!    `meaning=T[i][j]:elements-node-i-needs-from-node-j`, `diagonal=local`.
//!    `head -1 file` says what the file is.
//! 2. For each sender `j` in order: the number `m` of non-zero entries `T[i][j]`, then
//!    `m` pairs `(i, T[i][j])` with `i` increasing; all little-endian `u32`.
//! 3. An FNV-1a 64-bit hash of everything before it, little-endian `u64`.
//!
//! Loading never trusts a file: the header must parse and match the requested key
//! exactly, the length must be exact, the hash must match, and no entry may exceed its
//! stripe; otherwise the matrix is recomputed and the file replaced. Writes go to a
//! unique temporary file in the same directory, are synced, then renamed over the
//! final name, so readers (and concurrent writers of the same key, who write identical
//! bytes) never see a partial file.
//!
//! Binary rather than JSON: both are fast enough at p = 2048, but fixed-width fields
//! make the length checks simple and the hash cover every byte, and the size does not
//! depend on the magnitudes (at p = 8 the entries have 6-7 digits). Sparse because the
//! dense `p^2` body grew to 1 GiB at p = 16,384, where most entries are zero; the
//! file is 8 bytes per non-zero (format 1 was dense and is recomputed when met).

use super::SpmvError;
use super::generator::{GENERATOR_VERSION, MatrixSpec};
use super::transfer::TransferMatrix;
use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Version of the file layout above; part of the header.
pub const CACHE_FORMAT_VERSION: u32 = 2;

const MAGIC: &str = "torsim-transfer-matrix";
const LAYOUT: &str = "sender-major-sparse-u32le";
const MEANING: &str = "T[i][j]:elements-node-i-needs-from-node-j";
/// Longest header accepted when loading (a guard against reading garbage as one line).
const MAX_HEADER: usize = 1024;

/// `$TORSIM_CACHE` if set and non-empty, else `target/torsim-cache` (relative to the
/// working directory, so it disappears with `cargo clean`).
pub fn default_cache_dir() -> PathBuf {
    match std::env::var_os("TORSIM_CACHE") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from("target").join("torsim-cache"),
    }
}

/// The cache file for a key in `dir`.
pub fn cache_file(dir: &Path, spec: &MatrixSpec, p: usize) -> PathBuf {
    dir.join(format!(
        "tm-g{GENERATOR_VERSION}-n{}-d{}-p{p}-s{}.bin",
        spec.n, spec.d, spec.seed
    ))
}

/// What a cache lookup found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// A valid file: the matrix was loaded, not computed.
    Hit,
    /// No file: computed.
    Missing,
    /// A file that failed verification or could not be read (the reason): computed.
    Rejected(String),
}

/// Where a cached matrix came from, for logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheReport {
    pub path: PathBuf,
    pub outcome: CacheOutcome,
    /// Set when a freshly computed matrix could not be written (the matrix is still
    /// returned: the cache only saves time).
    pub store_error: Option<String>,
}

/// The transfer matrix for `(spec, p)`, from `dir` when a valid file is there, else
/// computed (with [`TransferMatrix::compute`], in the current rayon pool) and stored.
/// Errors only for invalid parameters; cache trouble is reported in the
/// [`CacheReport`], never fatal.
pub fn transfer_matrix_cached(
    spec: &MatrixSpec,
    p: usize,
    dir: &Path,
) -> Result<(TransferMatrix, CacheReport), SpmvError> {
    spec.validate()?;
    super::partition::Stripes::new(spec.n, p)?;
    let path = cache_file(dir, spec, p);
    let outcome = match fs::read(&path) {
        Ok(bytes) => match decode(&bytes, spec, p) {
            Ok(tm) => {
                return Ok((
                    tm,
                    CacheReport {
                        path,
                        outcome: CacheOutcome::Hit,
                        store_error: None,
                    },
                ));
            }
            Err(reason) => CacheOutcome::Rejected(reason),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => CacheOutcome::Missing,
        Err(e) => CacheOutcome::Rejected(format!("cannot read: {e}")),
    };
    let tm = TransferMatrix::compute(spec, p)?;
    let store_error = store(dir, &tm).err().map(|e| e.to_string());
    Ok((
        tm,
        CacheReport {
            path,
            outcome,
            store_error,
        },
    ))
}

/// Writes `tm` into `dir` (created if needed) atomically; returns the file's path.
pub fn store(dir: &Path, tm: &TransferMatrix) -> Result<PathBuf, SpmvError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SpmvError::Io { path, source }
    };
    fs::create_dir_all(dir).map_err(io(dir))?;
    let path = cache_file(dir, tm.spec(), tm.p());
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(fs::File::create(&tmp)?);
        write_encoded(tm, &mut f)?;
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io(&path)(e)
    })?;
    Ok(path)
}

fn header(spec: &MatrixSpec, p: usize) -> String {
    format!(
        "{MAGIC} format={CACHE_FORMAT_VERSION} generator={GENERATOR_VERSION} n={} d={} p={p} \
         seed={} layout={LAYOUT} meaning={MEANING} diagonal=local\n",
        spec.n, spec.d, spec.seed
    )
}

/// 64-bit FNV-1a, fed piece by piece.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xCBF2_9CE4_8422_2325)
    }
}

impl Fnv {
    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
}

/// 64-bit FNV-1a of `bytes`.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv::default();
    h.update(bytes);
    h.0
}

/// Writes the file's bytes to `out` as they are made, hashing on the way: no copy of
/// the matrix is held (at p = 16,384 it is 650 MiB).
fn write_encoded(tm: &TransferMatrix, out: &mut impl Write) -> std::io::Result<()> {
    let mut h = Fnv::default();
    let mut put = |out: &mut dyn Write, b: &[u8]| -> std::io::Result<()> {
        h.update(b);
        out.write_all(b)
    };
    put(out, header(tm.spec(), tm.p()).as_bytes())?;
    for j in 0..tm.p() {
        let col = tm.column(j);
        put(out, &(col.len() as u32).to_le_bytes())?;
        for (i, c) in col {
            put(out, &(i as u32).to_le_bytes())?;
            put(out, &c.to_le_bytes())?;
        }
    }
    out.write_all(&h.0.to_le_bytes())
}

/// The file's bytes, in memory (tests).
#[cfg(test)]
fn encode(tm: &TransferMatrix) -> Vec<u8> {
    let mut v = Vec::new();
    write_encoded(tm, &mut v).expect("writing to memory");
    v
}

/// The matrix in `bytes` if it is a valid file for exactly this key; else why not.
fn decode(bytes: &[u8], spec: &MatrixSpec, p: usize) -> Result<TransferMatrix, String> {
    let nl = bytes
        .iter()
        .take(MAX_HEADER)
        .position(|&b| b == b'\n')
        .ok_or("no header line")?;
    let head = std::str::from_utf8(&bytes[..nl]).map_err(|_| "header is not UTF-8")?;
    let mut tokens = head.split_ascii_whitespace();
    if tokens.next() != Some(MAGIC) {
        return Err("not a transfer-matrix file".into());
    }
    let fields: HashMap<&str, &str> = tokens.filter_map(|t| t.split_once('=')).collect();
    let want = [
        ("format", CACHE_FORMAT_VERSION.to_string()),
        ("generator", GENERATOR_VERSION.to_string()),
        ("n", spec.n.to_string()),
        ("d", spec.d.to_string()),
        ("p", p.to_string()),
        ("seed", spec.seed.to_string()),
        ("layout", LAYOUT.to_string()),
        ("diagonal", "local".to_string()),
    ];
    for (k, v) in &want {
        match fields.get(k) {
            Some(got) if got == v => {}
            Some(got) => return Err(format!("header {k}={got}, wanted {v}")),
            None => return Err(format!("header lacks {k}")),
        }
    }
    let body = nl + 1;
    if bytes.len() < body + 8 {
        return Err(format!("{} bytes: too short for a body", bytes.len()));
    }
    let (data, tail) = bytes.split_at(bytes.len() - 8);
    let mut h = [0u8; 8];
    h.copy_from_slice(tail);
    if u64::from_le_bytes(h) != fnv1a(data) {
        return Err("checksum mismatch".into());
    }
    let mut words = data[body..].chunks_exact(4);
    if !words.remainder().is_empty() {
        return Err(format!("{} bytes: not whole words", bytes.len()));
    }
    let mut word = || {
        words
            .next()
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
    };
    let ends = |at: String| format!("{} bytes: ends {at}", bytes.len());
    let mut start = Vec::with_capacity(p + 1);
    start.push(0usize);
    // Entries: (body words - one length per sender) / 2, when the file is whole.
    let entries = ((data.len() - body) / 4).saturating_sub(p) / 2;
    let (mut to, mut count) = (Vec::with_capacity(entries), Vec::with_capacity(entries));
    for j in 0..p {
        let m = word().ok_or_else(|| ends(format!("at sender {j}")))?;
        if m as usize > p {
            return Err(format!("sender {j} has {m} entries for p = {p}"));
        }
        for _ in 0..m {
            match (word(), word()) {
                (Some(i), Some(c)) => {
                    to.push(i);
                    count.push(c);
                }
                _ => return Err(ends(format!("in sender {j}"))),
            }
        }
        start.push(to.len());
    }
    if word().is_some() {
        return Err(format!("{} bytes: data after the last sender", bytes.len()));
    }
    TransferMatrix::from_columns(spec, p, start, to, count).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> MatrixSpec {
        MatrixSpec::new(5000, 6, 42).unwrap()
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (a, r1) = transfer_matrix_cached(&spec(), 7, dir.path()).unwrap();
        assert_eq!(r1.outcome, CacheOutcome::Missing);
        assert_eq!(r1.store_error, None);
        assert_eq!(r1.path, cache_file(dir.path(), &spec(), 7));
        let (b, r2) = transfer_matrix_cached(&spec(), 7, dir.path()).unwrap();
        assert_eq!(r2.outcome, CacheOutcome::Hit);
        assert_eq!(a, b);
        assert_eq!(a, TransferMatrix::compute(&spec(), 7).unwrap());
        // No temporary files left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        // Self-describing header.
        let text = fs::read(&r2.path).unwrap();
        let first = text.split(|&b| b == b'\n').next().unwrap();
        assert!(first.starts_with(b"torsim-transfer-matrix format=2 generator=1 n=5000 d=6 p=7"));
    }

    fn rejected_then_repaired(damage: impl Fn(&mut Vec<u8>), why: &str) {
        let dir = tempfile::tempdir().unwrap();
        let (good, _) = transfer_matrix_cached(&spec(), 5, dir.path()).unwrap();
        let path = cache_file(dir.path(), &spec(), 5);
        let mut bytes = fs::read(&path).unwrap();
        damage(&mut bytes);
        fs::write(&path, &bytes).unwrap();
        let (again, r) = transfer_matrix_cached(&spec(), 5, dir.path()).unwrap();
        match &r.outcome {
            CacheOutcome::Rejected(reason) => assert!(reason.contains(why), "{reason}"),
            o => panic!("damaged file accepted: {o:?}"),
        }
        assert_eq!(again, good);
        let (_, r) = transfer_matrix_cached(&spec(), 5, dir.path()).unwrap();
        assert_eq!(r.outcome, CacheOutcome::Hit, "file not rewritten");
    }

    #[test]
    fn corrupted_payload_is_rejected() {
        rejected_then_repaired(
            |b| {
                let k = b.len() - 20;
                b[k] ^= 1;
            },
            "checksum",
        );
    }

    #[test]
    fn truncated_file_is_rejected() {
        // Cut inside the body, checksum redone: the structure gives it away.
        rejected_then_repaired(
            |b| {
                b.truncate(b.len() - 8 - 12);
                let h = fnv1a(b);
                b.extend_from_slice(&h.to_le_bytes());
            },
            "ends",
        );
        rejected_then_repaired(|b| b.truncate(b.len() - 3), "checksum");
    }

    #[test]
    fn garbage_is_rejected() {
        rejected_then_repaired(|b| *b = vec![0xFF; 100], "header");
    }

    #[test]
    fn header_key_mismatch_is_rejected() {
        // A valid file for another seed placed under this key's name.
        rejected_then_repaired(
            |b| {
                let other = TransferMatrix::compute(&MatrixSpec { seed: 43, ..spec() }, 5).unwrap();
                *b = encode(&other);
            },
            "seed=43",
        );
    }

    #[test]
    fn consistent_but_impossible_counts_are_rejected() {
        // Valid header and checksum, an entry larger than its stripe (1000 elements).
        rejected_then_repaired(
            |b| {
                // Sender 0's first entry: its count after (m, i).
                let body = b.iter().position(|&x| x == b'\n').unwrap() + 1;
                b[body + 8..body + 12].copy_from_slice(&5000u32.to_le_bytes());
                b.truncate(b.len() - 8);
                let h = fnv1a(b);
                b.extend_from_slice(&h.to_le_bytes());
            },
            "exceeds",
        );
    }

    #[test]
    fn unwritable_dir_is_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"x").unwrap();
        // A directory path below a regular file cannot be created.
        let (tm, r) = transfer_matrix_cached(&spec(), 3, &blocker.join("sub")).unwrap();
        assert_eq!(tm, TransferMatrix::compute(&spec(), 3).unwrap());
        assert!(r.store_error.is_some());
        assert_ne!(r.outcome, CacheOutcome::Hit);
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let bad = MatrixSpec {
            n: 3,
            d: 4,
            seed: 1,
        };
        assert!(transfer_matrix_cached(&bad, 2, dir.path()).is_err());
        assert!(transfer_matrix_cached(&spec(), 0, dir.path()).is_err());
    }
}

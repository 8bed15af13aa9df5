//! The wire format of [`Msg`] between processes: a fixed number of `u64` words per
//! message.
//!
//! Fields are packed explicitly, rather than by reinterpreting the enum's memory, so
//! the format does not depend on Rust's (unspecified) enum layout or padding, never
//! reads uninitialised padding bytes, and a corrupt word is reported instead of
//! producing an invalid `bool` or enum. Fixed-size records keep the receiver simple
//! (no framing) and let MPI move them as a plain array of 64-bit integers. The module is
//! compiled without the `mpi` feature too, so its round trip is tested everywhere.

use crate::core::flit::{Flit, NodeTag};
use crate::core::message::Msg;
use std::fmt;

/// Words per encoded message.
pub const WORDS: usize = 10;

/// Bytes per encoded message.
pub const MSG_BYTES: usize = WORDS * 8;

const KIND_FLIT: u64 = 1;
const KIND_CREDIT: u64 = 2;
const KIND_EJECT: u64 = 3;
const KIND_INJECT_CREDIT: u64 = 4;
const KIND_TAIL_CREDIT: u64 = 5;

/// A record that does not decode to a message (a bug or a mismatched peer binary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed message from another process: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

/// Appends the [`WORDS`] words of `m` to `out`.
///
/// Layout: `[at, node | port<<32 | vc<<48, kind | measured<<4 | class<<8 |
/// route<<16 | tag.msg<<32, packet, created, injected, tag.flag | tag.kind<<16 |
/// dest<<32, len | index<<16 | hops<<32 | payload<<48, tag.size, tag.arg]`; credits
/// leave the flit words zero.
pub fn encode(m: &Msg, out: &mut Vec<u64>) {
    let (kind, at, node, port, vc, flit) = match *m {
        Msg::Flit {
            at,
            node,
            port,
            vc,
            flit,
        } => (KIND_FLIT, at, node, port, vc, Some(flit)),
        Msg::Credit {
            at,
            node,
            port,
            vc,
            tail,
        } => (
            if tail { KIND_TAIL_CREDIT } else { KIND_CREDIT },
            at,
            node,
            port,
            vc,
            None,
        ),
        Msg::Eject {
            at,
            node,
            port,
            vc,
            flit,
        } => (KIND_EJECT, at, node, port, vc, Some(flit)),
        Msg::InjectCredit { at, node, port, vc } => (KIND_INJECT_CREDIT, at, node, port, vc, None),
    };
    let f = flit.unwrap_or_default();
    out.extend_from_slice(&[
        at,
        u64::from(node) | u64::from(port) << 32 | u64::from(vc) << 48,
        kind | u64::from(f.measured) << 4
            | u64::from(f.class) << 8
            | u64::from(f.route) << 16
            | u64::from(f.tag.msg) << 32,
        f.packet,
        f.created,
        f.injected,
        u64::from(f.tag.flag) | u64::from(f.tag.kind) << 16 | u64::from(f.dest) << 32,
        u64::from(f.len)
            | u64::from(f.index) << 16
            | u64::from(f.hops) << 32
            | u64::from(f.payload) << 48,
        f.tag.size,
        f.tag.arg,
    ]);
}

/// Encodes a batch of messages.
pub fn encode_all(msgs: &[Msg]) -> Vec<u64> {
    let mut out = Vec::with_capacity(msgs.len() * WORDS);
    for m in msgs {
        encode(m, &mut out);
    }
    out
}

/// Decodes one record of exactly [`WORDS`] words.
pub fn decode(w: &[u64]) -> Result<Msg, DecodeError> {
    let w: &[u64; WORDS] = w
        .try_into()
        .map_err(|_| DecodeError(format!("{} words, expected {WORDS}", w.len())))?;
    // Truncating casts pick the packed fields out of their words.
    let at = w[0];
    let node = w[1] as u32;
    let port = (w[1] >> 32) as u16;
    let vc = (w[1] >> 48) as u16;
    let kind = w[2] & 0xf;
    let measured = match (w[2] >> 4) & 0xf {
        0 => false,
        1 => true,
        b => return Err(DecodeError(format!("`measured` byte is {b}"))),
    };
    let flit = Flit {
        packet: w[3],
        created: w[4],
        injected: w[5],
        dest: (w[6] >> 32) as u32,
        len: w[7] as u16,
        index: (w[7] >> 16) as u16,
        hops: (w[7] >> 32) as u16,
        payload: (w[7] >> 48) as u16,
        route: (w[2] >> 16) as u16,
        class: (w[2] >> 8) as u8,
        measured,
        tag: NodeTag {
            kind: (w[6] >> 16) as u8,
            flag: w[6] as u16,
            msg: (w[2] >> 32) as u32,
            size: w[8],
            arg: w[9],
        },
    };
    Ok(match kind {
        KIND_FLIT => Msg::Flit {
            at,
            node,
            port,
            vc,
            flit,
        },
        KIND_CREDIT | KIND_TAIL_CREDIT => Msg::Credit {
            at,
            node,
            port,
            vc,
            tail: kind == KIND_TAIL_CREDIT,
        },
        KIND_EJECT => Msg::Eject {
            at,
            node,
            port,
            vc,
            flit,
        },
        KIND_INJECT_CREDIT => Msg::InjectCredit { at, node, port, vc },
        k => return Err(DecodeError(format!("unknown message kind {k}"))),
    })
}

/// Decodes a batch; its length must be a multiple of [`WORDS`].
pub fn decode_all(words: &[u64]) -> Result<Vec<Msg>, DecodeError> {
    if !words.len().is_multiple_of(WORDS) {
        return Err(DecodeError(format!(
            "{} words is not a whole number of {WORDS}-word messages",
            words.len()
        )));
    }
    words.chunks_exact(WORDS).map(decode).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &Msg, b: &Msg) -> bool {
        // `Msg` has no `PartialEq`; compare through the debug form, which shows every field.
        format!("{a:?}") == format!("{b:?}")
    }

    fn flit(seed: u64) -> Flit {
        Flit {
            packet: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            created: seed,
            injected: seed.wrapping_add(3),
            payload: (seed >> 3) as u16,
            dest: u32::MAX - seed as u32,
            len: 5,
            index: 4,
            hops: 17,
            route: 0b1010_0101_1100_0011,
            class: 3,
            measured: seed.is_multiple_of(2),
            tag: NodeTag {
                kind: 4,
                flag: (seed >> 5) as u16,
                msg: 0xDEAD_BEEF,
                size: seed << 40,
                arg: seed.wrapping_mul(0xD1B5_4A32_D192_ED03),
            },
        }
    }

    fn extremes() -> Flit {
        Flit {
            packet: u64::MAX,
            created: u64::MAX,
            injected: u64::MAX,
            payload: u16::MAX,
            dest: u32::MAX,
            len: u16::MAX,
            index: u16::MAX,
            hops: u16::MAX,
            route: u16::MAX,
            class: u8::MAX,
            measured: true,
            tag: NodeTag {
                kind: u8::MAX,
                flag: u16::MAX,
                msg: u32::MAX,
                size: u64::MAX,
                arg: u64::MAX,
            },
        }
    }

    fn samples() -> Vec<Msg> {
        let mut v = Vec::new();
        for (i, f) in [flit(1), flit(2), Flit::default(), extremes()]
            .into_iter()
            .enumerate()
        {
            let i = i as u64;
            v.push(Msg::Flit {
                at: 10 + i,
                node: 7,
                port: 3,
                vc: 1,
                flit: f,
            });
            v.push(Msg::Eject {
                at: u64::MAX - i,
                node: u32::MAX,
                port: u16::MAX,
                vc: u16::MAX,
                flit: f,
            });
        }
        v.push(Msg::Credit {
            at: 0,
            node: 0,
            port: 0,
            vc: 0,
            tail: false,
        });
        v.push(Msg::Credit {
            at: u64::MAX,
            node: u32::MAX,
            port: u16::MAX,
            vc: u16::MAX,
            tail: true,
        });
        v.push(Msg::InjectCredit {
            at: 99,
            node: 12345,
            port: 2,
            vc: 6,
        });
        v
    }

    #[test]
    fn round_trip() {
        let msgs = samples();
        let words = encode_all(&msgs);
        assert_eq!(words.len(), msgs.len() * WORDS);
        let back = decode_all(&words).expect("decodes");
        assert_eq!(back.len(), msgs.len());
        for (a, b) in msgs.iter().zip(&back) {
            assert!(same(a, b), "{a:?} came back as {b:?}");
        }
    }

    #[test]
    fn rejects_malformed_records() {
        let mut w = encode_all(&samples()[..1]);
        assert!(decode_all(&w[..WORDS - 1]).is_err());
        w[2] = (w[2] & !0xf) | 0x7;
        assert!(decode(&w).is_err());
        let mut w = encode_all(&samples()[..1]);
        w[2] |= 2 << 4;
        assert!(decode(&w).is_err());
    }
}

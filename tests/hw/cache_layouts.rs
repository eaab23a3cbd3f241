//! The fast cache simulator's tag-store layouts against the reference twin:
//! packed sets (1 to 16 ways, odd counts included), the flat arrays of wider
//! sets, and fully associative levels, under every inclusion policy and
//! every replacement policy, with writes (dirty victims), fetches, access
//! sizes of 1 to 64 bytes (some straddle lines), addresses high enough that
//! tags no longer fit in 32 bits (switching a packed level to full tags
//! mid-run), and both the one-access and the batched (prefetching) entry
//! points. Statistics and back-invalidations must be equal, bit for bit.

use crate::seeded;

use bitsim::hw::cache::reference::ReferenceHierarchy;
use bitsim::hw::cache::{
    Hierarchy, HierarchyConfig, Inclusion, LevelConfig, LevelStats, Policy, WritePolicy,
};
use bitsim::hw::trace::{Access, AccessKind, AccessSink};
use seeded::Rng;

/// A level of `sets` sets of `ways` ways of `line` bytes.
fn lvl(name: &str, sets: u64, ways: u32, line: u32, policy: Policy, wt: bool) -> LevelConfig {
    LevelConfig {
        name: name.into(),
        size: sets * ways.max(1) as u64 * line as u64,
        ways,
        line,
        policy,
        write: if wt {
            WritePolicy::WriteThrough
        } else {
            WritePolicy::WriteBack
        },
    }
}

fn policy(rng: &mut Rng, kind: usize) -> Policy {
    match kind {
        0 => Policy::Lru,
        1 => Policy::Fifo,
        2 => Policy::Random { seed: rng.next() },
        _ => Policy::Plru,
    }
}

/// A random valid hierarchy of 1 to 3 levels under `inclusion`, every level
/// with replacement policy `kind` (0 LRU, 1 FIFO, 2 random, 3 PLRU).
fn config(rng: &mut Rng, inclusion: Inclusion, kind: usize) -> HierarchyConfig {
    // PLRU needs a power of two; the others take odd counts too (17 and
    // more are past the packed layout's 16 ways, and 96 and 128 past the
    // flat arrays' 64-way short-tag search).
    let ways_any = [1, 2, 3, 5, 7, 8, 12, 13, 15, 16, 17, 24, 96];
    let ways_pow2 = [1, 2, 4, 8, 16, 32, 128];
    loop {
        let n = 1 + rng.below(3) as usize;
        let mut line = [16u32, 32, 64][rng.below(3) as usize];
        let mut sets = 2u64 << rng.below(3);
        let mut levels = Vec::new();
        for i in 0..n {
            let ways = if kind == 3 {
                ways_pow2[rng.below(ways_pow2.len() as u64) as usize]
            } else {
                ways_any[rng.below(ways_any.len() as u64) as usize]
            };
            let wt = inclusion != Inclusion::Exclusive && rng.below(5) == 0;
            // One level in eight fully associative (one set).
            let s = if rng.below(8) == 0 { 1 } else { sets };
            let p = policy(rng, kind);
            levels.push(lvl(&format!("L{i}"), s, ways, line, p, wt));
            sets <<= 1 + rng.below(3);
            if inclusion != Inclusion::Exclusive {
                line <<= rng.below(2);
            }
        }
        let cfg = HierarchyConfig {
            name: "layouts".into(),
            levels,
            inclusion,
        };
        if cfg.validate().is_ok() {
            return cfg;
        }
    }
}

/// Reads, writes (30 %) and fetches of 1 to 64 bytes at `base + x`, `x`
/// in `0..span`: sequential runs and random addresses; `base` may be near
/// the top of the address space (addresses then saturate at `u64::MAX`).
fn stream(rng: &mut Rng, n: usize, base: u64, span: u64) -> Vec<Access> {
    let mut out = Vec::with_capacity(n);
    let mut x = 0;
    while out.len() < n {
        let seq = rng.below(2) == 0;
        for _ in 0..(1 + rng.below(48)).min((n - out.len()) as u64) {
            x = if seq { (x + 8) % span } else { rng.below(span) };
            let kind = match rng.below(20) {
                0..=5 => AccessKind::Write,
                6 => AccessKind::Fetch,
                _ => AccessKind::Read,
            };
            out.push(Access {
                addr: base.saturating_add(x),
                size: [1, 2, 4, 8, 8, 8, 16, 64][rng.below(8) as usize],
                kind,
            });
        }
    }
    out
}

/// Runs both simulators (the fast one batched or one access at a time,
/// split for up to `threads` threads where it can be), flushes, and asserts
/// equal statistics; returns the fast one's and its part count.
fn compare_split(
    cfg: &HierarchyConfig,
    trace: &[Access],
    batched: bool,
    threads: usize,
) -> (Vec<LevelStats>, usize) {
    let mut fast = Hierarchy::parallel(cfg, threads).unwrap();
    let mut slow = ReferenceHierarchy::new(cfg).unwrap();
    if batched {
        for chunk in trace.chunks(1000) {
            fast.access_batch(chunk);
        }
    } else {
        for &a in trace {
            fast.access(a);
        }
    }
    slow.access_batch(trace);
    assert_eq!(fast.stats(), slow.stats(), "before flush, {cfg:?}");
    fast.flush();
    slow.flush();
    assert_eq!(fast.stats(), slow.stats(), "{cfg:?}");
    assert_eq!(
        fast.back_invalidations(),
        slow.back_invalidations(),
        "{cfg:?}"
    );
    (fast.stats(), fast.parts())
}

/// [`compare_split`] unsplit, then split in up to four parts; returns the
/// unsplit statistics and whether the second run had more than one part.
fn compare_both(cfg: &HierarchyConfig, trace: &[Access], batched: bool) -> (Vec<LevelStats>, bool) {
    let (st, one) = compare_split(cfg, trace, batched, 1);
    assert_eq!(one, 1);
    let (_, parts) = compare_split(cfg, trace, batched, 4);
    (st, parts > 1)
}

#[test]
fn every_layout_matches_reference_for_each_inclusion_and_policy() {
    let bases = [0, 1 << 36, 1 << 52, u64::MAX - (1 << 20)];
    let mut rng = Rng(0x1a70_u64 << 20 | 0x5eed);
    for inclusion in Inclusion::ALL {
        for kind in 0..4 {
            // Totals over the cases: each must be exercised, or the
            // comparison could pass on traces that never replace a line.
            let (mut evictions, mut writebacks, mut cases, mut split) = (0, 0, 0, 0);
            for case in 0..12 {
                let cfg = config(&mut rng, inclusion, kind);
                let last = cfg.levels.last().unwrap().size;
                let span = last * [1, 2, 4][rng.below(3) as usize];
                let base = bases[case % bases.len()];
                let t = stream(&mut rng, 20_000, base, span);
                let (st, was_split) = compare_both(&cfg, &t, case % 2 == 1);
                split += was_split as usize;
                evictions += st.iter().map(|s| s.evictions).sum::<u64>();
                writebacks += st.iter().map(|s| s.writebacks).sum::<u64>();
                cases += 1;
            }
            assert_eq!(cases, 12);
            // Random replacement is never split; the others often are.
            if kind == 2 {
                assert_eq!(
                    split, 0,
                    "{inclusion:?}: a random-policy hierarchy was split"
                );
            } else {
                assert!(
                    split >= 2,
                    "{inclusion:?} policy {kind}: {split} of 12 cases split"
                );
            }
            assert!(
                evictions > 1000 && writebacks > 100,
                "{inclusion:?} policy {kind}: {evictions} evictions, {writebacks} write-backs"
            );
        }
    }
}

#[test]
fn big_levels_of_the_issue_geometry_match_reference() {
    // 48 KiB 12-way / 1 MiB 16-way / 8 MiB 16-way, 64-byte lines, each
    // replacement policy and inclusion, on a stream half sequential, half
    // random over 64 MiB (with writes and straddling sizes).
    let mut rng = Rng(0x00ca_c4e5);
    for inclusion in Inclusion::ALL {
        for kind in 0..4 {
            let p = policy(&mut rng, kind);
            let cfg = HierarchyConfig {
                name: "issue".into(),
                levels: vec![
                    lvl("L1", 64, if kind == 3 { 16 } else { 12 }, 64, p, false),
                    lvl("L2", 1024, 16, 64, p, false),
                    lvl("L3", 8192, 16, 64, p, false),
                ],
                inclusion,
            };
            let t = stream(&mut rng, 60_000, 0, 64 << 20);
            let (st, split) = compare_both(&cfg, &t, kind % 2 == 0);
            assert_eq!(split, !matches!(p, Policy::Random { .. }), "{p:?}");
            assert!(st[2].misses > 10_000, "{:?}", st[2]);
        }
    }
}

#[test]
fn tags_wider_than_32_bits_are_told_apart() {
    // Two lines whose tags agree in their low 32 bits, in one 2-set,
    // 2-way level: they must not hit each other, before or after the level
    // starts keeping full tags.
    let cfg = HierarchyConfig {
        name: "wide".into(),
        levels: vec![lvl("L1", 2, 2, 64, Policy::Lru, false)],
        inclusion: Inclusion::Inclusive,
    };
    // line = addr >> 6; set bit = line & 1; tag = line >> 1.
    let a = 0u64;
    let b = 1u64 << (6 + 1 + 32); // same set, tag 2^32: low 32 bits 0
    let c = 2u64 << 6; // same set, tag 1
    let mut h = Hierarchy::new(&cfg).unwrap();
    for addr in [a, c, a, b, a, b, c] {
        h.access(Access::read(addr, 8));
    }
    let s = &h.stats()[0];
    // a miss, c miss, a hit, b miss (evicts c), a hit, b hit, c miss.
    assert_eq!(s.counts()[..4], [7, 3, 4, 2]);
}

#[test]
fn tags_wider_than_16_bits_are_told_apart() {
    // A packed set stores 16-bit tags: lines whose tags agree in their low
    // 16 bits must not hit each other, whether the level still keeps only
    // short tags (the widest so far 0xffff, a whole tag) or has switched to
    // full tags (at the first tag of 17 bits), and lines inserted before
    // the switch must still hit after it.
    let cfg = HierarchyConfig {
        name: "wide16".into(),
        levels: vec![lvl("L1", 2, 2, 64, Policy::Lru, false)],
        inclusion: Inclusion::Inclusive,
    };
    // line = addr >> 6; set bit = line & 1; tag = line >> 1.
    let tag = |t: u64| t << (6 + 1);
    let (a, c, d) = (tag(0), tag(1), tag(0xffff));
    let b = tag(1 << 16); // low 16 bits 0, like a
    let e = tag(0x1_ffff); // low 16 bits 0xffff, like d
    let mut h = Hierarchy::new(&cfg).unwrap();
    // a miss, d miss, a hit, d hit, b miss (evicts a, the LRU), d hit,
    // e miss (evicts b), d hit, a miss (evicts e), d hit, c miss (evicts a).
    for addr in [a, d, a, d, b, d, e, d, a, d, c] {
        h.access(Access::read(addr, 8));
    }
    let s = &h.stats()[0];
    assert_eq!(s.counts()[..4], [11, 5, 6, 4]);
    let mut r = ReferenceHierarchy::new(&cfg).unwrap();
    for addr in [a, d, a, d, b, d, e, d, a, d, c] {
        r.access(Access::read(addr, 8));
    }
    assert_eq!(h.stats(), r.stats());
}

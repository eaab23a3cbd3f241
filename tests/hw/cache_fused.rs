//! The fast simulator's fused miss path against the reference twin.
//!
//! Hierarchies of packed levels (2 or more sets, 1 to 16 ways) with one line
//! size and write-back levels take the fast simulator's uniform miss path: one
//! pass per set per level (lookup and victim choice together), dirty victims
//! written straight into the level below, and a copy of the simulator compiled
//! for each replacement policy (or, for mixed policies, one that reads each
//! level's policy). These tests drive exactly those hierarchies with seeded
//! random traces full of writes, for every inclusion policy and every
//! replacement policy (and mixed ones), and compare every counter with the
//! reference after every chunk of the trace, not only at the end, so that a
//! divergence is caught where it starts.

use crate::seeded;

use bitsim::hw::cache::reference::ReferenceHierarchy;
use bitsim::hw::cache::{
    Hierarchy, HierarchyConfig, Inclusion, LevelConfig, LevelStats, Policy, WritePolicy,
};
use bitsim::hw::trace::{Access, AccessKind, AccessSink};
use seeded::Rng;

/// Replacement policy `kind` (0 LRU, 1 FIFO, 2 random, 3 PLRU; 4 any of them).
fn policy(rng: &mut Rng, kind: u64) -> Policy {
    match if kind == 4 { rng.below(4) } else { kind } {
        0 => Policy::Lru,
        1 => Policy::Fifo,
        2 => Policy::Random { seed: rng.next() },
        _ => Policy::Plru,
    }
}

/// A random valid hierarchy of 1 to 4 packed write-back levels with one line
/// size, every level with policy `kind` (4: a random policy per level).
fn uniform_config(rng: &mut Rng, inclusion: Inclusion, kind: u64) -> HierarchyConfig {
    loop {
        let n = 1 + rng.below(4) as usize;
        let line = [16u32, 32, 64][rng.below(3) as usize];
        let mut sets = 2u64 << rng.below(3);
        let mut levels = Vec::new();
        for i in 0..n {
            let p = policy(rng, kind);
            let ways = if matches!(p, Policy::Plru) {
                1 << rng.below(5)
            } else {
                1 + rng.below(16) as u32
            };
            levels.push(LevelConfig {
                name: format!("L{i}"),
                size: sets * ways as u64 * line as u64,
                ways,
                line,
                policy: p,
                write: WritePolicy::WriteBack,
            });
            // Mostly growing; NINE and exclusive may shrink (victim caches).
            if rng.below(4) == 0 && sets > 2 {
                sets >>= 1;
            } else {
                sets <<= rng.below(3);
            }
        }
        let cfg = HierarchyConfig {
            name: "fused".into(),
            levels,
            inclusion,
        };
        if cfg.validate().is_ok() {
            return cfg;
        }
    }
}

/// `n` accesses at `base + x`, `x` in `0..span`: a hot region a quarter of
/// `span` wide (hits at every level) and uniform addresses (misses
/// everywhere); `write_pct` percent writes, some fetches, sizes 1 to 8 bytes
/// (within a line).
fn trace(rng: &mut Rng, n: usize, base: u64, span: u64, write_pct: u64) -> Vec<Access> {
    (0..n)
        .map(|_| {
            let x = if rng.below(2) == 0 {
                rng.below(span / 4)
            } else {
                rng.below(span)
            };
            let size = [1u32, 2, 4, 8][rng.below(4) as usize];
            let kind = match rng.below(100) {
                r if r < write_pct => AccessKind::Write,
                r if r < write_pct + 5 => AccessKind::Fetch,
                _ => AccessKind::Read,
            };
            Access {
                addr: base.wrapping_add(x & !7),
                size,
                kind,
            }
        })
        .collect()
}

/// Runs `t` through both simulators in chunks, comparing every counter and
/// the back-invalidations after each chunk and after a flush; returns the
/// fast simulator's statistics and back-invalidations before the flush.
fn compare_chunked(cfg: &HierarchyConfig, t: &[Access], batched: bool) -> (Vec<LevelStats>, u64) {
    let mut fast = Hierarchy::new(cfg).unwrap();
    let mut slow = ReferenceHierarchy::new(cfg).unwrap();
    for (c, chunk) in t.chunks(997).enumerate() {
        if batched {
            fast.access_batch(chunk);
        } else {
            for &a in chunk {
                fast.access(a);
            }
        }
        for &a in chunk {
            slow.access(a);
        }
        assert_eq!(fast.stats(), slow.stats(), "chunk {c}, {cfg:?}");
        assert_eq!(
            fast.back_invalidations(),
            slow.back_invalidations(),
            "chunk {c}, {cfg:?}"
        );
    }
    let (st, back) = (fast.stats(), fast.back_invalidations().iter().sum());
    fast.flush();
    slow.flush();
    assert_eq!(fast.stats(), slow.stats(), "after flush, {cfg:?}");
    (st, back)
}

#[test]
fn fused_miss_path_matches_reference_for_each_inclusion_and_policy() {
    let bases = [0, 1 << 40, u64::MAX - (1 << 24)];
    let mut rng = Rng(0xf05e_d0a7);
    for inclusion in Inclusion::ALL {
        for kind in 0..5 {
            // Totals over the cases, so that the comparison cannot pass on
            // traces that never reach what the fused path does.
            let (mut deep_misses, mut deep_evictions, mut writebacks, mut back) = (0, 0, 0, 0);
            let mut wb_below = 0;
            for case in 0..10 {
                let cfg = uniform_config(&mut rng, inclusion, kind);
                let max = cfg.levels.iter().map(|l| l.size).max().unwrap();
                let span = max * [2, 4, 16][rng.below(3) as usize];
                let base = bases[case % bases.len()];
                let write_pct = [10, 25, 50][case % 3];
                let t = trace(&mut rng, 12_000, base, span, write_pct);
                let (st, b) = compare_chunked(&cfg, &t, case % 2 == 1);
                back += b;
                writebacks += st[0].writebacks;
                if st.len() > 1 {
                    let last = st.last().unwrap();
                    deep_misses += last.misses;
                    deep_evictions += last.evictions;
                    wb_below += st[1..].iter().map(|s| s.writebacks).sum::<u64>();
                }
            }
            assert!(
                deep_misses > 1000 && deep_evictions > 500,
                "{inclusion:?} policy {kind}: last level {deep_misses} misses, {deep_evictions} evictions"
            );
            assert!(
                writebacks > 500 && wb_below > 100,
                "{inclusion:?} policy {kind}: {writebacks} level-0 write-backs, {wb_below} below"
            );
            if inclusion == Inclusion::Inclusive {
                assert!(back > 0, "policy {kind}: no back-invalidation");
            }
        }
    }
}

#[test]
fn issue_geometry_all_miss_stream_matches_reference() {
    // The benchmark's case: 48 KiB 12-way / 1 MiB 16-way / 8 MiB 16-way,
    // uniformly random 8-byte accesses over 1 GiB, one in four a write,
    // for every inclusion and replacement policy (PLRU with 16-way L1).
    let mut rng = Rng(0x0a11_0155);
    for inclusion in Inclusion::ALL {
        for kind in 0..4 {
            let p = policy(&mut rng, kind);
            let lvl = |name: &str, size: u64, ways: u32| LevelConfig {
                name: name.into(),
                size,
                ways,
                line: 64,
                policy: p,
                write: WritePolicy::WriteBack,
            };
            let l1 = if kind == 3 {
                lvl("L1", 64 << 10, 16)
            } else {
                lvl("L1", 48 << 10, 12)
            };
            let cfg = HierarchyConfig {
                name: "a2".into(),
                levels: vec![l1, lvl("L2", 1 << 20, 16), lvl("L3", 8 << 20, 16)],
                inclusion,
            };
            // A warm-up over 8 MiB (fills every level), then the all-miss stream.
            let mut t = trace(&mut rng, 150_000, 0, 8 << 20, 25);
            t.extend(trace(&mut rng, 120_000, 0, 1 << 30, 25));
            let (st, _) = compare_chunked(&cfg, &t, kind % 2 == 0);
            assert!(st[2].evictions > 20_000, "{inclusion:?} {p:?}: {:?}", st[2]);
            assert!(st[2].writebacks > 1_000, "{inclusion:?} {p:?}: {:?}", st[2]);
        }
    }
}

#[test]
fn each_level_count_of_the_miss_walk_matches_reference() {
    // The uniform miss walk has a copy compiled for two levels, one for
    // three and a general one (here one and four levels): each against the
    // reference, for every inclusion policy and every replacement policy,
    // on traces that miss the last level and write dirty victims back.
    let mut rng = Rng(0x1e7e_1c07);
    for inclusion in Inclusion::ALL {
        for kind in 0..5 {
            for n in 1..=4 {
                let cfg = loop {
                    let c = uniform_config(&mut rng, inclusion, kind);
                    if c.levels.len() == n {
                        break c;
                    }
                };
                let max = cfg.levels.iter().map(|l| l.size).max().unwrap();
                let t = trace(&mut rng, 8_000, 0, max * 8, 25);
                let (st, _) = compare_chunked(&cfg, &t, n % 2 == 0);
                let last = st.last().unwrap();
                assert!(
                    last.misses > 1000 && st[0].writebacks > 100,
                    "{inclusion:?} policy {kind}, {n} levels: {st:?}"
                );
            }
        }
    }
}

#[test]
fn narrow_inclusive_walk_matches_reference() {
    // Inclusive hierarchies of two and three LRU, FIFO or PLRU levels whose
    // tags all fit in 16 bits take a walk of their own (the stores'
    // geometry held in registers, one copy per level count): traces kept
    // within the narrow range of level 0 (so that nearly every miss takes
    // it), then, in the last chunks, lines wide enough to switch levels to
    // full tags (after which the generic walk runs), against the reference.
    let mut rng = Rng(0x0a77_0e11);
    for kind in [0, 1, 3] {
        for n in [2, 3] {
            let (mut misses, mut back, mut writebacks) = (0, 0, 0);
            for _ in 0..6 {
                let cfg = loop {
                    let c = uniform_config(&mut rng, Inclusion::Inclusive, kind);
                    if c.levels.len() == n {
                        break c;
                    }
                };
                let l0 = &cfg.levels[0];
                let sets0 = l0.size / (l0.ways as u64 * l0.line as u64);
                let narrow = sets0 * l0.line as u64 * (1 << 16);
                let max = cfg.levels.iter().map(|l| l.size).max().unwrap();
                let mut t = trace(&mut rng, 10_000, 0, (max * 8).min(narrow), 30);
                t.extend(trace(&mut rng, 1_500, 0, narrow * 4, 30));
                let (st, b) = compare_chunked(&cfg, &t, false);
                misses += st.last().unwrap().misses;
                writebacks += st[1..].iter().map(|s| s.writebacks).sum::<u64>();
                back += b;
            }
            assert!(
                misses > 5_000 && writebacks > 500 && back > 0,
                "policy {kind}, {n} levels: {misses} last-level misses, {writebacks} write-backs below level 0, {back} back-invalidations"
            );
        }
    }
}

//! Inclusion policies of the cache simulator (inclusive, NINE, exclusive):
//! the documented four-access example worked by hand for each, hand-derived
//! write and flush cases of the exclusive moves, each policy's fast
//! simulator against its own reference request function on seeded random
//! hierarchies and streams, and the `inclusion` key of hierarchy files.

use crate::seeded;

use bitsim::hw::cache::reference::ReferenceHierarchy;
use bitsim::hw::cache::{
    Hierarchy, HierarchyConfig, Inclusion, LevelConfig, LevelStats, Policy, WritePolicy,
};
use bitsim::hw::trace::{Access, AccessKind, AccessSink};
use seeded::Rng;

fn lvl(name: &str, size: u64, ways: u32, line: u32, policy: Policy) -> LevelConfig {
    LevelConfig {
        name: name.into(),
        size,
        ways,
        line,
        policy,
        write: WritePolicy::WriteBack,
    }
}

fn hier(inclusion: Inclusion, levels: Vec<LevelConfig>) -> HierarchyConfig {
    HierarchyConfig {
        name: "test".into(),
        levels,
        inclusion,
    }
}

/// [`LevelStats::counts`]: (accesses, hits, misses, evictions, writebacks,
/// bytes_in, bytes_out).
type Counts = [u64; 7];

/// Runs the fast simulator and the reference; checks they agree and
/// returns the counts per level and the back-invalidations.
fn run(cfg: &HierarchyConfig, trace: &[Access], flush: bool) -> (Vec<Counts>, Vec<u64>) {
    let mut fast = Hierarchy::new(cfg).unwrap();
    let mut slow = ReferenceHierarchy::new(cfg).unwrap();
    for &a in trace {
        fast.access(a);
        slow.access(a);
    }
    if flush {
        fast.flush();
        slow.flush();
    }
    assert_eq!(fast.stats(), slow.stats(), "fast vs reference on {cfg:?}");
    assert_eq!(fast.back_invalidations(), slow.back_invalidations());
    (
        fast.stats().iter().map(LevelStats::counts).collect(),
        fast.back_invalidations(),
    )
}

/// The module documentation's toy hierarchy: L1 two 64-byte lines, fully
/// associative; L2 two 64-byte lines, direct-mapped; LRU.
fn toy(inclusion: Inclusion) -> HierarchyConfig {
    hier(
        inclusion,
        vec![
            lvl("L1", 128, 0, 64, Policy::Lru),
            lvl("L2", 128, 1, 64, Policy::Lru),
        ],
    )
}

const A: u64 = 0x000;
const B: u64 = 0x080;
const C: u64 = 0x040;

fn reads(addrs: &[u64]) -> Vec<Access> {
    addrs.iter().map(|&a| Access::read(a, 8)).collect()
}

#[test]
fn documented_example_inclusive() {
    let (c, bi) = run(&toy(Inclusion::Inclusive), &reads(&[A, B, A, C]), false);
    // B and the second A each evict the other from L2 and so from L1.
    assert_eq!(c, vec![[4, 0, 4, 2, 0, 256, 0], [4, 0, 4, 2, 0, 256, 0]]);
    assert_eq!(bi, vec![2, 0]);
    // A fifth read of B misses everywhere (L2 set 0 holds A).
    let (c, _) = run(&toy(Inclusion::Inclusive), &reads(&[A, B, A, C, B]), false);
    assert_eq!((c[0][1], c[1][1]), (0, 0));
}

#[test]
fn documented_example_nine() {
    let (c, bi) = run(&toy(Inclusion::Nine), &reads(&[A, B, A, C]), false);
    // The second A hits in L1: L2 replacing A did not touch L1.
    assert_eq!(c, vec![[4, 1, 3, 1, 0, 192, 0], [3, 0, 3, 1, 0, 192, 0]]);
    assert_eq!(bi, vec![0, 0]);
    // A fifth read of B misses L1 and hits L2.
    let (c, _) = run(&toy(Inclusion::Nine), &reads(&[A, B, A, C, B]), false);
    assert_eq!((c[0][1], c[1][0], c[1][1]), (1, 4, 1));
}

#[test]
fn documented_example_exclusive() {
    let (c, bi) = run(&toy(Inclusion::Exclusive), &reads(&[A, B, A, C]), false);
    // L1's victim B moves down into L2 (64 bytes out of L1); L2 fills nothing itself.
    assert_eq!(c, vec![[4, 1, 3, 1, 0, 192, 64], [3, 0, 3, 0, 0, 192, 0]]);
    assert_eq!(bi, vec![0, 0]);
    // A fifth read of B hits L2 and moves B up; L1's victim A moves down.
    let (c, _) = run(&toy(Inclusion::Exclusive), &reads(&[A, B, A, C, B]), false);
    assert_eq!(c, vec![[5, 1, 4, 2, 0, 256, 128], [4, 1, 3, 0, 0, 192, 0]]);
}

/// Exclusive, two one-line levels: dirty lines move down with their dirty
/// bit, leave the last level for memory, and a line found below moves up.
#[test]
fn exclusive_moves_by_hand() {
    let cfg = hier(
        Inclusion::Exclusive,
        vec![
            lvl("L1", 64, 1, 64, Policy::Lru),
            lvl("L2", 64, 1, 64, Policy::Lru),
        ],
    );
    let (a, b, c) = (0x000, 0x040, 0x080);
    // w A: L1 {A*}. r B: A* moves down, L2 {A*}. r C: B moves down and
    // displaces A* to memory. r B: B moves up from L2, C moves down.
    let t = [
        Access::write(a, 8),
        Access::read(b, 8),
        Access::read(c, 8),
        Access::read(b, 8),
    ];
    let (cts, _) = run(&cfg, &t, false);
    assert_eq!(
        cts,
        vec![[4, 0, 4, 3, 1, 256, 192], [4, 1, 3, 1, 1, 192, 64]]
    );
    // w A, r B, r A: A* goes down and comes back up still dirty, so the
    // flush writes it to memory (out of L1, and through L2).
    let t = [Access::write(a, 8), Access::read(b, 8), Access::read(a, 8)];
    let (cts, _) = run(&cfg, &t, true);
    assert_eq!(
        cts,
        vec![[3, 0, 3, 2, 2, 192, 192], [3, 1, 2, 0, 0, 128, 64]]
    );
}

/// NINE: a dirty L1 victim is written back into L2, allocating there (a
/// write miss fills from memory) when L2 no longer holds it.
#[test]
fn nine_write_back_allocates_below() {
    let cfg = hier(
        Inclusion::Nine,
        vec![
            lvl("L1", 128, 0, 64, Policy::Lru),
            lvl("L2", 128, 1, 64, Policy::Lru),
        ],
    );
    // w A: both hold A (A* in L1). r B: L2 replaces A (L1 keeps A*).
    // r C: L1 replaces A*, whose write-back misses L2 set 0 (B): L2 replaces
    // B and refills A, dirty.
    let t = [Access::write(A, 8), Access::read(B, 8), Access::read(C, 8)];
    let (c, _) = run(&cfg, &t, false);
    assert_eq!(c[0], [3, 0, 3, 1, 1, 192, 64]);
    assert_eq!(c[1], [4, 0, 4, 2, 0, 256, 0]);
}

/// A random hierarchy of 1 to 3 levels valid under `inclusion`.
fn random_config(rng: &mut Rng, inclusion: Inclusion) -> HierarchyConfig {
    loop {
        let n = 1 + rng.below(3) as usize;
        let mut levels = Vec::new();
        let mut line = [16u32, 32][rng.below(2) as usize];
        let mut size = 256u64 << rng.below(3);
        for i in 0..n {
            let policy = match rng.below(4) {
                0 => Policy::Lru,
                1 => Policy::Fifo,
                2 => Policy::Random { seed: rng.next() },
                _ => Policy::Plru,
            };
            let ways = [0, 1, 2, 4, 8, 3][rng.below(6) as usize];
            let mut l = lvl(&format!("L{i}"), size, ways, line, policy);
            if inclusion != Inclusion::Exclusive && rng.below(4) == 0 {
                l.write = WritePolicy::WriteThrough;
            }
            levels.push(l);
            size *= 2 << rng.below(2);
            if inclusion != Inclusion::Exclusive {
                line *= 1 << rng.below(2);
            }
        }
        let cfg = hier(inclusion, levels);
        if cfg.validate().is_ok() {
            return cfg;
        }
    }
}

/// Reads and writes (30 %) of 1 to 32 bytes: sequential runs and random
/// addresses inside `span`.
fn stream(rng: &mut Rng, n: usize, span: u64) -> Vec<Access> {
    let mut out = Vec::with_capacity(n);
    let mut addr = 0;
    while out.len() < n {
        let seq = rng.below(2) == 0;
        for _ in 0..(1 + rng.below(32)).min((n - out.len()) as u64) {
            addr = if seq {
                (addr + 8) % span
            } else {
                rng.below(span)
            };
            let kind = if rng.below(10) < 3 {
                AccessKind::Write
            } else {
                AccessKind::Read
            };
            out.push(Access {
                addr,
                size: [1, 4, 8, 32][rng.below(4) as usize],
                kind,
            });
        }
    }
    out
}

#[test]
fn fast_matches_reference_for_each_inclusion() {
    let mut rng = Rng(0x01c1_0510);
    for inclusion in Inclusion::ALL {
        let mut differs_from_inclusive = 0;
        for _ in 0..30 {
            let cfg = random_config(&mut rng, inclusion);
            let span = cfg.levels.last().unwrap().size * [1, 2, 4][rng.below(3) as usize];
            let t = stream(&mut rng, 30_000, span);
            let (c, bi) = run(&cfg, &t, true);
            for (i, s) in c.iter().enumerate() {
                assert_eq!(s[0], s[1] + s[2], "accesses = hits + misses");
                if inclusion == Inclusion::Exclusive && i > 0 {
                    assert_eq!(s[0], c[i - 1][2], "lookups below are the misses above");
                }
            }
            if inclusion != Inclusion::Inclusive {
                assert!(bi.iter().all(|&b| b == 0), "{inclusion:?} back-invalidated");
                let mut inc = cfg.clone();
                inc.inclusion = Inclusion::Inclusive;
                let (ci, _) = run(&inc, &t, true);
                differs_from_inclusive += (ci != c) as u32;
            }
        }
        if inclusion != Inclusion::Inclusive {
            // Multi-level cases must show the policy at work.
            assert!(
                differs_from_inclusive >= 10,
                "{inclusion:?}: {differs_from_inclusive}"
            );
        }
    }
}

#[test]
fn inclusion_key_in_hierarchy_files() {
    let text = |inc: &str, line2: u32, write2: &str| {
        format!(
            "name = \"t\"\n{inc}\n[[level]]\nname = \"L1\"\nsize = 256\nways = 2\nline = 16\npolicy = \"lru\"\n\
             [[level]]\nname = \"L2\"\nsize = 1024\nways = 4\nline = {line2}\npolicy = \"lru\"\nwrite = \"{write2}\"\n"
        )
    };
    let cfg = HierarchyConfig::from_toml("h.toml", &text("", 16, "wb")).unwrap();
    assert_eq!(cfg.inclusion, Inclusion::Inclusive);
    for (name, want) in [
        ("inclusive", Inclusion::Inclusive),
        ("nine", Inclusion::Nine),
        ("exclusive", Inclusion::Exclusive),
    ] {
        let t = text(&format!("inclusion = \"{name}\""), 16, "wb");
        assert_eq!(
            HierarchyConfig::from_toml("h.toml", &t).unwrap().inclusion,
            want
        );
    }
    let e = HierarchyConfig::from_toml("h.toml", &text("inclusion = \"mostly\"", 16, "wb"))
        .unwrap_err();
    assert!(
        e.starts_with("h.toml line 2") && e.contains("inclusion"),
        "{e}"
    );
    let e = HierarchyConfig::from_toml("h.toml", &text("inclusion = \"exclusive\"", 32, "wb"))
        .unwrap_err();
    assert!(e.contains("L2") && e.contains("one line size"), "{e}");
    let e = HierarchyConfig::from_toml("h.toml", &text("inclusion = \"exclusive\"", 16, "wt"))
        .unwrap_err();
    assert!(e.contains("L2") && e.contains("write-back"), "{e}");
}

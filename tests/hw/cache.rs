//! The cache simulator: hand-computed tiny cases, the fast simulator against
//! its slow reference twin on seeded random streams, and Belady's OPT
//! against the replacement policies and a brute-force optimum.

use crate::seeded;

use bitsim::hw::cache::opt::belady;
use bitsim::hw::cache::reference::ReferenceHierarchy;
use bitsim::hw::cache::{
    Hierarchy, HierarchyConfig, Inclusion, LevelConfig, LevelStats, Policy, WritePolicy,
};
use bitsim::hw::trace::{Access, AccessKind, AccessSink};
use seeded::Rng;

const WB: WritePolicy = WritePolicy::WriteBack;
const WT: WritePolicy = WritePolicy::WriteThrough;

fn lvl(
    name: &str,
    size: u64,
    ways: u32,
    line: u32,
    policy: Policy,
    write: WritePolicy,
) -> LevelConfig {
    LevelConfig {
        name: name.into(),
        size,
        ways,
        line,
        policy,
        write,
    }
}

fn hier(levels: Vec<LevelConfig>) -> HierarchyConfig {
    HierarchyConfig {
        name: "test".into(),
        levels,
        inclusion: Inclusion::Inclusive,
    }
}

fn r(addr: u64) -> Access {
    Access::read(addr, 4)
}

fn w(addr: u64) -> Access {
    Access::write(addr, 4)
}

/// [`LevelStats::counts`]: (accesses, hits, misses, evictions, writebacks,
/// bytes_in, bytes_out).
type Counts = [u64; 7];

/// Runs both simulators; checks they agree and returns the fast one's
/// counts per level (and the back-invalidations).
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

#[test]
fn direct_mapped_conflicts() {
    // 4 sets of one 16-byte line: 0x00 and 0x40 both map to set 0.
    let cfg = hier(vec![lvl("L1", 64, 1, 16, Policy::Lru, WB)]);
    let t = [r(0x00), r(0x40), r(0x00), r(0x40), r(0x10), r(0x14)];
    let (c, _) = run(&cfg, &t, false);
    assert_eq!(c, vec![[6, 1, 5, 3, 0, 80, 0]]);
}

#[test]
fn lru_and_fifo_differ() {
    // Lines A B A C A in one 2-way set: LRU evicts B for C, FIFO evicts A.
    let (a, b, c) = (0x00, 0x20, 0x40);
    let t = [r(a), r(b), r(a), r(c), r(a)];
    // Fully associative (one set) and set-associative (2 sets, all in set 0).
    for size in [32, 64] {
        let lru = hier(vec![lvl("L1", size, 2, 16, Policy::Lru, WB)]);
        let fifo = hier(vec![lvl("L1", size, 2, 16, Policy::Fifo, WB)]);
        assert_eq!(run(&lru, &t, false).0, vec![[5, 2, 3, 1, 0, 48, 0]]);
        assert_eq!(run(&fifo, &t, false).0, vec![[5, 1, 4, 2, 0, 64, 0]]);
    }
    let full = hier(vec![lvl("L1", 32, 0, 16, Policy::Lru, WB)]);
    assert_eq!(run(&full, &t, false).0, vec![[5, 2, 3, 1, 0, 48, 0]]);
}

#[test]
fn plru_tree() {
    // 4 ways: after A B C D and a hit on A, the tree points at C (not B, the
    // true LRU line); E replaces C, B still hits, then C replaces D.
    let line = |i: u64, sets: u64| i * 16 * sets;
    for sets in [1, 2] {
        let t: Vec<Access> = [0, 1, 2, 3, 0, 4, 1, 2]
            .iter()
            .map(|&i| r(line(i, sets)))
            .collect();
        let plru = hier(vec![lvl("L1", 64 * sets, 4, 16, Policy::Plru, WB)]);
        let lru = hier(vec![lvl("L1", 64 * sets, 4, 16, Policy::Lru, WB)]);
        assert_eq!(run(&plru, &t, false).0, vec![[8, 2, 6, 2, 0, 96, 0]]);
        assert_eq!(run(&lru, &t, false).0, vec![[8, 1, 7, 3, 0, 112, 0]]);
        // D was evicted by PLRU: one more miss.
        let mut t2 = t.clone();
        t2.push(r(line(3, sets)));
        assert_eq!(run(&plru, &t2, false).0[0][2], 7);
    }
}

#[test]
fn write_back_counts() {
    let cfg = hier(vec![lvl("L1", 64, 1, 16, Policy::Lru, WB)]);
    // Write-allocate, hit, evict the dirty line, refill it clean.
    let t = [w(0x00), w(0x04), r(0x40), r(0x00)];
    assert_eq!(run(&cfg, &t, false).0, vec![[4, 1, 3, 2, 1, 48, 16]]);
    // One more dirty line: flushing writes it back (line 0 is clean).
    let mut t2 = t.to_vec();
    t2.push(w(0x10));
    assert_eq!(run(&cfg, &t2, false).0, vec![[5, 1, 4, 2, 1, 64, 16]]);
    assert_eq!(run(&cfg, &t2, true).0, vec![[5, 1, 4, 2, 2, 64, 32]]);
}

#[test]
fn write_through_counts() {
    let l1 = lvl("L1", 64, 1, 16, Policy::Lru, WT);
    // Write miss (no allocate, 4 bytes out), read miss, write hit (8 bytes
    // out), read miss evicting a clean line.
    let t = [w(0x00), r(0x00), Access::write(0x08, 8), r(0x40)];
    assert_eq!(
        run(&hier(vec![l1.clone()]), &t, true).0,
        vec![[4, 1, 3, 1, 0, 32, 12]]
    );
    // Below it, a write-back L2 sees 2 fills and 2 written-through writes.
    let l2 = lvl("L2", 256, 4, 16, Policy::Lru, WB);
    let (c, _) = run(&hier(vec![l1, l2]), &t, false);
    assert_eq!(c[1], [4, 2, 2, 0, 0, 32, 0]);
    // A straddling write-through write forwards the bytes of each line.
    let l1 = lvl("L1", 64, 1, 16, Policy::Lru, WT);
    let (c, _) = run(&hier(vec![l1]), &[Access::write(0x0c, 8)], false);
    assert_eq!(c, vec![[2, 0, 2, 0, 0, 0, 8]]);
}

#[test]
fn inclusive_back_invalidation() {
    // L1: 2 lines fully associative; L2: 4 lines direct-mapped, so lines 0
    // and 4 conflict in L2 but not in L1.
    let cfg = hier(vec![
        lvl("L1", 32, 0, 16, Policy::Lru, WB),
        lvl("L2", 64, 1, 16, Policy::Lru, WB),
    ]);
    // The L2 miss on 0x40 evicts line 0, which is dirty in L1: L1 writes it
    // back (an L2 write hit), then L2 writes it to memory.
    let (c, bi) = run(&cfg, &[w(0x00), r(0x40)], false);
    assert_eq!(c, vec![[2, 0, 2, 1, 1, 32, 16], [3, 1, 2, 1, 1, 32, 16]]);
    assert_eq!(bi, vec![1, 0]);
    // Line 0 again: it misses in L1 (invalidated), and the L2 refill evicts
    // line 4, clean, from both levels.
    let (c, bi) = run(&cfg, &[w(0x00), r(0x40), r(0x00)], false);
    assert_eq!(c, vec![[3, 0, 3, 2, 1, 48, 16], [4, 1, 3, 2, 1, 48, 16]]);
    assert_eq!(bi, vec![2, 0]);
}

#[test]
fn larger_lines_below_back_invalidate_every_piece() {
    // L2 lines are 32 bytes: evicting one drops both 16-byte L1 lines.
    let cfg = hier(vec![
        lvl("L1", 64, 0, 16, Policy::Lru, WB),
        lvl("L2", 64, 1, 32, Policy::Lru, WB),
    ]);
    // 0x00 and 0x10 share L2 line 0; 0x40 conflicts with it in L2.
    let (c, bi) = run(&cfg, &[w(0x00), r(0x10), r(0x40)], false);
    assert_eq!(bi, vec![2, 0]);
    // L1: 3 misses, 2 back-invalidations, one dirty (16 bytes out).
    assert_eq!(c[0], [3, 0, 3, 2, 1, 48, 16]);
    // L2: fills of lines 0 (miss), 0 (hit), 2 (miss) + the write-back hit.
    assert_eq!(c[1], [4, 2, 2, 1, 1, 64, 32]);
}

#[test]
fn straddling_accesses_touch_each_line() {
    let cfg = hier(vec![lvl("L1", 64, 1, 16, Policy::Lru, WB)]);
    let t = [
        Access::read(0x0c, 8), // lines 0 and 1
        Access::read(0x0e, 2), // line 0
        Access::read(0x3f, 2), // lines 3 and 4 (4 evicts 0)
        Access::read(0x20, 0), // size 0 counts as one byte: line 2
    ];
    assert_eq!(run(&cfg, &t, false).0, vec![[6, 1, 5, 1, 0, 80, 0]]);
}

#[test]
fn fetches_are_reads() {
    let cfg = hier(vec![lvl("L1", 64, 1, 16, Policy::Lru, WB)]);
    let f = |addr| Access {
        addr,
        size: 4,
        kind: AccessKind::Fetch,
    };
    assert_eq!(
        run(&cfg, &[f(0), f(4), f(0x40)], true).0,
        vec![[3, 1, 2, 1, 0, 32, 0]]
    );
}

#[test]
fn random_policy_is_seeded() {
    let cfg = |seed| hier(vec![lvl("L1", 256, 4, 16, Policy::Random { seed }, WB)]);
    let t = stream(&mut Rng(3), 20_000, 2048);
    let a = run(&cfg(1), &t, false).0;
    assert_eq!(a, run(&cfg(1), &t, false).0);
    assert_ne!(a, run(&cfg(2), &t, false).0);
}

#[test]
fn invalid_configs_are_rejected() {
    let bad = [
        (lvl("L1", 48 * 1024, 16, 64, Policy::Lru, WB), "ways"), // 48 sets
        (lvl("L1", 32, 0, 64, Policy::Lru, WB), "line"),
        (lvl("L1", 1000, 2, 64, Policy::Lru, WB), "size"),
        (lvl("L1", 1536, 3, 64, Policy::Plru, WB), "plru"),
        (lvl("L1", 1024, 2, 48, Policy::Lru, WB), "line"),
    ];
    for (l, key) in bad {
        let e = Hierarchy::new(&hier(vec![l.clone()])).err().unwrap();
        assert!(e.contains(key), "{l:?}: {e}");
        assert!(ReferenceHierarchy::new(&hier(vec![l])).is_err());
    }
    assert!(Hierarchy::new(&hier(vec![])).is_err());
    // Line sizes must not shrink going down.
    let e = Hierarchy::new(&hier(vec![
        lvl("L1", 1024, 2, 64, Policy::Lru, WB),
        lvl("L2", 4096, 2, 32, Policy::Lru, WB),
    ]))
    .err()
    .unwrap();
    assert!(e.contains("L2") && e.contains("line"), "{e}");
}

/// A read/write mix of sequential runs, strided walks and random addresses
/// inside `span` bytes, with sizes 1..=32 (so some straddle lines).
fn stream(rng: &mut Rng, n: usize, span: u64) -> Vec<Access> {
    let mut out = Vec::with_capacity(n);
    let mut addr = 0u64;
    while out.len() < n {
        let mode = rng.below(4);
        let len = 1 + rng.below(64) as usize;
        let stride = [4, 8, 64, 72][rng.below(4) as usize];
        if mode == 0 {
            addr = rng.below(span);
        }
        for _ in 0..len.min(n - out.len()) {
            let a = match mode {
                0 | 1 => {
                    addr = (addr + stride) % span;
                    addr
                }
                _ => rng.below(span),
            };
            let size = [1, 4, 8, 8, 16, 32][rng.below(6) as usize];
            let kind = if rng.below(10) < 3 {
                AccessKind::Write
            } else if rng.below(20) == 0 {
                AccessKind::Fetch
            } else {
                AccessKind::Read
            };
            out.push(Access {
                addr: a,
                size,
                kind,
            });
        }
    }
    out
}

/// A random valid hierarchy of 1 to 3 small levels.
fn random_config(rng: &mut Rng) -> HierarchyConfig {
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
            let write = if rng.below(4) == 0 { WT } else { WB };
            levels.push(lvl(&format!("L{i}"), size, ways, line, policy, write));
            size *= 2 << rng.below(2);
            line *= 1 << rng.below(2);
        }
        let cfg = hier(levels);
        if cfg.validate().is_ok() {
            return cfg;
        }
    }
}

#[test]
fn fast_matches_reference_on_random_hierarchies() {
    let mut rng = Rng(0x5eed_cafe);
    let mut total = 0;
    for _ in 0..40 {
        let cfg = random_config(&mut rng);
        let span = cfg.levels.last().unwrap().size * [1, 2, 4][rng.below(3) as usize];
        let t = stream(&mut rng, 50_000, span);
        total += t.len();
        let (c, _) = run(&cfg, &t, true);
        // Structural invariants of the counting rules.
        for (i, s) in c.iter().enumerate() {
            let line = cfg.levels[i].line as u64;
            assert_eq!(s[0], s[1] + s[2], "accesses = hits + misses");
            assert_eq!(s[5] % line, 0);
            if cfg.levels[i].write == WB {
                assert_eq!(
                    s[5],
                    s[2] * line,
                    "write-back levels allocate on every miss"
                );
                if let Some(next) = c.get(i + 1) {
                    assert_eq!(
                        next[0],
                        s[2] + s[4],
                        "fills + write-backs reach the next level"
                    );
                }
            } else {
                assert!(s[5] <= s[2] * line);
                assert_eq!(s[4], 0, "write-through lines are never dirty");
            }
        }
    }
    assert_eq!(total, 2_000_000);
}

#[test]
fn fast_matches_reference_per_policy() {
    // Each policy, set-associative and fully associative, 1 to 3 levels,
    // write-back, on a 30 % write stream.
    let policies = [
        Policy::Lru,
        Policy::Fifo,
        Policy::Random { seed: 11 },
        Policy::Plru,
    ];
    let mut rng = Rng(77);
    for p in policies {
        for ways in [0, 4] {
            let levels = [
                lvl("L1", 512, ways, 16, p, WB),
                lvl("L2", 2048, 8, 16, p, WB),
                lvl("L3", 8192, ways, 64, p, WB),
            ];
            for n in 1..=3 {
                let cfg = hier(levels[..n].to_vec());
                let t = stream(&mut rng, 100_000, 16384);
                let (c, _) = run(&cfg, &t, n == 3);
                // What reaches level i+1 is level i's fills and write-backs.
                for i in 1..n {
                    assert_eq!(c[i][0], c[i - 1][2] + c[i - 1][4]);
                }
            }
        }
    }
}

#[test]
fn opt_textbook_example() {
    // Silberschatz et al., Operating System Concepts, 3 frames, reference
    // string 7 0 1 2 0 3 0 4 2 3 0 3 2 1 2 0 1 7 0 1: OPT 9 faults, LRU 12, FIFO 15.
    let pages = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1];
    let t: Vec<Access> = pages.iter().map(|&p| r(p * 16)).collect();
    let level = |p| lvl("M", 48, 0, 16, p, WB);
    assert_eq!(belady(&level(Policy::Lru), &t, false).unwrap().misses, 9);
    assert_eq!(run(&hier(vec![level(Policy::Lru)]), &t, false).0[0][2], 12);
    assert_eq!(run(&hier(vec![level(Policy::Fifo)]), &t, false).0[0][2], 15);
}

/// Fewest misses of a fully associative cache of `cap` lines on `lines`,
/// by trying every victim at every miss.
fn brute_force_min(lines: &[u64], cap: usize) -> u64 {
    fn go(rest: &[u64], cache: &mut Vec<u64>, cap: usize) -> u64 {
        let Some((&x, rest)) = rest.split_first() else {
            return 0;
        };
        if cache.contains(&x) {
            return go(rest, cache, cap);
        }
        if cache.len() < cap {
            cache.push(x);
            let m = 1 + go(rest, cache, cap);
            cache.pop();
            return m;
        }
        let mut best = u64::MAX;
        for i in 0..cache.len() {
            let old = std::mem::replace(&mut cache[i], x);
            best = best.min(1 + go(rest, cache, cap));
            cache[i] = old;
        }
        best
    }
    go(lines, &mut Vec::new(), cap)
}

#[test]
fn opt_equals_brute_force_on_tiny_traces() {
    let mut rng = Rng(5);
    for _ in 0..300 {
        let cap = 1 + rng.below(3) as usize;
        let len = 1 + rng.below(12) as usize;
        let distinct = 2 + rng.below(4);
        let lines: Vec<u64> = (0..len).map(|_| rng.below(distinct)).collect();
        let t: Vec<Access> = lines.iter().map(|&l| r(l * 16)).collect();
        let level = lvl("M", 16 * cap as u64, 0, 16, Policy::Lru, WB);
        let opt = belady(&level, &t, false).unwrap();
        assert_eq!(
            opt.misses,
            brute_force_min(&lines, cap),
            "{lines:?} cap {cap}"
        );
        assert_eq!(opt.accesses, len as u64);
    }
}

#[test]
fn opt_never_loses_to_a_policy() {
    let mut rng = Rng(99);
    for ways in [0, 1, 2, 4, 8] {
        for _ in 0..3 {
            let t = stream(&mut rng, 30_000, 8192);
            let opt = belady(&lvl("M", 1024, ways, 32, Policy::Lru, WB), &t, true).unwrap();
            assert_eq!(opt.accesses, opt.hits + opt.misses);
            for p in [
                Policy::Lru,
                Policy::Fifo,
                Policy::Random { seed: 4 },
                Policy::Plru,
            ] {
                let cfg = hier(vec![lvl("M", 1024, ways, 32, p, WB)]);
                let (c, _) = run(&cfg, &t, true);
                assert_eq!(c[0][0], opt.accesses);
                assert!(
                    opt.misses <= c[0][2],
                    "OPT {} > {p:?} {}",
                    opt.misses,
                    c[0][2]
                );
            }
        }
    }
}

#[test]
fn evicting_the_last_line_of_the_address_space_back_invalidates_it() {
    // L2 (direct-mapped, 32-byte lines) evicts the line at the top of the
    // address space; its two 16-byte pieces above must be dropped without
    // the end address overflowing.
    let cfg = hier(vec![
        lvl("L1", 64, 0, 16, Policy::Lru, WB),
        lvl("L2", 64, 1, 32, Policy::Lru, WB),
    ]);
    let top = u64::MAX - 15;
    let (c, bi) = run(&cfg, &[w(top), r(top - 16), r(0x20)], false);
    // 0x20 maps to the same L2 set as the top line: both L1 pieces go.
    assert_eq!(bi, vec![2, 0]);
    assert_eq!(c[0][3], 2, "{c:?}");
}

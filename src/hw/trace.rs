//! Memory accesses as the cache simulator consumes them, and the sink trait
//! that address generators and trace readers emit into.

/// What an access does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessKind {
    /// A data read (Dinero label 0).
    Read,
    /// A data write (Dinero label 1).
    Write,
    /// An instruction fetch (Dinero label 2); simulated as a read.
    Fetch,
}

/// One memory access: `size` bytes at byte address `addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Access {
    /// Byte address.
    pub addr: u64,
    /// Bytes accessed (≥ 1); an access that straddles lines touches each of them.
    pub size: u32,
    /// Read, write or fetch.
    pub kind: AccessKind,
}

impl Access {
    /// A read of `size` bytes at `addr`.
    pub fn read(addr: u64, size: u32) -> Self {
        Access {
            addr,
            size,
            kind: AccessKind::Read,
        }
    }

    /// A write of `size` bytes at `addr`.
    pub fn write(addr: u64, size: u32) -> Self {
        Access {
            addr,
            size,
            kind: AccessKind::Write,
        }
    }
}

/// Consumes a stream of accesses (a cache hierarchy, a counter, a trace writer).
pub trait AccessSink {
    /// Takes one access.
    fn access(&mut self, a: Access);

    /// Takes accesses in order; the same as one [`AccessSink::access`] per
    /// access (a sink may override it to look ahead, e.g. to prefetch).
    fn access_batch(&mut self, batch: &[Access]) {
        for &a in batch {
            self.access(a);
        }
    }
}

/// Counts accesses and bytes by kind (the trivial sink, for tests and totals).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CountingSink {
    /// Reads and fetches.
    pub reads: u64,
    /// Writes.
    pub writes: u64,
    /// Bytes read or fetched.
    pub read_bytes: u64,
    /// Bytes written.
    pub write_bytes: u64,
}

impl AccessSink for CountingSink {
    fn access(&mut self, a: Access) {
        match a.kind {
            AccessKind::Write => {
                self.writes += 1;
                self.write_bytes += a.size as u64;
            }
            AccessKind::Read | AccessKind::Fetch => {
                self.reads += 1;
                self.read_bytes += a.size as u64;
            }
        }
    }
}

/// Collects the accesses (a materialized trace, e.g. for Belady's OPT).
impl AccessSink for Vec<Access> {
    fn access(&mut self, a: Access) {
        self.push(a);
    }
}

/// A mutable reference to a sink is a sink.
impl<S: AccessSink + ?Sized> AccessSink for &mut S {
    fn access(&mut self, a: Access) {
        (**self).access(a);
    }

    fn access_batch(&mut self, batch: &[Access]) {
        (**self).access_batch(batch);
    }
}

/// Sends every access to two sinks, `.0` first (e.g. a simulator and a
/// trace writer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tee<A, B>(pub A, pub B);

impl<A: AccessSink, B: AccessSink> AccessSink for Tee<A, B> {
    fn access(&mut self, a: Access) {
        self.0.access(a);
        self.1.access(a);
    }
}

//! The IDX reader's memory on a gzip file whose header lies: what it allocates is in proportion
//! to the compressed input, never to the size the header claims. A global allocator records the
//! largest single allocation, so this file holds this one test only.
//!
//! (Found by the fuzz target: with libFuzzer's `-malloc_limit_mb=64`, a 100 kB gzip input whose
//! header claimed 4 GiB made the reader reserve 103 MB, 1032 bytes per compressed byte.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferronet::Error;
use ferronet::data::idx::parse_idx;

/// The system allocator, recording the size of the largest allocation or reallocation.
struct RecordsLargest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for RecordsLargest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from the system allocator with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: `ptr` came from the system allocator with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: RecordsLargest = RecordsLargest;

#[test]
fn a_gzip_header_claiming_4_gib_allocates_in_proportion_to_the_input() {
    // 4 images of 32768x32768 (4 GiB) claimed, 100 kB given, stored uncompressed (level 0), so
    // the gzip stream is about 100 kB too.
    let mut content = vec![0, 0, 0x08, 0x03];
    for dim in [4u32, 32768, 32768] {
        content.extend_from_slice(&dim.to_be_bytes());
    }
    content.extend(std::iter::repeat_n(7u8, 100_000));
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    encoder.write_all(&content).unwrap();
    let compressed = encoder.finish().unwrap();

    LARGEST.store(0, Ordering::Relaxed);
    let error = parse_idx(&compressed, Path::new("liar.gz")).unwrap_err();
    let largest = LARGEST.load(Ordering::Relaxed);

    let Error::Idx { reason, .. } = &error else { panic!("expected Error::Idx, found {error:?}") };
    assert!(reason.starts_with("truncated: the header says dimensions [4, 32768, 32768]"), "{reason}");
    // At most 5 bytes reserved per compressed byte (about 500 kB), nothing near 4 GiB.
    assert!(
        largest <= 5 * compressed.len(),
        "largest allocation {largest} bytes for {} bytes",
        compressed.len()
    );
}

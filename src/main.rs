//! The `flowc` binary: parses arguments, runs the command, exits with its code.

// Compiling a large workflow makes millions of small allocations; mimalloc serves them
// markedly faster than the system allocator (see benches/check.sh). Its `no_thp` feature
// keeps transparent huge pages off, which otherwise cost a small run a millisecond of
// page zeroing. Build with `--no-default-features` for the system allocator, which heap
// profilers such as valgrind's massif can see into.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: Allocator = Allocator;

/// Allocations of at least this many bytes go to the system allocator.
#[cfg(feature = "mimalloc")]
const LARGE: usize = 1 << 20;

/// mimalloc for everything but a few very large blocks, which the system allocator maps
/// and unmaps on its own (and grows in place with `mremap`). The parser's token queue of a
/// large file is one vector grown by doubling: mimalloc keeps each block it outgrew
/// resident until its purge delay passes, which was a quarter of the peak memory of
/// checking 100,000 steps; a purge delay of zero costs every small free instead.
#[cfg(feature = "mimalloc")]
struct Allocator;

// SAFETY: every block is freed and grown by the allocator that made it, which the size
// in its layout decides the same way each time; a block that changes sides is copied.
#[cfg(feature = "mimalloc")]
#[allow(unsafe_code)]
unsafe impl std::alloc::GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if layout.size() >= LARGE {
            std::alloc::System.alloc(layout)
        } else {
            mimalloc::MiMalloc.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if layout.size() >= LARGE {
            std::alloc::System.alloc_zeroed(layout)
        } else {
            mimalloc::MiMalloc.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        if layout.size() >= LARGE {
            std::alloc::System.dealloc(ptr, layout)
        } else {
            mimalloc::MiMalloc.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        match (layout.size() >= LARGE, new_size >= LARGE) {
            (true, true) => std::alloc::System.realloc(ptr, layout, new_size),
            (false, false) => mimalloc::MiMalloc.realloc(ptr, layout, new_size),
            _ => {
                // SAFETY: the caller guarantees `new_size`, rounded up to the alignment,
                // does not overflow `isize`.
                let new_layout =
                    std::alloc::Layout::from_size_align_unchecked(new_size, layout.align());
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                new
            }
        }
    }
}

fn main() {
    let code = flowc::cli::run(std::env::args_os());
    // Everything the command made is dropped by now, and stderr is unbuffered: with
    // stdout flushed, nothing is left for the C library's exit handlers but mimalloc's,
    // which frees and returns to the system every page of a heap the kernel is about to
    // take back anyway (1.5% of checking 10,000 steps). A failed flush (a closed pipe)
    // loses nothing a normal exit would have written.
    let _ = std::io::Write::flush(&mut std::io::stdout());
    #[allow(unsafe_code)]
    // SAFETY: `_exit` ends the process at once; no Rust code runs after it.
    unsafe {
        libc::_exit(i32::from(code))
    }
}

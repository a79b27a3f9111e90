//! `println!` and `print!` for output that may go into a pipe the reader closes early
//! (`mnist --report | head -3`): a closed pipe ends the program quietly, as Unix tools do,
//! instead of panicking as `println!` does.

/// `println!`, ending the program quietly when standard output is a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::common::out::write_or_exit(|out| std::io::Write::write_fmt(out, format_args!("{}\n", format_args!($($arg)*))))
    };
}

/// `print!`, ending the program quietly when standard output is a closed pipe.
#[allow(unused_macros)]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::common::out::write_or_exit(|out| std::io::Write::write_fmt(out, format_args!($($arg)*)))
    };
}

#[allow(unused_imports)]
pub(crate) use {out, outln};

/// Runs `write` on standard output; a closed pipe exits with success, any other failure panics
/// as `println!` would.
pub fn write_or_exit(write: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>) {
    if let Err(error) = write(&mut std::io::stdout().lock()) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        panic!("failed printing to stdout: {error}");
    }
}

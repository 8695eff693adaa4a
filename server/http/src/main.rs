//! The `huifang` command: serve, migrate, import, admin and demo over one database.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}

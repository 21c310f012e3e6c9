//! supersetctl: control a running supersetd from scripts and the shell.

fn main() -> std::process::ExitCode {
    superset_console::cli::main()
}
